"""Auditors' API over stations and needs (routes on the api blueprint)."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from app.api.openapi import NULLABLE_INT, resource
from app.api.paging import page
from app.api.views import bp
from app.core import clock
from app.core.permissions import requires
from app.stations.models import Need, Station
from app.stations.states import NEED_KINDS, URGENCIES, NeedState, StationState

_INT = {"type": "integer"}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

resource(
    "station",
    "/api/v1/stations",
    {
        "id": _INT,
        "state": {"type": "string", "enum": list(StationState.values())},
        "name": _STR,
        "park_id": _INT,
        "government_id": _INT,
        "society_id": _INT,
        "created_at": _TIME,
        "established_at": _NULLABLE_TIME,
        "base_at": _NULLABLE_TIME,
        "closed_at": _NULLABLE_TIME,
    },
)
resource(
    "need",
    "/api/v1/needs",
    {
        "id": _INT,
        "state": {"type": "string", "enum": list(NeedState.values())},
        "station_id": _INT,
        "org_id": _INT,
        "kind": {"type": "string", "enum": list(NEED_KINDS)},
        "industry": _STR,
        "urgency": {"type": "string", "enum": list(URGENCIES)},
        "project_id": NULLABLE_INT,
        "satisfaction": NULLABLE_INT,
        "created_at": _TIME,
        "matched_at": _NULLABLE_TIME,
        "solved_at": _NULLABLE_TIME,
        "closed_at": _NULLABLE_TIME,
    },
)


def station_item(row) -> dict:
    """A station as the API carries it."""
    return {
        "id": row.id,
        "state": str(row.state),
        "name": row.name,
        "park_id": row.park_id,
        "government_id": row.government_id,
        "society_id": row.society_id,
        "created_at": clock.rfc3339(row.created_at),
        "established_at": clock.rfc3339(row.established_at),
        "base_at": clock.rfc3339(row.base_at),
        "closed_at": clock.rfc3339(row.closed_at),
    }


def need_item(row) -> dict:
    """A need as the API carries it (no contact details: personal data)."""
    return {
        "id": row.id,
        "state": str(row.state),
        "station_id": row.station_id,
        "org_id": row.org_id,
        "kind": row.kind,
        "industry": row.industry,
        "urgency": row.urgency,
        "project_id": row.project_id,
        "satisfaction": row.satisfaction,
        "created_at": clock.rfc3339(row.created_at),
        "matched_at": clock.rfc3339(row.matched_at),
        "solved_at": clock.rfc3339(row.solved_at),
        "closed_at": clock.rfc3339(row.closed_at),
    }


@bp.route("/stations")
@requires("audit.read")
def list_stations():
    """Every station, by id."""
    table = Station.__table__
    return jsonify(page(select(table), table.c.id, station_item))


@bp.route("/needs")
@requires("audit.read")
def list_needs():
    """Every need, by id (``project_id`` once matched)."""
    table = Need.__table__
    return jsonify(page(select(table), table.c.id, need_item))
