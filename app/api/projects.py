"""Auditors' API over projects and milestones (routes on the api blueprint)."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api.openapi import NULLABLE_INT, NULLABLE_STR, resource
from app.api.paging import int_param, page
from app.api.views import bp
from app.core import clock
from app.core.permissions import requires
from app.projects.models import Milestone, Project
from app.projects.states import MilestoneState, ProjectState

_INT = {"type": "integer"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}


def _required(name: str) -> list[dict]:
    return [
        {"name": name, "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}}
    ]


resource(
    "project",
    "/api/v1/projects",
    {
        "id": _INT,
        "state": {"type": "string", "enum": list(ProjectState.values())},
        "call_id": _INT,
        "application_id": _INT,
        "society_id": _INT,
        "amount_fen": _INT,
        "started_at": _NULLABLE_TIME,
        "end_on": _NULLABLE_DATE,
        "extension_months": _INT,
        "outcome": NULLABLE_STR,
        "outcome_at": _NULLABLE_TIME,
        "ended_at": _NULLABLE_TIME,
        "settled_at": _NULLABLE_TIME,
        "unspent_fen": _INT,
        "retained_fen": _INT,
        "retained_until": _NULLABLE_DATE,
        "closed_at": _NULLABLE_TIME,
        "archived_at": _NULLABLE_TIME,
    },
    _required("call"),
)
resource(
    "milestone",
    "/api/v1/milestones",
    {
        "id": _INT,
        "state": {"type": "string", "enum": list(MilestoneState.values())},
        "project_id": _INT,
        "seq": _INT,
        "title": {"type": "string"},
        "due_on": _NULLABLE_DATE,
        "accepted_at": _NULLABLE_TIME,
        "accepted_by_id": NULLABLE_INT,
        "overdue": {"type": "boolean"},
        "overdue_at": _NULLABLE_TIME,
        "tranche_id": NULLABLE_INT,
        "tranche_state": NULLABLE_STR,
        "tranche_amount_fen": NULLABLE_INT,
    },
    _required("project"),
)


def _day(value):
    return value.isoformat() if value is not None else None


def project_item(row) -> dict:
    """A project as the API carries it (its id is the award's and the ledger's grant id)."""
    return {
        "id": row.id,
        "state": str(row.state),
        "call_id": row.call_id,
        "application_id": row.application_id,
        "society_id": row.society_id,
        "amount_fen": int(row.amount_fen),
        "started_at": clock.rfc3339(row.started_at),
        "end_on": _day(row.end_on),
        "extension_months": int(row.extension_months or 0),
        "outcome": row.outcome,
        "outcome_at": clock.rfc3339(row.outcome_at),
        "ended_at": clock.rfc3339(row.ended_at),
        "settled_at": clock.rfc3339(row.settled_at),
        "unspent_fen": int(row.unspent_fen or 0),
        "retained_fen": int(row.retained_fen or 0),
        "retained_until": _day(row.retained_until),
        "closed_at": clock.rfc3339(row.closed_at),
        "archived_at": clock.rfc3339(row.archived_at),
    }


@bp.route("/projects")
@requires("audit.read")
def list_projects():
    """The projects of one call (``?call=`` required), by id."""
    call_id = int_param("call", required=True)
    table = Project.__table__
    stmt = select(table).where(table.c.call_id == call_id)
    return jsonify(page(stmt, table.c.id, project_item))


def milestone_item(row) -> dict:
    """A milestone with its tranche (if any) and the overdue flag."""
    today = clock.today()
    overdue = (
        row.seq > 0
        and row.due_on is not None
        and row.state in ("planned", "due", "returned")
        and today > row.due_on
    )
    return {
        "id": row.id,
        "state": str(row.state),
        "project_id": row.project_id,
        "seq": row.seq,
        "title": row.title,
        "due_on": _day(row.due_on),
        "accepted_at": clock.rfc3339(row.accepted_at),
        "accepted_by_id": row.accepted_by_id,
        "overdue": bool(overdue),
        "overdue_at": clock.rfc3339(row.overdue_at),
        "tranche_id": row.tranche_id,
        "tranche_state": row.tranche_state,
        "tranche_amount_fen": None if row.tranche_amount is None else int(row.tranche_amount),
    }


@bp.route("/milestones")
@requires("audit.read")
def list_milestones():
    """The milestones of one project (``?project=`` required), by id, with tranches."""
    from app.projects.models import Tranche

    project_id = int_param("project", required=True)
    m, t = Milestone.__table__, Tranche.__table__
    stmt = (
        select(
            m,
            t.c.id.label("tranche_id"),
            t.c.state.label("tranche_state"),
            t.c.amount_fen.label("tranche_amount"),
        )
        .select_from(m.outerjoin(t, t.c.milestone_id == m.c.id))
        .where(m.c.project_id == project_id)
    )
    return jsonify(page(stmt, m.c.id, milestone_item))
