"""/api/audit: the whole audit trail, filtered and paged (admins: audit.view).

Each record's own history is at /api/{orders,customers,products}/{id}/history for anyone who
may read the record (see `routing.add_history_route`).

Like `routing.py`, no ``from __future__ import annotations``: FastAPI reads the annotations.
"""

from typing import Literal

from pydantic import Field

from northwind_app.api.routing import add_list_route, resource_router
from northwind_app.api.schemas import AuditEntryOut, DateIn, list_query
from northwind_app.services import audit
from northwind_app.services.auth import Permission

router = resource_router("/api/audit", "audit")

add_list_route(
    router, plural="audit entries", item=AuditEntryOut, page=audit.list_audit,
    permission=Permission.VIEW_AUDIT,
    summary="List the audit trail: who changed what, when (admins; newest first by default)",
    query=list_query(
        "Audit", audit.AUDIT, "record ids, summaries and usernames",
        entity=(Literal[audit.ENTITIES] | None, Field(None, description="Changes of this kind "
                                                                        "of record.")),
        action=(Literal[audit.ACTIONS] | None, Field(None, description="Changes of this kind.")),
        username=(str | None, Field(None, max_length=64, description="Changes by this user.")),
        key=(str | None, Field(None, max_length=32, description=(
            "Changes of the record with this id (with `entity`), e.g. 10248."))),
        date_from=(DateIn | None, Field(None, description="Made on or after this day (UTC, "
                                                          "YYYY-MM-DD).")),
        date_to=(DateIn | None, Field(None, description="Made on or before this day (UTC, "
                                                        "YYYY-MM-DD).")),
    ),
)
