"""Automated accessibility check: axe-core (the `axe-playwright-python` package, which ships
axe-core itself) over every screen, signed in as each demo role and signed out, in light and
dark mode, must find no serious or critical violation.

One browser context per role and colour scheme (the scheme is the browser's preference, which
the app follows: `color_scheme` emulation; motion reduced so no fade is caught halfway); each
screen is opened, its data awaited, and axe run on the whole document, toasts included (a
screen a role may not use says so in a toast and a callout). The report names each
violation's rule, page, element and why.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import TIMEOUT_MS, session_cookie
from tests.browser.screens import SCREENS as ALL_SCREENS

SEVERE = {"serious", "critical"}

# Every screen (tests/browser/screens.py) and an unknown address. Screens a role may not use
# show their refusal inside the shell, which is checked too.
SCREENS = [*ALL_SCREENS, ("/no-such-page", None)]
SIGNED_OUT = [("/login", "login-submit"), ("/no-such-page", None)]

_axe = Axe()


def _settle(page: Page, testid: str | None) -> None:
    """Wait until the screen shows its data: its marker, no spinner, no dimmed table."""
    if testid is not None:
        page.get_by_test_id(testid).first.wait_for(state="visible", timeout=TIMEOUT_MS * 2)
    page.wait_for_function(
        """() => !document.querySelector('.rt-Spinner, [data-loading="true"]')""",
        timeout=TIMEOUT_MS * 2)
    page.wait_for_timeout(300)  # transitions (the table's fade) end


def severe_violations(page: Page) -> list[str]:
    """axe's serious and critical violations on the page, one line per rule and element."""
    results = _axe.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in SEVERE:
            continue
        for node in violation["nodes"]:
            why = " ".join(node.get("failureSummary", "").split())
            found.append(f"{page.url}: {violation['id']} ({violation['impact']}) at "
                         f"{node['target']}: {node['html'][:160]} :: {why}")
    return found


def _check_screens(page: Page, screens, scheme: str) -> list[str]:
    found: list[str] = []
    for path, testid in screens:
        page.goto(path)
        _settle(page, testid)
        dark = page.evaluate("() => document.documentElement.classList.contains('dark')")
        assert dark == (scheme == "dark"), f"{path} is not in {scheme} mode"
        found += severe_violations(page)
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("role", ["admin", "sales", "viewer", None])
def test_no_serious_accessibility_violations(browser, app_url, app_db_url, role, scheme):
    context = browser.new_context(base_url=app_url, viewport={"width": 1366, "height": 900},
                                  color_scheme=scheme,
                                  # No fades: axe must see colours at full strength, not a
                                  # toast or table halfway through its transition.
                                  reduced_motion="reduce")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        if role:
            context.add_cookies([session_cookie(app_db_url, app_url, role)])
        page = context.new_page()
        found = _check_screens(page, SCREENS if role else SIGNED_OUT, scheme)
    finally:
        context.close()
    if found:
        pytest.fail(f"{len(found)} serious or critical violations:\n" + "\n".join(found))
