"""The login page: username and password, errors next to the field (as sentences: "Enter
your user name."), back to where you were. A refused password is cleared from its field.
The browser's time zone (what its Intl API says when the form is sent) goes with the sign-in:
a first sign-in makes it the user's (users.default_time_zone).

Failed attempts are counted by the auth service per username and client address (see
services/throttle.py): too many refuse that name from that address, or that address, for a
growing time, while the same user from elsewhere still signs in; the message never says whether
the username exists. The client address is the one Reflex takes from the websocket's
connection (`router.session.client_ip`; behind reverse proxies, rxconfig's
`trusted_proxy_hops` makes it the X-Forwarded-For entry the nearest trusted proxy added), never
one from the event's payload.
"""

from __future__ import annotations

import reflex as rx

from northwind_app.services import auth, users
from northwind_app.services.errors import ServiceError
from northwind_app.ui import backend, outage
from northwind_app.ui.auth import AuthState, public, safe_next
from northwind_app.ui.format import BROWSER_ZONE

UNAVAILABLE = "Signing in failed because of a server problem. Try again shortly."
DATABASE_DOWN = ("Not signed in: the database is not reachable. Try again when the banner "
                 "has gone.")


@public
class LoginState(rx.State):
    username_error: str = ""
    password_error: str = ""
    busy: bool = False

    def _next(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next"))

    @rx.event
    async def load(self):
        """Already signed in (a valid cookie): go straight on."""
        self.username_error = self.password_error = ""
        self.busy = False
        auth_state = await self.get_state(AuthState)
        if await auth_state._current_actor() is not None:
            return rx.redirect(self._next())

    @rx.event
    async def submit(self, form: dict, zone: str | None = None):
        """`zone`: the browser's time zone, its own word (the service takes it only if it is
        a zone it knows, and only as a first sign-in's default)."""
        self.username_error = self.password_error = ""
        self.busy = True
        yield
        try:
            actor, token = await backend.write(
                self, users.sign_in, form.get("username", ""), form.get("password", ""),
                address=self.router.session.client_ip,
                accept_language=self.router.headers.accept_language,
                browser_zone=zone[:64] if isinstance(zone, str) else None)
        except auth.AuthenticationFailed as exc:
            self.username_error = exc.fields.get("username", "")
            self.password_error = exc.fields.get("password", "")
            if not (self.username_error or self.password_error):
                self.password_error = exc.message
            self.busy = False
            if form.get("password"):  # a refused password is not left to be sent again
                yield rx.set_value("password", "")
            return
        except backend.ServerProblem as exc:  # logged, or the outage banner raised
            self.password_error = DATABASE_DOWN if outage.is_unavailable(exc) else UNAVAILABLE
            self.busy = False
            return
        except ServiceError as exc:  # WriteConflict: other sign-ins kept colliding
            self.password_error = exc.message
            self.busy = False
            return
        auth_state = await self.get_state(AuthState)
        self.busy = False
        yield [auth_state._sign_in(actor, token), rx.redirect(self._next())]


def _field(label: str, name: str, error, **props) -> rx.Component:
    return rx.vstack(
        # (Radix's Text takes no htmlFor prop: given as an attribute, it names the input.)
        rx.text(label, as_="label", custom_attrs={"htmlFor": name}, size="2",
                weight="medium"),
        rx.input(id=name, name=name, width="100%", size="3", **props),
        rx.cond(error != "", rx.text(error, color_scheme="red", size="2",
                                     data_testid=f"{name}-error")),
        spacing="1",
        width="100%",
    )


def login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.hstack(
                        rx.icon("ship", size=28, color=rx.color("accent", 10)),
                        rx.heading("Northwind Orders", size="6"),
                        align="center", spacing="2",
                    ),
                    rx.text("Sign in to continue.", color_scheme="gray"),
                    rx.cond(AuthState.notice != "",
                            rx.callout(AuthState.notice, icon="info", size="1", width="100%",
                                       data_testid="login-notice")),
                    _field("Username", "username", LoginState.username_error,
                           auto_complete="username", auto_focus=True),
                    _field("Password", "password", LoginState.password_error,
                           type="password", auto_complete="current-password"),
                    # Until the page's state has come, its load (which clears the errors)
                    # must not follow a submission.
                    rx.button("Sign in", type="submit", size="3", width="100%",
                              loading=LoginState.busy, disabled=~rx.State.is_hydrated,
                              data_testid="login-submit"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=lambda form: LoginState.submit(form, BROWSER_ZONE),
                reset_on_submit=False,
            ),
            width="24em",
            padding="2em",
        ),
        min_height="100vh",
        background=rx.color("gray", 2),
    )
