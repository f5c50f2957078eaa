"""Auditors' API over expert reviews (routes on the api blueprint).

Items are score sheets with the expert's pool id (never a name); the sibling
``aggregates`` carries each application's ranking from the submitted sheets.
"""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api.openapi import NULLABLE_INT, NULLABLE_STR, resource
from app.api.paging import int_param, page
from app.api.views import bp
from app.calls.models import Call
from app.core import clock
from app.core.permissions import requires
from app.extensions import db
from app.reviews.models import ReviewAssignment
from app.reviews.operations.ranking import rank_call
from app.reviews.states import AssignmentState

resource(
    "review",
    "/api/v1/reviews",
    {
        "id": {"type": "integer"},
        "state": {"type": "string", "enum": list(AssignmentState.values())},
        "call_id": {"type": "integer"},
        "application_id": {"type": "integer"},
        "reviewer_id": {"type": "integer"},
        "draw_id": {"type": "integer"},
        "replaces_id": NULLABLE_INT,
        "total": NULLABLE_STR,
        "rubric_snapshot_id": NULLABLE_INT,
        "revision_id": NULLABLE_INT,
        "invited_at": {"type": "string", "format": "date-time"},
        "submitted_at": {"type": ["string", "null"], "format": "date-time"},
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


def review_item(row) -> dict:
    """A score sheet as the API carries it: the reviewer is the expert's pool id."""
    return {
        "id": row.id,
        "state": str(row.state),
        "call_id": row.call_id,
        "application_id": row.application_id,
        "reviewer_id": row.expert_id,
        "draw_id": row.draw_id,
        "replaces_id": row.replaces_id,
        "total": row.total,
        "rubric_snapshot_id": row.rubric_snapshot_id,
        "revision_id": row.revision_id,
        "invited_at": clock.rfc3339(row.invited_at),
        "submitted_at": clock.rfc3339(row.submitted_at),
    }


def _aggregates(call_id: int) -> list[dict]:
    call = db.session.get(Call, call_id)
    if call is None:
        return []
    out = []
    for row in rank_call(call).rows:
        r = row.ranked
        out.append(
            {
                "application_id": row.application.id,
                "n": r.n,
                "aggregate": None if r.aggregate is None else str(r.aggregate),
                "band": None if r.band is None else r.band.label.as_dict(),
                "flags": list(r.flags),
                "vetoes": list(r.vetoes),
                "rank": r.rank,
            }
        )
    return sorted(out, key=lambda a: a["application_id"])


@bp.route("/reviews")
@requires("audit.read")
def list_reviews():
    """The score sheets of one call (``?call=`` required), by id, with application aggregates."""
    call_id = int_param("call", required=True)
    table = ReviewAssignment.__table__
    stmt = select(table).where(table.c.call_id == call_id)
    return jsonify(page(stmt, table.c.id, review_item, extra={"aggregates": _aggregates(call_id)}))
