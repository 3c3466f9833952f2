"""The /orders screen in Chromium: cold load to first rows, and click → new rows.

Every time is measured inside the page with performance.now():
Every browser context carries the benchmark user's session cookie (signed in, as a user who
has signed in before; the sign-in itself is not measured).
- cold load: a new browser context (empty cache, new session) opens /orders; the time is
  performance.now() (milliseconds since navigation start) when the table first shows rows
  with data-loading="false".
- clicks: a capture-phase `pointerup` listener stamps the click; a MutationObserver resolves
  when the table shows the new rows: data-loading is "false", its data-view (the query
  string the rows were loaded for) is the address's, and the view or the rows' text changed
  or the table went through data-loading="true" since the click (a filter can leave the
  rows the same: the view tells they are the new view's). "open" waits for the order page's
  heading to name the clicked order; "back" (history.back()) waits for the list to have
  reloaded.
"""

from __future__ import annotations

import os
import re

from bench.common import SESSION_COOKIE, log, summary_ms

CHROMIUM = os.environ.get("NORTHWIND_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 30_000

# Installed in every page (context init script): the click stamp and the waiters.
INIT_JS = r"""
(() => {
  const B = window.__bench = {t0: null, armed: false};
  const table = () => document.querySelector('[data-testid="list-table"]');
  const rowsText = () => Array.from(document.querySelectorAll('[data-testid="list-row"]'))
      .map(r => r.textContent).join('\n');
  window.addEventListener('pointerup', () => {
    if (B.armed && B.t0 === null) B.t0 = performance.now();
  }, true);
  B.arm = (kind, arg) => {
    B.kind = kind; B.arg = arg; B.t0 = null; B.armed = true; B.sawLoading = false;
    B.before = rowsText();
    B.viewBefore = table() && table().getAttribute('data-view');
    B.done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        observer.disconnect(); clearInterval(poll); B.armed = false;
        const t = table();
        reject(new Error(`no new rows after ${B.kind} click within 30 s (clicked: ${B.t0 !== null}, ` +
          `loading: ${t && t.getAttribute('data-loading')}, url: ${location.href})`));
      }, 30000);
      const check = () => {
        const t = table();
        if (t && t.getAttribute('data-loading') === 'true') B.sawLoading = true;
        let ok = false;
        if (B.kind === 'open') {
          const h = document.querySelector('[data-testid="order-heading"]');
          ok = !!h && location.pathname === '/orders/' + B.arg &&
               h.textContent.includes(B.arg);
        } else if (t && t.getAttribute('data-loading') === 'false' &&
                   location.pathname === '/orders') {
          const rows = document.querySelectorAll('[data-testid="list-row"]').length;
          const view = t.getAttribute('data-view');
          ok = rows > 0 && view === location.search.replace(/^\?/, '') &&
               (B.sawLoading || (B.kind !== 'back' &&
                                 (view !== B.viewBefore || rowsText() !== B.before)));
        }
        if (ok && B.t0 !== null) {
          const t1 = performance.now();
          observer.disconnect(); clearInterval(poll); clearTimeout(timer);
          B.armed = false;
          resolve(t1 - B.t0);
        }
      };
      const observer = new MutationObserver(check);
      observer.observe(document, {subtree: true, childList: true, attributes: true,
                                  characterData: true});
      const poll = setInterval(check, 50);  // safety net only; mutations resolve first
    });
    return true;
  };
  B.back = () => { B.t0 = performance.now(); history.back(); };
  B.firstRows = () => new Promise((resolve) => {
    const check = () => {
      const t = table();
      if (t && t.getAttribute('data-loading') === 'false' &&
          document.querySelector('[data-testid="list-row"]')) {
        observer.disconnect(); resolve(performance.now());
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document, {subtree: true, childList: true, attributes: true});
    check();
  });
})();
"""

SORT_KEYS = ["total", "order_id", "customer", "order_date", "ship_country", "employee",
             "required_date", "status", "shipped_date", "shipper"]
# Only statuses every dataset has (classic has no "new" orders), alternating with "All".
STATUS_CYCLE = ["Shipped", "All"]


def _context(browser, base: str, session_token: str):
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(INIT_JS)
    context.add_cookies([{"name": SESSION_COOKIE, "value": session_token, "url": base,
                          "sameSite": "Strict"}])
    return context


def _wait(page) -> float:
    return float(page.evaluate("() => window.__bench.done"))


def _timed_click(page, kind: str, locator, arg: str = "") -> float:
    page.evaluate("([k, a]) => window.__bench.arm(k, a)", [kind, arg])
    locator.click()
    return _wait(page)


def cold_loads(browser, base: str, session_token: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        context = _context(browser, base, session_token)
        try:
            page = context.new_page()
            page.goto("/orders", wait_until="commit")
            times.append(float(page.evaluate("() => window.__bench.firstRows()")))
        finally:
            context.close()
    return times


def clicks(browser, base: str, session_token: str, count: int) -> dict[str, list[float]]:
    """`count` timed clicks cycling: next page, sort, filter, open an order, back."""
    context = _context(browser, base, session_token)
    times: dict[str, list[float]] = {"next_page": [], "sort": [], "filter": [], "open": [],
                                     "back": []}
    try:
        page = context.new_page()
        page.goto("/orders")
        page.evaluate("() => window.__bench.firstRows()")
        done = 0
        step = 0
        while done < count:
            action = ("next_page", "sort", "filter", "open", "back")[step % 5]
            if action == "next_page":
                nxt = page.get_by_label("Next page")
                target = nxt if nxt.is_enabled() else page.get_by_label("First page")
                if not target.is_enabled():
                    step += 1
                    continue
                times[action].append(_timed_click(page, "list", target))
            elif action == "sort":
                key = SORT_KEYS[(step // 5) % len(SORT_KEYS)]
                times[action].append(_timed_click(page, "list", page.get_by_test_id(f"sort-{key}")))
            elif action == "filter":
                label = STATUS_CYCLE[(step // 5) % len(STATUS_CYCLE)]
                page.get_by_test_id("filter-status").click()  # open the select (not timed)
                option = page.get_by_role("option", name=label, exact=True)
                times[action].append(_timed_click(page, "list", option))
            elif action == "open":
                link = page.get_by_test_id("list-row").first.get_by_role("link").first
                order_id = link.text_content().strip()
                if not re.fullmatch(r"\d+", order_id):
                    raise RuntimeError(f"first row's link is not an order id: {order_id!r}")
                times[action].append(_timed_click(page, "open", link, order_id))
            else:  # back to the list (browser back button)
                page.evaluate("() => window.__bench.arm('back', '')")
                page.evaluate("() => window.__bench.back()")
                times[action].append(_wait(page))
            done += 1
            step += 1
    finally:
        context.close()
    return times


def run(base: str, *, clicks_count: int, session_token: str, cold_count: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # One throwaway load so the first measured cold load is not also the server's
            # first page ever (imports, pools); every measured load still has an empty cache.
            cold_loads(browser, base, session_token, 1)
            cold = cold_loads(browser, base, session_token, cold_count)
            log(f"ui: cold load → first rows: {', '.join(f'{t:.0f}' for t in cold)} ms")
            by_kind = clicks(browser, base, session_token, clicks_count)
        finally:
            browser.close()
    every = [t for values in by_kind.values() for t in values]
    result = {
        "cold_load_ms": summary_ms(cold) | {"values": [round(t, 1) for t in cold]},
        "clicks": summary_ms(every),
        "clicks_by_kind": {kind: summary_ms(values) for kind, values in by_kind.items()},
    }
    c = result["clicks"]
    log(f"ui: {c['n']} clicks → new rows: p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms")
    return result
