"""The needs board: who may post, screening, proposals, matching to a project of the
same station only, closing with a satisfaction score, search."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.extensions import db
from app.stations import needs as ops
from app.stations import operations as stations
from app.stations.models import Need
from app.stations.states import NEED_WORKFLOW
from tests import factories

NEED = {
    "kind": "key_tech",
    "industry": "五金制造",
    "title": "电动工具电机温升控制",
    "description": "园区企业电动工具电机温升过高，需要专家团队攻关。",
    "urgency": "high",
    "contact_name": "徐经理",
    "contact_phone": "13800001111",
}


def _enterprise_in(park):
    company = factories.org("enterprise", city_code=park.city_code)
    stations.link_enterprise(company.id, park.id, actor=None)
    return factories.user("enterprise", organisation=company)


def _funded(station):
    """A confirmed project of ``station`` (its lead society's application)."""
    applicant = factories.user("applicant", organisation=station.society)
    r = factories.confirmed_awards([(applicant, station)])
    return r.awards[0].id


def test_transition_table_is_exactly_states_md(app):
    table = {a: (set(t.sources), t.target) for a, t in NEED_WORKFLOW.transitions.items()}
    assert table == {
        "screen": ({"posted"}, "screened"),
        "not_accept": ({"posted"}, "not_accepted"),
        "match": ({"screened"}, "matched"),
        "start": ({"matched"}, "in_progress"),
        "solve": ({"in_progress"}, "solved"),
        "close": ({"solved"}, "closed"),
    }


def test_posting_is_refused_to_whoever_does_not_belong_to_the_station(session):
    station = factories.station_in("operating")
    other = factories.station_in("operating")
    outsider = _enterprise_in(other.park)
    before = db.session.scalar(select(func.count(Need.id)))
    with pytest.raises(NotAllowed, match="园区"):
        ops.post_need(station, NEED, actor=outsider)
    with pytest.raises(NotAllowed):
        ops.post_need(station, NEED, actor=factories.user("local_partner"))
    with pytest.raises(NotAllowed):
        ops.post_need(factories.station_in("planned"), NEED, actor=factories.user("officer"))
    assert db.session.scalar(select(func.count(Need.id))) == before
    need = ops.post_need(station, NEED, actor=_enterprise_in(station.park))
    gov_user = factories.user("local_partner", organisation=station.government)
    ops.post_need(station, {**NEED, "kind": "strategy"}, actor=gov_user)
    with pytest.raises(ValidationFailed):
        ops.post_need(station, {**NEED, "kind": "x"}, actor=gov_user)
    assert need.state == "posted"
    from app.audit.models import AuditEvent

    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "need.post", AuditEvent.entity_id == str(need.id)
        )
    )
    assert "13800001111" not in str(event.after) and "徐经理" not in str(event.after)


def test_full_path_and_a_project_of_another_station_is_refused(session):
    station = factories.station_in("operating")
    other = factories.station_in("operating")
    mine, theirs = _funded(station), _funded(other)
    requester = _enterprise_in(station.park)
    need = ops.post_need(station, NEED, actor=requester)
    lead = factories.user("society_admin", organisation=station.society)
    with pytest.raises(NotAllowed):
        ops.screen_need(need, True, actor=factories.user("applicant"))
    ops.screen_need(need, True, actor=lead)
    responder = factories.user("applicant")
    proposal = ops.propose(
        need,
        {"content": "派出电机专家团队驻厂攻关。", "experts": [{"name": "沈教授"}]},
        actor=responder,
    )
    with pytest.raises(ValidationFailed):
        ops.propose(need, {"content": "方案", "experts": []}, actor=factories.user("applicant"))
    with pytest.raises(ValidationFailed, match="本服务站"):
        ops.match_need(need, theirs, actor=lead)
    assert need.state == "screened" and need.project_id is None
    ops.match_need(need, mine, actor=lead, proposal_id=proposal.id)
    assert need.state == "matched" and need.project_id == mine and proposal.is_selected
    ops.advance_need(need, "start", actor=lead)
    ops.advance_need(need, "solve", actor=lead)
    with pytest.raises(NotAllowed):
        ops.close_need(need, "已解决", 5, actor=lead)
    with pytest.raises(ValidationFailed):
        ops.close_need(need, "已解决", 6, actor=requester)
    with pytest.raises(ValidationFailed):
        ops.close_need(need, " ", 4, actor=requester)
    ops.close_need(need, "温升降低12℃，已批量应用。", 4, actor=requester)
    assert need.state == "closed" and need.satisfaction == 4 and need.solved_at


def test_refusal_needs_a_reason_and_is_final(session):
    station = factories.station_in("operating")
    need = ops.post_need(station, NEED, actor=_enterprise_in(station.park))
    officer = factories.user("officer")
    with pytest.raises(ValidationFailed):
        ops.screen_need(need, False, actor=officer)
    assert need.state == "posted" and need.screened_at is None
    ops.screen_need(need, False, actor=officer, reason="不属于服务站服务范围。")
    assert need.state == "not_accepted"
    with pytest.raises(InvalidTransition):
        ops.screen_need(need, True, actor=officer)


def test_search_by_industry_kind_city_and_state(session):
    hz = factories.station_in("operating", city_code="330100")
    jh = factories.station_in("operating", city_code="330700")
    a = ops.post_need(hz, NEED, actor=_enterprise_in(hz.park))
    b = ops.post_need(
        jh, {**NEED, "industry": "农机装备", "kind": "training"}, actor=_enterprise_in(jh.park)
    )
    ops.screen_need(b, True, actor=factories.user("officer"))

    def ids(**kw):
        return [n.id for n in db.session.scalars(ops.search_needs(**kw)) if n.id in (a.id, b.id)]

    assert ids(industry="农机") == [b.id]
    assert ids(kind="key_tech") == [a.id]
    assert ids(city="330100") == [a.id]
    assert ids(state="screened") == [b.id]
    assert ids() == [b.id, a.id]
