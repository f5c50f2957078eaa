"""What an application's draft form offers from this module: the stations, parks and
co-building governments relevant to the applicant (not every one in the province).

- A project call (a society applies for station funding): the stations the society
  leads or partners in (not closed), and the parks and governments of those stations.
- A pilot call (a city or county government applies to be a pilot unit): no station
  (it has none yet), the parks of its own city, and the government itself.

The values already saved on the application are always kept among the choices.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.accounts.models import Organisation
from app.extensions import db
from app.stations.models import HighTechPark, Station, StationPartner


def society_stations(society_id: int, *, with_government: bool = False) -> list[Station]:
    """Stations (not closed) the society leads or partners in, by name (each with its
    park; with its government too when asked)."""
    partner = select(StationPartner.station_id).where(StationPartner.society_id == society_id)
    stmt = (
        select(Station)
        .where(
            or_(Station.society_id == society_id, Station.id.in_(partner)),
            Station.state != "closed",
        )
        .order_by(Station.name)
    )
    if with_government:
        stmt = stmt.options(joinedload(Station.government))
    return list(db.session.scalars(stmt))


def _with(rows: list, model, wanted_id) -> list:
    if wanted_id and all(r.id != wanted_id for r in rows):
        current = db.session.get(model, wanted_id)
        if current is not None:
            rows = [*rows, current]
    return rows


def application_choices(app) -> dict:
    """``{"stations", "parks", "governments"}`` for the draft form of ``app``."""
    org = app.society
    if app.call.kind == "pilot":
        stations: list = []
        parks = list(db.session.scalars(select(HighTechPark).order_by(HighTechPark.name)))
        if org.city_code:
            parks = [p for p in parks if p.city_code[:4] == org.city_code[:4]]
        governments = [org]
    else:  # the stations' own parks and governments, read with them
        stations = society_stations(org.id, with_government=True)
        parks = sorted({s.park for s in stations}, key=lambda p: (p.name, p.id))
        governments = sorted({s.government for s in stations}, key=lambda o: (o.name, o.id))
    return {
        "stations": _with(stations, Station, app.station_id),
        "parks": _with(parks, HighTechPark, app.park_id),
        "governments": _with(governments, Organisation, app.co_government_id),
    }


def station_problem(app, station_id) -> str | None:
    """Why ``station_id`` may not be named on ``app`` (a project application names a
    station its society leads or partners in), or None."""
    if not station_id or app.call.kind == "pilot" or station_id == app.station_id:
        return None
    if any(s.id == station_id for s in society_stations(app.society_id)):
        return None
    return _("只能选择贵学会牵头或参与共建的服务站。")
