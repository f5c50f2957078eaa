"""Pilot applications: a city/county government applies with a pilot profile, is reviewed
and awarded like any application; a confirmed award becomes a pilot region."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.errors import NotAllowed, ValidationFailed
from app.core.tick import run_tick
from app.extensions import db
from app.stations import operations as ops
from app.stations.models import PilotRegion
from tests import factories


def _pilot_applicant(city_code="330784"):
    gov = factories.org("local_government", city_code=city_code)
    return factories.user("applicant", organisation=gov)


def test_pilot_profile_belongs_to_a_pilot_application_of_the_government(session):
    applicant = _pilot_applicant()
    pilot_call = factories.call(kind="pilot")
    from app.applications import operations as apps

    app = apps.create_application(pilot_call, actor=applicant)
    park = ops.create_park("永康测试园区", "330700", actor=None)
    far = ops.create_park("宁波测试园区", "330200", actor=None)
    data = {
        "park_id": park.id,
        "leading_industries": "五金、农机装备",
        "needs": "农机装备关键共性技术",
        "premises": "园区服务中心200平方米",
        "matching_funds_fen": 50_000_000,
        "staff_count": 3,
    }
    with pytest.raises(ValidationFailed):
        ops.save_pilot_profile(app, {**data, "park_id": far.id}, actor=applicant)
    with pytest.raises(ValidationFailed):
        ops.save_pilot_profile(app, {**data, "staff_count": -1}, actor=applicant)
    with pytest.raises(NotAllowed):
        ops.save_pilot_profile(app, data, actor=factories.user("applicant"))
    profile = ops.save_pilot_profile(app, data, actor=applicant)
    assert profile.park_id == park.id and profile.matching_funds_fen == 50_000_000
    society_app = apps.create_application(factories.call(), actor=factories.user("applicant"))
    with pytest.raises(NotAllowed, match="试点"):
        ops.save_pilot_profile(society_app, data, actor=factories.user("applicant"))


def test_confirmed_pilot_award_becomes_a_pilot_region_once(session):
    applicant = _pilot_applicant()
    park = ops.create_park("永康试点园区", "330700", actor=None)
    station = ops.create_station(
        "永康试点服务站（筹）",
        park_id=park.id,
        government_id=applicant.org_id,
        society_id=factories.org("society").id,
        actor=None,
    )
    project_applicant = factories.user("applicant")
    r = factories.confirmed_awards([(applicant, station)], kind="pilot")
    assert r.awards[0].state == "confirmed"
    assert ops.sync_pilot_regions() == 1
    assert ops.sync_pilot_regions() == 0
    assert run_tick()["pilot_regions"] == 0
    region = db.session.scalar(select(PilotRegion))
    assert region.government_id == applicant.org_id and region.park_id == park.id
    assert region.call_id == r.call.id
    assert clock.as_utc(region.selected_at) == clock.as_utc(r.awards[0].confirmed_at)
    # A project call's confirmed awards are no pilot regions.
    factories.confirmed_awards([(project_applicant, factories.station_for(project_applicant.org))])
    assert ops.sync_pilot_regions() == 0
    assert db.session.scalar(select(func.count(PilotRegion.id))) == 1
