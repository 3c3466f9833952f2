"""An employee's page: /employees/[key] — title and dates, manager and direct reports,
territories, sales by year, their orders."""

from __future__ import annotations

from typing import Any, ClassVar

import reflex as rx
from sqlmodel import Session

from northwind_app.entities import EMPLOYEES, Entity
from northwind_app.money import cents, format_money
from northwind_app.pages.catalog.detail import (
    DetailState, bar_chart, chart_axes, detail_shell, heading, info, related_lists,
)
from northwind_app.services import catalog
from northwind_app.services import dashboard as figures
from northwind_app.ui.format import date_text
from northwind_app.ui.charts import EMPTY_AXIS
from northwind_app.ui.layout import grid_columns


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class EmployeeState(DetailState, rx.State):
    entity: ClassVar[Entity] = EMPLOYEES
    data_lists: ClassVar[tuple[str, ...]] = ("reports", "territories", "chart")

    reports: list[dict[str, str]] = []  # direct reports: name, href, title
    territories: list[dict[str, str]] = []  # name (region), title: the territory id
    chart: list[dict] = []  # orders and revenue by year
    chart_axes: dict[str, dict] = {"left": dict(EMPTY_AXIS), "right": dict(EMPTY_AXIS)}

    @staticmethod
    def _read(session: Session, key: Any) -> dict[str, Any]:
        e = catalog.get_employee(session, key)
        relations = catalog.employee_relations(session, key)
        years = figures.employee_sales_by_year(session, key)
        name = f"{e['title_of_courtesy'] or ''} {e['first_name']} {e['last_name']}".strip()
        chart = [{"label": str(y), "revenue": float(cents(r)), "units": n,
                  "revenue_text": format_money(r)} for y, n, r in years]
        return {"chart": chart, "chart_axes": chart_axes(chart, "revenue", "units"),
                "record": {**{k: _text(v) for k, v in e.items()}, "name": name,
                           "hire_date": date_text(e["hire_date"]),
                           "birth_date": date_text(e["birth_date"]),
                           "manager_href": f"/employees/{e['reports_to']}"
                           if e["reports_to"] else ""},
                "reports": [{"name": f"{first} {last}", "href": f"/employees/{i}",
                             "title": _text(title)}
                            for i, first, last, title in relations["reports"]],
                "territories": [{"name": f"{d.strip()} ({r.strip()})", "href": "", "title": tid}
                                for tid, d, r in relations["territories"]]}


def _people(items, testid: str) -> rx.Component:
    return rx.vstack(rx.foreach(items, lambda p: rx.hstack(
        rx.cond(p["href"] != "", rx.link(p["name"], href=p["href"]), rx.text(p["name"])),
        rx.text(p["title"], size="1", color=rx.color("gray", 11)), data_testid=testid)),
        spacing="1")


def employee_detail_page() -> rx.Component:
    s = EmployeeState
    r = s.record
    body = rx.vstack(
        heading(s, r["name"]),
        rx.grid(
            rx.card(rx.vstack(info(s, "Title", "title"), info(s, "Hired", "hire_date"),
                              info(s, "Born", "birth_date"), info(s, "Extension", "extension"),
                              spacing="2")),
            rx.card(rx.vstack(
                rx.text("Reports to", size="1", color=rx.color("gray", 11)),
                rx.cond(r["manager_href"] != "",
                        rx.link(r["manager_name"], href=r["manager_href"],
                                data_testid="employee-manager"),
                        rx.text("—")),
                rx.text("Direct reports", size="1", color=rx.color("gray", 11)),
                rx.cond(s.reports.length() > 0, _people(s.reports, "direct-report"),
                        rx.text("None")),
                spacing="1")),
            rx.card(rx.vstack(rx.text("Territories", size="1", color=rx.color("gray", 11)),
                              _people(s.territories, "territory"), spacing="1",
                              max_height="12em", overflow_y="auto")),
            columns=grid_columns(3), spacing="4", width="100%"),
        rx.card(rx.vstack(rx.heading("Sales by year", size="3"),
                          bar_chart(s.chart, ("revenue", "Revenue"), ("units", "Orders"), s.chart_axes),
                          rx.foreach(s.chart, lambda y: rx.hstack(
                              rx.text(y["label"]), rx.spacer(), rx.text(y["revenue_text"]),
                              width="100%", data_testid="employee-year")),
                          width="100%"), width="100%"),
        *related_lists(s),
        width="100%", spacing="4")
    return detail_shell(s, "Employee", body)
