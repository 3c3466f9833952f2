"""Keyboard shortcuts of the signed-in shell, and the dialog listing them (`?`).

One keydown listener on the window (a React effect of `shortcuts()`, which the shell mounts
once per page) handles, in the browser:

- `/` focuses the page's search box (the element marked `data-shortcut="search"`);
- `n` follows the page's "New …" link (marked `data-shortcut="new"`; a list shows it only to
  the roles that may create);
- `g` then `o` / `c` / `p` / `d` goes to orders / customers / products / the dashboard
  (within GO_WINDOW_MS);
- `?` opens the list of shortcuts;
- Ctrl-K or Cmd-K opens (or closes) the command palette (ui/palette.py), also while typing;
- in the palette's box: ArrowUp/ArrowDown, Home/End move through the results, Enter opens
  the active one (Escape is the dialog's own).

None of the others fires while the focus is in an input, textarea, select or contenteditable
element, while a modifier key is held, or while a dialog or menu is open. Navigation is
React Router's (Reflex's client-side redirect), so a shortcut costs no page load; opening a
dialog is one server event.
"""

from __future__ import annotations

import json

import reflex as rx
from reflex.event import EventChain, EventSpec
from reflex.vars.base import LiteralVar

from northwind_app.ui.palette import INPUT_ID, PaletteState, palette_button, palette_dialog

GO_WINDOW_MS = 1500
GO_TARGETS = {"o": "/orders", "c": "/customers", "p": "/products", "d": "/"}

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("/", "Focus the page's search box"),
    ("n", "New record on a list (order, customer, product, user), where your role may create"),
    ("g o", "Go to orders"),
    ("g c", "Go to customers"),
    ("g p", "Go to products"),
    ("g d", "Go to the dashboard"),
    ("Ctrl K / ⌘ K", "Command palette: jump to an order, customer, product or page"),
    ("↑ ↓ Enter", "In the palette: move through the results, open one"),
    ("Esc", "Close a dialog"),
    ("?", "This list"),
)


class ShortcutsState(rx.State):
    help_open: bool = False

    @rx.event
    def set_help_open(self, value: bool):
        self.help_open = value is True


def _call(*events: EventSpec) -> str:
    """A JavaScript function (no arguments) that sends `events` (Reflex's own event queue:
    a redirect is handled in the browser, a state's event goes to the server)."""
    return str(LiteralVar.create(EventChain.create(list(events), args_spec=lambda: [])))


def _listener() -> str:
    """The window's keydown listener, as a React effect (the hook's code; its imports are
    KeyListener's)."""
    go = {key: _call(rx.redirect(route)) for key, route in GO_TARGETS.items()}
    calls = {"palette": _call(PaletteState.toggle), "help": _call(ShortcutsState.set_help_open(True)),
             "down": _call(PaletteState.move(1)), "up": _call(PaletteState.move(-1)),
             "first": _call(PaletteState.move("first")), "last": _call(PaletteState.move("last")),
             "enter": _call(PaletteState.choose(None))}
    go_js = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in go.items()) + "}"
    calls_js = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in calls.items()) + "}"
    code = f"""useEffect(() => {{
  const go = {go_js};
  const call = {calls_js};
  const paletteKeys = {{ArrowDown: "down", ArrowUp: "up", Home: "first", End: "last", Enter: "enter"}};
  let prefix = false, prefixTimer = null;
  const typing = (el) => !!el && (el.isContentEditable
    || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  const busy = () => !!document.querySelector(['dialog', 'alertdialog', 'menu', 'listbox']
    .map((role) => `[role="${{role}}"][data-state="open"]`).join(", "));
  const onKey = (e) => {{
    if (e.isComposing) return;
    const key = e.key;
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (key === "k" || key === "K")) {{
      e.preventDefault();
      if (!e.repeat) call.palette();
      return;
    }}
    if (e.target && e.target.id === {json.dumps(INPUT_ID)}) {{
      const move = paletteKeys[key];
      if (move && !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey) {{
        e.preventDefault();
        call[move]();
      }}
      return;
    }}
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (typing(e.target) || typing(document.activeElement) || busy()) {{ prefix = false; return; }}
    if (prefix) {{
      prefix = false;
      clearTimeout(prefixTimer);
      if (go[key]) {{ e.preventDefault(); go[key](); }}
      return;
    }}
    if (key === "/") {{
      const box = document.querySelector('[data-shortcut="search"]');
      if (box) {{ e.preventDefault(); box.focus(); box.select && box.select(); }}
    }} else if (key === "n") {{
      const link = document.querySelector('[data-shortcut="new"]');
      if (link) {{ e.preventDefault(); link.click(); }}
    }} else if (key === "g") {{
      prefix = true;
      clearTimeout(prefixTimer);
      prefixTimer = setTimeout(() => {{ prefix = false; }}, {GO_WINDOW_MS});
    }} else if (key === "?") {{
      e.preventDefault();
      call.help();
    }}
  }};
  window.addEventListener("keydown", onKey);
  return () => {{ window.removeEventListener("keydown", onKey); clearTimeout(prefixTimer); }};
}}, []);"""
    return code


class KeyListener(rx.Fragment):
    """Renders nothing; its hook registers the shortcuts' keydown listener."""

    def add_imports(self) -> dict[str, str]:
        # What the hook's code uses: React's effect, and Reflex's event queue (`_call`).
        return {"react": "useEffect", "$/utils/context": "addEvents",
                "$/utils/state": "ReflexEvent"}

    def add_hooks(self) -> list[str]:
        return [_listener()]


def help_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Keyboard shortcuts"),
            rx.dialog.description("Not while typing in a field.", size="2",
                                  color=rx.color("gray", 11)),
            rx.table.root(
                rx.table.body(*[rx.table.row(
                    rx.table.row_header_cell(rx.el.kbd(keys), white_space="nowrap"),
                    rx.table.cell(what)) for keys, what in SHORTCUTS]),
                size="1", margin_top="0.75em", width="100%"),
            rx.hstack(rx.dialog.close(rx.button("Close", variant="soft")), justify="end",
                      padding_top="1em"),
            max_width="34em",
            data_testid="shortcuts-help",
        ),
        open=ShortcutsState.help_open,
        on_open_change=ShortcutsState.set_help_open,
    )


def shortcuts() -> rx.Component:
    """What the shell mounts: the listener, the shortcuts' list and the command palette."""
    return rx.fragment(KeyListener.create(), help_dialog(), palette_dialog())
