"""A searchable picker: a combobox (the WAI-ARIA editable combobox with a list popup) whose
options are searched on the server as the user types.

The owning state keeps, per picker, the query, the matches (list of {"value", "label",
"detail"} dicts, fetched from a service) and the index of the active (highlighted) option,
-1 for none; it handles the query, the pick, and the picker's keys through `key_action`,
which holds the keyboard rules:

- ArrowDown / ArrowUp move through the options (ArrowDown opens a closed list again),
  Home / End go to the first / last option while the list is open;
- Enter picks the active option; in an empty picker inside a form it submits the form as
  in any field (unless the picker is made with `enter_picks`: the order form's line picker);
- Escape closes the list; a second Escape clears the text.

The input is `role="combobox"` with `aria-expanded`, `aria-controls` and
`aria-activedescendant` (focus stays in the input while the options are walked); the list
is `role="listbox"` of `role="option"` items with `aria-selected`. The mouse still picks by
clicking an option.

The browser sends each key pressed in the picker with the input's current text (which may
be ahead of the debounced query); the state acts on the six keys above only, and for those
searches that text first if the debounced search has not caught up, so "Verd", ArrowDown,
Enter picks the first match for "Verd" however fast it is typed. (Other keys are events that
do nothing: a Reflex event chain cannot be conditional in the browser.) The browser itself
only keeps the keys the picker uses from doing their default thing (moving the cursor,
submitting the form).
"""

from __future__ import annotations

from typing import Literal

import reflex as rx
from reflex.vars import ObjectVar, Var
from reflex_base.event import JavascriptKeyboardEvent

# The keys a picker acts on; the state ignores any other.
KEYS = frozenset({"ArrowDown", "ArrowUp", "Home", "End", "Enter", "Escape"})
MAX_TEXT = 200  # longest text a picker searches (as the lists' search)

Action = Literal["none", "move", "pick", "close", "clear", "search", "submit"]


def key_action(key: str, active: int, count: int) -> tuple[Action, int]:
    """What the key `key` does in a picker whose list shows `count` options (0: closed) with
    option `active` highlighted (-1: none): (action, the active option afterwards).

    "search": the list is closed; search the text again and open it, on its first option.
    "pick": pick option `index`; "submit": Enter with no option active (the form's Enter);
    "close": close the list; "clear": clear the text (Escape with the list closed)."""
    if key not in KEYS:
        return "none", active
    if count == 0:
        return {"ArrowDown": ("search", 0), "Escape": ("clear", -1),
                "Enter": ("submit", -1)}.get(key, ("none", -1))
    last = count - 1
    if key == "ArrowDown":
        return "move", min(active + 1, last)
    if key == "ArrowUp":
        return "move", last if active < 0 else max(active - 1, 0)
    if key == "Home":
        return "move", 0
    if key == "End":
        return "move", last
    if key == "Enter":
        return ("pick", active) if 0 <= active <= last else ("submit", -1)
    return "close", -1  # Escape


def valid_key_payload(key: object, text: object) -> bool:
    """A key event's payload the picker acts on: one of its keys and a text as a browser
    sends it (anything else, every other key included, is ignored)."""
    return (isinstance(key, str) and key in KEYS and isinstance(text, str)
            and len(text) <= MAX_TEXT)


def _keys_and_text(e: ObjectVar[JavascriptKeyboardEvent]) -> tuple[Var[str], Var[str]]:
    """A picker's key event: the key and the input's text. On the way, the browser keeps the
    picker's keys from their default: arrows always (they would move the cursor), Home, End,
    Enter and Escape while the list is open, and Enter while the picker holds text (its
    options may not have arrived yet) or always in a picker whose Enter only picks
    (data-enter="pick"); otherwise Enter submits the form."""
    key = Var(
        f"(((['ArrowDown', 'ArrowUp'].includes({e}.key)"
        f" || ({e}.target.getAttribute('aria-expanded') === 'true'"
        f" && ['Home', 'End', 'Enter', 'Escape'].includes({e}.key))"
        f" || ({e}.key === 'Enter' && ({e}.target.dataset.enter === 'pick'"
        f" || {e}.target.value !== '')))"
        f" && {e}.preventDefault()), {e}.key)",
        _var_type=str)
    return key, Var(f"{e}.target.value", _var_type=str)


def scroll_to_option(testid: str, index: int) -> rx.event.EventSpec:
    """Keep the active option in view inside the list's scroll box."""
    return rx.call_script(
        f"document.getElementById('{testid}-option-{int(index)}')"
        "?.scrollIntoView({block: 'nearest'})")


def search_picker(
    *,
    query: rx.Var,
    on_query,
    results: rx.Var,
    active: rx.Var,
    on_pick,
    on_key,
    placeholder: str,
    testid: str,
    label: str,
    selected_label: rx.Var | None = None,
    error: rx.Var | None = None,
    enter_picks: bool = False,
    width: str = "24em",
) -> rx.Component:
    """The picker. `on_key(key, text)` is the state's key handler (it calls `key_action`);
    `label` names the input and its list."""
    selected = rx.fragment()
    if selected_label is not None:
        selected = rx.cond(selected_label != "", rx.text(
            selected_label, size="2", weight="medium", data_testid=f"{testid}-selected"))
    has_error = (error != "") if error is not None else False
    listbox_id = f"{testid}-listbox"
    expanded = results.length() > 0
    return rx.vstack(
        selected,
        rx.debounce_input(
            rx.input(
                rx.input.slot(rx.icon("search", size=14, aria_hidden="true")),
                placeholder=placeholder,
                value=query,
                on_change=on_query,
                on_key_down=rx.EventChain.create(on_key, args_spec=_keys_and_text),
                width="100%",
                data_testid=f"{testid}-search",
                aria_label=label,
                role="combobox",
                aria_autocomplete="list",
                aria_expanded=rx.cond(expanded, "true", "false"),
                aria_controls=listbox_id,
                aria_activedescendant=rx.cond(
                    expanded & (active >= 0), f"{testid}-option-" + active.to_string(), ""),
                auto_complete="off",
                data_enter="pick" if enter_picks else "submit",
                color_scheme=rx.cond(has_error, "red", "gray"),
            ),
            debounce_timeout=250,
        ),
        rx.cond(
            expanded,
            rx.card(
                rx.el.div(
                    rx.foreach(results, lambda item, index: rx.el.div(
                        rx.text(item["label"], size="2", weight="medium"),
                        rx.text(item["detail"], size="1", color=rx.color("gray", 11)),
                        id=f"{testid}-option-" + index.to_string(),
                        role="option",
                        aria_selected=rx.cond(index == active, "true", "false"),
                        on_click=on_pick(item["value"]),
                        # The mouse must not take the focus from the input.
                        on_mouse_down=rx.prevent_default,
                        cursor="pointer",
                        padding_x="0.5em",
                        padding_y="0.25em",
                        border_radius="var(--radius-2)",
                        background=rx.cond(index == active, rx.color("accent", 5),
                                           "transparent"),
                        _hover={"background": rx.color("accent", 4)},
                        width="100%",
                        data_testid=f"{testid}-option",
                    )),
                    id=listbox_id,
                    role="listbox",
                    aria_label=label,
                    max_height="16em",
                    overflow_y="auto",
                    display="flex",
                    flex_direction="column",
                ),
                width="100%",
                position="absolute",
                top="100%",
                z_index="20",
                size="1",
            ),
        ),
        rx.cond(has_error, rx.text(error, color_scheme="red", size="1", data_testid=f"{testid}-error")),
        spacing="1",
        position="relative",
        width=width,
        max_width="100%",  # never wider than the screen (a phone's)
    )
