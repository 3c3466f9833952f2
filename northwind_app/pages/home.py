"""Dashboard (/): KPIs and charts for a period (all time, last 12 months of data, a year, a
quarter) that lives in the URL (`/?period=year&year=1997`). Figures come exact from the
dashboard service; the state gets formatted strings, plus plain numbers for chart geometry.

The month chart's axes have round ticks labelled in the user's format (ui/charts.py): the
chart draws the numbers, the labels come from the state. The month the data stops in (the newest order's, before its
end) is drawn as the month so far: a lighter, dashed bar and a dashed line, with a note.
KPI values shrink to fit their card (assets/layout.css, `--nw-chars`) instead of clipping.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import reflex as rx
from sqlmodel import Session

from northwind_app.live.shared import format_key, shared_reads
from northwind_app.live.tabs import LiveMixin
from northwind_app.money import cents, format_money, format_number
from northwind_app.services import dashboard as dash
from northwind_app.services.errors import Invalid, ServiceError
from northwind_app.services.stats import entity_counts
from northwind_app.ui import backend
from northwind_app.ui.auth import safe_next
from northwind_app.ui.charts import EMPTY_AXIS, TICK_FONT, count_axis, money_axis, y_axis_props
from northwind_app.ui.format import date_text
from northwind_app.ui.layout import page


def _month_href(month: str, period: dash.DateRange) -> str:
    """The orders of a chart's month (within the period, for a month it cuts)."""
    first = dt.date.fromisoformat(month + "-01")
    last = dash.month_end(first)
    if period.first_day and period.first_day > first:
        first = period.first_day
    if period.last_day and period.last_day < last:
        last = period.last_day
    return f"/orders?date_from={first.isoformat()}&date_to={last.isoformat()}"


def _period_text(period: dash.DateRange) -> str:
    """"Jan 1997 – Dec 1997"; a period that cuts months by its days: "May 7, 1997 – May 6,
    1998"."""
    if not (period.start and period.end):
        return "All orders"
    if period.first_day or period.last_day:
        return (f"{date_text(period.first_day or period.start)} – "
                f"{date_text(period.last_day or dash.month_end(period.end))}")
    return f"{period.start:%b %Y} – {period.end:%b %Y}"


def _ranked(items: list[dash.Ranked], href) -> list[dict]:
    return [{"label": r.label, "revenue": float(cents(r.revenue)),
             "revenue_text": format_money(r.revenue), "href": href(r) if href else ""}
            for r in items]


def _month_points(points: list[dash.MonthPoint], period: dash.DateRange) -> list[dict]:
    """The month chart's data: a partial month's figures go to `revenue_partial` and
    `orders_partial` (the latter also on the month before it, so its dashed line joins the
    solid one); the full months' to `revenue` and `orders`."""
    rows = []
    for index, m in enumerate(points):
        revenue = float(cents(m.revenue))
        before_partial = index + 1 < len(points) and points[index + 1].partial
        rows.append({
            "label": m.month,
            "revenue": None if m.partial else revenue,
            "revenue_partial": revenue if m.partial else None,
            "orders": None if m.partial else m.orders,
            "orders_partial": m.orders if m.partial or before_partial else None,
            "href": _month_href(m.month, period)})
    return rows


def _load(session: Session, preset: str, year: int | None, quarter: int | None) -> dict:
    """The page's figures as display values. A year or quarter view the address does not
    complete opens on the newest year with orders, and its latest quarter with orders."""
    years = dash.years_with_orders(session)
    if preset in ("year", "quarter") and year is None and years:
        year = years[0]
    if preset == "quarter" and quarter is None:
        quarter = dash.latest_quarter(session, year) if year is not None else 1
    period = dash.resolve_period(session, preset, year, quarter)
    board = dash.dashboard(session, period)
    counts = entity_counts(session)
    k = board.kpis
    return {
        "year": str(year or ""), "quarter": str(quarter or ""), "years": [str(y) for y in years],
        "period_text": _period_text(period),
        "kpis": {
            "revenue": format_money(k.revenue), "orders": format_number(k.orders),
            "aov": format_money(k.average_order_value), "units": format_number(k.units_sold),
            "not_shipped": format_number(k.not_shipped), "late": format_number(k.late),
            **{f"count_{name}": format_number(n) for name, n in counts.items()},
        },
        "months": _month_points(board.by_month, period),
        "revenue_axis": money_axis(m.revenue for m in board.by_month),
        "orders_axis": count_axis(m.orders for m in board.by_month),
        "partial_note": next((f"{m.month} is the month so far: orders up to "
                              f"{date_text(board.last_order)}." for m in board.by_month
                              if m.partial), ""),
        "products": _ranked(board.top_products, lambda r: f"/products/{r.key}"),
        "customers": _ranked(board.top_customers, lambda r: f"/orders?customer_id={r.key}"),
        "employees": _ranked(board.top_employees, lambda r: f"/orders?employee_id={r.key}"),
        "categories": _ranked(board.by_category, lambda r: f"/products?category_id={r.key}"),
        "countries": _ranked(board.by_country, lambda r: f"/orders?ship_country={r.key}"),
    }


class HomeState(LiveMixin, rx.State):
    """The dashboard; it follows new, changed, shipped and cancelled orders (live/)."""

    preset: str = "all"
    year: str = ""
    quarter: str = ""
    years: list[str] = []
    period_text: str = ""
    kpis: dict[str, str] = {}
    months: list[dict] = []
    revenue_axis: dict = dict(EMPTY_AXIS)
    orders_axis: dict = dict(EMPTY_AXIS)
    partial_note: str = ""
    products: list[dict] = []
    customers: list[dict] = []
    employees: list[dict] = []
    categories: list[dict] = []
    countries: list[dict] = []
    loading: bool = True
    error: str = ""

    def _period(self) -> tuple[str, int | None, int | None]:
        params = self.router.url.query_parameters
        preset = params.get("period", "all")
        year = params.get("year", "")
        quarter = params.get("quarter", "")
        return (preset if preset in dash.PRESETS else "all",
                int(year) if year.isdigit() else None,
                int(quarter) if quarter.isdigit() else None)

    @rx.event
    async def load(self):
        self.preset = self._period()[0]
        self.loading, self.error = True, ""
        yield
        try:
            data = await backend.load(self, _load, *self._period())
        except Invalid as exc:
            self.error = "This period is not valid: " + exc.message
        except ServiceError:  # a server problem: logged, or the outage banner raised
            self.error = "The figures could not be loaded. Check the database and try again."
        else:
            for name, value in data.items():
                setattr(self, name, value)
            await self._live_watch("dashboard")
        finally:
            self.loading = False

    async def _live_refresh(self):
        """Orders changed: the same period's figures again, in place (only what differs)."""
        try:
            period = self._period()
            # One computation per period, number format and feed position in this worker,
            # shared by every dashboard tab the change nudges (live/shared.py).
            data = await shared_reads.get(("dashboard", period, format_key()),
                                          lambda: backend.read(self, _load, *period))
        except ServiceError:
            return
        for name, value in data.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def _go(self, **changes):
        query = {"period": self.preset, "year": self.year, "quarter": self.quarter, **changes}
        if query["period"] in ("all", "last12"):
            query = {"period": query["period"]}
        elif query["period"] == "year":
            query.pop("quarter", None)
        query = {k: v for k, v in query.items() if v and not (k == "period" and v == "all")}
        return rx.redirect("/" + ("?" + urlencode(query) if query else ""))

    @rx.event
    def set_preset(self, value: str | list[str]):
        return self._go(period=value if isinstance(value, str) else value[0])

    @rx.event
    def set_year(self, value: str):
        return self._go(year=value)

    @rx.event
    def set_quarter(self, value: str):
        return self._go(quarter=value)

    @rx.event
    def open_link(self, href: str):
        """A chart's bar or slice was clicked: go to the list it stands for (a path on this
        site only; the event's payload is the browser's to choose)."""
        if isinstance(href, str) and safe_next(href) == href:
            return rx.redirect(href)


def _payload_href(data: rx.Var) -> tuple[rx.Var[str]]:
    """Recharts calls onClick(datum, index, event); pass on the datum's `href`."""
    return (data.to(dict)["payload"].to(dict)["href"].to(str),)


class Bar(rx.recharts.Bar):  # named Bar: recharts containers accept children by class name
    """A bar whose click navigates to the clicked datum's `href` (its filtered list)."""

    on_click: rx.EventHandler[_payload_href]


link_bar = Bar.create


def kpi_card(label: str, key: str, icon: str) -> rx.Component:
    """A figure under its label; the figure's font shrinks to the card's width (its length in
    characters is `--nw-chars`, assets/layout.css) rather than be cut."""
    value = HomeState.kpis.get(key, "0").to(str)
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=18, color=rx.color("accent", 10), flex_shrink="0"),
                rx.text(label, size="2", color=rx.color("gray", 11)),
                align="center", spacing="2",
            ),
            rx.skeleton(rx.heading(value, size="6", class_name="nw-kpi-value",
                                   style={"--nw-chars": value.length()},
                                   data_testid=f"kpi-{key}"),
                        loading=HomeState.loading),
            spacing="2", width="100%",
        ),
        class_name="nw-kpi",
    )


def count_badge(label: str, key: str) -> rx.Component:
    return rx.text(label, ": ", rx.text.strong(HomeState.kpis.get(f"count_{key}", "0"),
                                                data_testid=f"count-{key}"), size="2")


def chart_card(title: str, chart: rx.Component, testid: str, *notes) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="3"), chart, *notes, width="100%"),
                   width="100%", data_testid=testid)


def month_chart() -> rx.Component:
    """Revenue bars (left axis) and orders (right axis) by month; a partial last month is a
    lighter, dashed bar and a dashed line, and the note under the chart says so."""
    s = HomeState
    revenue, orders = s.revenue_axis, s.orders_axis
    return chart_card("Revenue and orders by month", rx.recharts.composed_chart(
        link_bar(data_key="revenue", y_axis_id="left", fill=rx.color("accent", 8),
                 name="Revenue", on_click=HomeState.open_link, cursor="pointer", stack_id="rev"),
        link_bar(data_key="revenue_partial", y_axis_id="left", fill=rx.color("accent", 6),
                 stroke=rx.color("accent", 8), custom_attrs={"strokeDasharray": "4 3"},
                 name="Revenue, month so far", on_click=HomeState.open_link,
                 cursor="pointer", stack_id="rev"),
        rx.recharts.line(data_key="orders", y_axis_id="right", stroke=rx.color("orange", 9),
                         name="Orders", dot=False),
        rx.recharts.line(data_key="orders_partial", y_axis_id="right",
                         stroke=rx.color("orange", 9), stroke_dasharray="4 3",
                         name="Orders, month so far", dot=False, legend_type="none"),
        rx.recharts.x_axis(data_key="label", tick=TICK_FONT, interval="preserveStartEnd",
                           min_tick_gap=12),
        rx.recharts.y_axis(y_axis_id="left", **y_axis_props(revenue)),
        rx.recharts.y_axis(y_axis_id="right", orientation="right", **y_axis_props(orders)),
        rx.recharts.graphing_tooltip(), rx.recharts.legend(),
        data=s.months, width="100%", height=320,
    ), "chart-months",
        rx.cond(s.partial_note != "", rx.text(s.partial_note, size="1",
                                              color=rx.color("gray", 11),
                                              data_testid="partial-month-note")))


def ranking(title: str, data, testid: str) -> rx.Component:
    bar = link_bar(data_key="revenue", on_click=HomeState.open_link, cursor="pointer",
                   fill=rx.color("accent", 9), name="Revenue")
    return chart_card(title, rx.vstack(
        rx.recharts.bar_chart(
            bar,
            rx.recharts.x_axis(type_="number", hide=True),
            rx.recharts.y_axis(data_key="label", type_="category", width=150,
                               tick_line=False, interval=0, tick=TICK_FONT),
            rx.recharts.graphing_tooltip(),
            # Room for every label (a two-line one too): 30 px a row.
            data=data, layout="vertical", width="100%", height=data.length() * 30 + 20,
        ),
        rx.foreach(data, lambda item: rx.hstack(
            rx.cond(item["href"] != "",
                    rx.link(item["label"], href=item["href"].to(str), size="2"),
                    rx.text(item["label"], size="2")),
            rx.spacer(), rx.text(item["revenue_text"], size="2"),
            width="100%", data_testid=f"{testid}-row")),
        width="100%", spacing="1",
    ), testid)


def _select(options, value, on_change, testid: str, label: str, prefix: str = "") -> rx.Component:
    return rx.select.root(
        rx.select.trigger(data_testid=testid, aria_label=label),
        rx.select.content(rx.foreach(options, lambda o: rx.select.item(prefix + o, value=o))),
        value=value, on_change=on_change,
    )


def period_selector() -> rx.Component:
    s = HomeState
    return rx.hstack(
        rx.segmented_control.root(
            *[rx.segmented_control.item(label, value=value) for value, label in dash.PRESETS.items()],
            value=s.preset, on_change=s.set_preset, data_testid="period-preset",
            display=rx.breakpoints(initial="none", sm="grid"),
        ),
        # On a phone the four presets do not fit side by side: the same choice as a select.
        rx.select.root(
            rx.select.trigger(aria_label="Period", data_testid="period-preset-select",
                              display=rx.breakpoints(initial="inline-flex", sm="none")),
            rx.select.content(*[rx.select.item(label, value=value)
                                for value, label in dash.PRESETS.items()]),
            value=s.preset, on_change=s.set_preset,
        ),
        rx.cond((s.preset == "year") | (s.preset == "quarter"),
                _select(s.years, s.year, s.set_year, "period-year", "Year")),
        rx.cond(s.preset == "quarter",
                _select(["1", "2", "3", "4"], s.quarter, s.set_quarter, "period-quarter", "Quarter",
                        prefix="Q")),
        rx.text(s.period_text, size="2", color=rx.color("gray", 11), data_testid="period-text"),
        align="center", spacing="3", wrap="wrap",
    )


def home() -> rx.Component:
    s = HomeState
    return page(
        "Dashboard",
        rx.vstack(
            period_selector(),
            rx.cond(s.error != "", rx.callout(s.error, icon="triangle-alert", color_scheme="red",
                                              data_testid="home-error", width="100%")),
            rx.grid(
                kpi_card("Revenue", "revenue", "dollar-sign"),
                kpi_card("Orders", "orders", "shopping-cart"),
                kpi_card("Average order", "aov", "receipt"),
                kpi_card("Units sold", "units", "package"),
                kpi_card("Not yet shipped", "not_shipped", "truck"),
                kpi_card("Late", "late", "alarm-clock"),
                # Six in a row only where each card has room; KPI values shrink, never clip.
                columns=rx.breakpoints(initial="2", sm="3", xl="6"), spacing="3", width="100%",
            ),
            rx.hstack(count_badge("All orders", "orders"), count_badge("Customers", "customers"),
                      count_badge("Products", "products"), spacing="5", wrap="wrap"),
            month_chart(),
            rx.grid(
                ranking("Top 10 products", s.products, "top-products"),
                ranking("Top 10 customers", s.customers, "top-customers"),
                # Northwind has fewer than ten employees (9 in the classic data): all who sold.
                ranking("Top employees", s.employees, "top-employees"),
                ranking("Revenue by category", s.categories, "by-category"),
                columns=rx.breakpoints(initial="1", lg="2"), spacing="4", width="100%",
            ),
            ranking("Revenue by customer country", s.countries, "by-country"),
            spacing="4", width="100%",
        ),
    )
