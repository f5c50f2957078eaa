"""Auditors' API over calls and applications (routes on the api blueprint)."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api.openapi import NULLABLE_INT, NULLABLE_STR, resource
from app.api.paging import int_param, page
from app.api.views import bp
from app.applications.models import Application
from app.applications.states import ApplicationState
from app.calls.models import Call
from app.calls.states import KINDS, CallState
from app.core import clock
from app.core.permissions import requires

_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

resource(
    "call",
    "/api/v1/calls",
    {
        "id": _INT,
        "state": {"type": "string", "enum": list(CallState.values())},
        "kind": {"type": "string", "enum": list(KINDS)},
        "fund_id": _INT,
        "title": {"type": "string"},
        "title_en": NULLABLE_STR,
        "categories": {"type": "array", "items": {"type": "string"}},
        "opens_at": _TIME,
        "closes_at": _TIME,
        "published_at": _NULLABLE_TIME,
        "total_budget_fen": _INT,
        "project_cap_fen": _INT,
        "per_society_limit": _INT,
        "matching_required": {"type": "boolean"},
        "matching_ratio_pct": _INT,
        "rubric_snapshot_id": NULLABLE_INT,
    },
)
resource(
    "application",
    "/api/v1/applications",
    {
        "id": _INT,
        "call_id": _INT,
        "state": {"type": "string", "enum": list(ApplicationState.values())},
        "project_number": NULLABLE_STR,
        "society_id": _INT,
        "category": NULLABLE_STR,
        "requested_fen": _INT,
        "matching_fen": _INT,
        "submitted_at": _NULLABLE_TIME,
    },
    [
        {
            "name": "call",
            "in": "query",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    ],
)


def call_item(row) -> dict:
    """A call as the API carries it."""
    return {
        "id": row.id,
        "state": str(row.state),
        "kind": row.kind,
        "fund_id": row.fund_id,
        "title": row.title,
        "title_en": row.title_en,
        "categories": list(row.categories or []),
        "opens_at": clock.rfc3339(row.opens_at),
        "closes_at": clock.rfc3339(row.closes_at),
        "published_at": clock.rfc3339(row.published_at),
        "total_budget_fen": int(row.total_budget_fen),
        "project_cap_fen": int(row.project_cap_fen),
        "per_society_limit": row.per_society_limit,
        "matching_required": bool(row.matching_required),
        "matching_ratio_pct": row.matching_ratio_pct,
        "rubric_snapshot_id": row.rubric_snapshot_id,
    }


def application_item(row) -> dict:
    """An application as the API carries it (budgeted matching money in ``matching_fen``)."""
    return {
        "id": row.id,
        "call_id": row.call_id,
        "state": str(row.state),
        "project_number": row.project_number,
        "society_id": row.society_id,
        "category": row.category,
        "requested_fen": int(row.requested_fen),
        "matching_fen": int(row.matching_fen),
        "submitted_at": clock.rfc3339(row.submitted_at),
    }


@bp.route("/calls")
@requires("audit.read")
def list_calls():
    """Every call, drafts included, by id."""
    table = Call.__table__
    return jsonify(page(select(table), table.c.id, call_item))


@bp.route("/applications")
@requires("audit.read")
def list_applications():
    """The applications of one call (``?call=`` required), by id."""
    call_id = int_param("call", required=True)
    table = Application.__table__
    stmt = select(table).where(table.c.call_id == call_id)
    return jsonify(page(stmt, table.c.id, application_item))
