"""Auditors' API over awards (routes on the api blueprint)."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api.openapi import NULLABLE_INT, resource
from app.api.paging import int_param, page
from app.api.views import bp
from app.awards.models import Award
from app.awards.states import AwardState
from app.core import clock
from app.core.permissions import requires

_INT = {"type": "integer"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

resource(
    "award",
    "/api/v1/awards",
    {
        "id": _INT,
        "state": {"type": "string", "enum": list(AwardState.values())},
        "call_id": _INT,
        "application_id": _INT,
        "society_id": _INT,
        "amount_fen": _INT,
        "requested_fen": _INT,
        "rank": NULLABLE_INT,
        "proposed_by_id": _INT,
        "proposed_at": {"type": "string", "format": "date-time"},
        "approved_by_id": NULLABLE_INT,
        "approved_at": _NULLABLE_TIME,
        "commit_transfer_id": NULLABLE_INT,
        "notice_id": NULLABLE_INT,
        "confirmed_at": _NULLABLE_TIME,
        "revoked_at": _NULLABLE_TIME,
        "decommit_transfer_id": NULLABLE_INT,
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


def award_item(row) -> dict:
    """An award as the API carries it (the id is also the ledger's grant id)."""
    return {
        "id": row.id,
        "state": str(row.state),
        "call_id": row.call_id,
        "application_id": row.application_id,
        "society_id": row.society_id,
        "amount_fen": int(row.amount_fen),
        "requested_fen": int(row.requested_fen),
        "rank": row.rank,
        "proposed_by_id": row.proposed_by_id,
        "proposed_at": clock.rfc3339(row.proposed_at),
        "approved_by_id": row.approved_by_id,
        "approved_at": clock.rfc3339(row.approved_at),
        "commit_transfer_id": row.commit_transfer_id,
        "notice_id": row.notice_id,
        "confirmed_at": clock.rfc3339(row.confirmed_at),
        "revoked_at": clock.rfc3339(row.revoked_at),
        "decommit_transfer_id": row.decommit_transfer_id,
    }


@bp.route("/awards")
@requires("audit.read")
def list_awards():
    """The awards of one call (``?call=`` required), by id."""
    call_id = int_param("call", required=True)
    table = Award.__table__
    stmt = select(table).where(table.c.call_id == call_id)
    return jsonify(page(stmt, table.c.id, award_item))
