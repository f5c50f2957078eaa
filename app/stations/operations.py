"""Creating parks and stations (the stations issue adds their lifecycle)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Organisation
from app.audit import trail
from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.stations.models import HighTechPark, Station


def create_park(name: str, city_code: str, *, actor, name_en: str | None = None) -> HighTechPark:
    """Record a high-tech park.

    Raises ``ValidationFailed`` for a missing name or a city code that is not
    six digits, ``Conflict`` for a name already recorded. Audited as ``park.create``.
    """
    name, city_code = (name or "").strip(), (city_code or "").strip()
    if not name:
        raise ValidationFailed(_("请填写园区名称。"), field="name")
    if not (len(city_code) == 6 and city_code.isdigit()):
        raise ValidationFailed(_("城市代码应为6位数字。"), field="city_code")
    if db.session.scalar(select(HighTechPark.id).where(HighTechPark.name == name)):
        raise Conflict(_("园区名称已存在。"), field="name")
    park = HighTechPark(name=name, city_code=city_code, name_en=name_en)
    db.session.add(park)
    db.session.flush()
    trail.record(
        "park.create", "high_tech_park", park.id, actor=actor, after={"city_code": city_code}
    )
    return park


def create_station(
    name: str, *, park_id: int, government_id: int, society_id: int, actor
) -> Station:
    """Record a planned station of ``society_id`` in a park, co-built with ``government_id``.

    Raises ``ValidationFailed`` when the park is unknown or the organisations
    are not a local government and a society. Audited as ``station.create``.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写服务站名称。"), field="name")
    if db.session.get(HighTechPark, park_id) is None:
        raise ValidationFailed(_("园区不存在。"), field="park_id")
    gov, society = (
        db.session.get(Organisation, government_id),
        db.session.get(Organisation, society_id),
    )
    if gov is None or gov.kind != "local_government":
        raise ValidationFailed(_("共建单位必须是市县政府或科协。"), field="government_id")
    if society is None or society.kind != "society":
        raise ValidationFailed(_("牵头单位必须是省级学会。"), field="society_id")
    if db.session.scalar(select(Station.id).where(Station.name == name)):
        raise Conflict(_("服务站名称已存在。"), field="name")
    station = Station(
        name=name, park_id=park_id, government_id=government_id, society_id=society_id
    )
    db.session.add(station)
    db.session.flush()
    trail.record(
        "station.create",
        "station",
        station.id,
        actor=actor,
        after={
            "state": "planned",
            "park_id": park_id,
            "government_id": government_id,
            "society_id": society_id,
        },
    )
    return station
