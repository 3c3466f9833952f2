"""The pickers' keyboard rules (ui/picker.py `key_action`): the WAI-ARIA combobox keys."""

from __future__ import annotations

import pytest

from northwind_app.ui.picker import KEYS, MAX_TEXT, key_action, valid_key_payload


def test_arrows_walk_the_open_list_and_stop_at_its_ends():
    assert key_action("ArrowDown", -1, 3) == ("move", 0)
    assert key_action("ArrowDown", 0, 3) == ("move", 1)
    assert key_action("ArrowDown", 2, 3) == ("move", 2)
    assert key_action("ArrowUp", 2, 3) == ("move", 1)
    assert key_action("ArrowUp", 0, 3) == ("move", 0)
    assert key_action("ArrowUp", -1, 3) == ("move", 2)  # from the input: the last option


def test_home_and_end_go_to_the_first_and_last_option():
    assert key_action("Home", 2, 5) == ("move", 0)
    assert key_action("End", 0, 5) == ("move", 4)


def test_enter_picks_the_active_option_or_leaves_enter_to_the_form():
    assert key_action("Enter", 1, 3) == ("pick", 1)
    assert key_action("Enter", -1, 3) == ("submit", -1)
    assert key_action("Enter", 5, 3) == ("submit", -1)  # stale index: never out of range
    assert key_action("Enter", -1, 0) == ("submit", -1)


def test_escape_closes_then_clears():
    assert key_action("Escape", 1, 3) == ("close", -1)
    assert key_action("Escape", -1, 0) == ("clear", -1)


def test_a_closed_list_opens_again_with_arrow_down():
    assert key_action("ArrowDown", -1, 0) == ("search", 0)
    assert key_action("ArrowUp", -1, 0) == ("none", -1)
    assert key_action("Home", -1, 0) == ("none", -1)


@pytest.mark.parametrize("key", ["a", "Tab", "", "ArrowLeft", "enter", "Delete"])
def test_other_keys_do_nothing(key):
    assert key not in KEYS
    assert key_action(key, 1, 3) == ("none", 1)


@pytest.mark.parametrize("key, text, ok", [
    ("Enter", "Verd", True), ("Enter", "", True), ("Enter", "x" * MAX_TEXT, True),
    ("Enter", "x" * (MAX_TEXT + 1), False), (None, "Verd", False), ("Enter", None, False),
    ("a", "Verd", False),  # a letter: the debounced search handles the text
    (["Enter"], "Verd", False), ("Enter", {"a": 1}, False), (13, "Verd", False),
])
def test_key_payloads_from_a_socket_are_checked(key, text, ok):
    assert valid_key_payload(key, text) is ok
