"""The stations blueprint and what its views share: loading an object the user may
see (404 otherwise), flashing a refusal, committing with a message, xlsx responses."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Organisation
from app.audit import trail
from app.core.errors import DomainError
from app.core.sheets import XLSX_MIME
from app.extensions import db
from app.stations import permissions as rules
from app.stations.forms import choices
from app.stations.models import Need, Station

bp = Blueprint("stations", __name__)


def fail(err: DomainError) -> None:
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def done(target: str, message: str, **values):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(target, **values))


def load_station(station_id: int) -> Station:
    """The station, or 404 when it does not exist or ``current_user`` may not see it."""
    station = db.session.get(Station, station_id)
    if station is None or not rules.can_view_station(current_user, station):
        abort(404)
    return station


def load_need(need_id: int) -> Need:
    need = db.session.get(Need, need_id)
    if need is None or not rules.can_view_need(current_user, need):
        abort(404)
    return need


def orgs(kind: str) -> list:
    return choices(
        (o.id, o.name)
        for o in db.session.scalars(
            select(Organisation).where(Organisation.kind == kind).order_by(Organisation.name)
        )
    )


def xlsx_response(data: bytes, *, document: str, name: str, ascii_name: str, **after):
    """Audit the download (``export.download``), commit, and send the workbook."""
    trail.record(
        "export.download",
        "station",
        None,
        actor=current_user,
        after={"document": document, "bytes": len(data), **after},
    )
    db.session.commit()
    response = Response(data, mimetype=XLSX_MIME)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    )
    return response
