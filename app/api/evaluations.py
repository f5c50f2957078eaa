"""Auditors' API over performance evaluations (routes on the api blueprint)."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api.openapi import NULLABLE_STR, resource
from app.api.paging import int_param, page
from app.api.views import bp
from app.core import clock
from app.core.permissions import requires
from app.evaluation.models import Engagement, Evaluation
from app.evaluation.states import GRADES, KINDS, EvaluationState
from app.projects.models import Project

_INT = {"type": "integer"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

resource(
    "evaluation",
    "/api/v1/evaluations",
    {
        "id": _INT,
        "state": {"type": "string", "enum": list(EvaluationState.values())},
        "project_id": _INT,
        "call_id": _INT,
        "engagement_id": _INT,
        "agency_id": _INT,
        "kind": {"type": "string", "enum": list(KINDS)},
        "score": NULLABLE_STR,
        "self_score": NULLABLE_STR,
        "grade": {"type": ["string", "null"], "enum": [*GRADES, None]},
        "submitted_at": _NULLABLE_TIME,
        "accepted_at": _NULLABLE_TIME,
        "returned_at": _NULLABLE_TIME,
        "rubric_sha256": {"type": "string"},
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


def evaluation_item(row) -> dict:
    """An evaluation as the API carries it; the score is a decimal string (never a float)."""
    return {
        "id": row.id,
        "state": str(row.state),
        "project_id": row.project_id,
        "call_id": row.call_id,
        "engagement_id": row.engagement_id,
        "agency_id": row.agency_id,
        "kind": row.kind,
        "score": row.total,
        "self_score": row.self_total,
        "grade": row.grade,
        "submitted_at": clock.rfc3339(row.submitted_at),
        "accepted_at": clock.rfc3339(row.decided_at) if row.state == "accepted" else None,
        "returned_at": clock.rfc3339(row.decided_at) if row.state == "returned" else None,
        "rubric_sha256": row.rubric_sha256,
    }


@bp.route("/evaluations")
@requires("audit.read")
def list_evaluations():
    """The performance evaluations of one call's projects (``?call=`` required), by id."""
    call_id = int_param("call", required=True)
    e, g, p = Evaluation.__table__, Engagement.__table__, Project.__table__
    stmt = (
        select(
            e.c.id,
            e.c.state,
            e.c.project_id,
            p.c.call_id,
            e.c.engagement_id,
            g.c.agency_id,
            g.c.kind,
            e.c.total,
            e.c.self_total,
            e.c.grade,
            e.c.submitted_at,
            e.c.decided_at,
            g.c.rubric_sha256,
        )
        .select_from(e.join(g, g.c.id == e.c.engagement_id).join(p, p.c.id == e.c.project_id))
        .where(p.c.call_id == call_id)
    )
    return jsonify(page(stmt, e.c.id, evaluation_item))
