"""Station registry: the state machine of STATES.md, the agreement's two confirmations,
and the demonstration-base checklist."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditEvent
from app.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from app.extensions import db
from app.stations import operations as ops
from app.stations.states import STATION_WORKFLOW
from tests import factories

PDF = factories.PDF_BYTES


def _events(action, entity_id):
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.entity_id == str(entity_id)
        )
    ).all()


def test_transition_table_is_exactly_states_md(app):
    table = {a: (set(t.sources), t.target) for a, t in STATION_WORKFLOW.transitions.items()}
    assert table == {
        "establish": ({"planned"}, "established"),
        "start": ({"established"}, "operating"),
        "confirm_base": ({"operating"}, "base"),
        "suspend": ({"operating", "base"}, "suspended"),
        "resume": ({"suspended"}, "operating"),
        "close": ({"planned", "established", "operating", "base", "suspended"}, "closed"),
    }


def test_establishing_needs_the_agreement_confirmed_by_both_sides(session):
    station = factories.station_in("planned")
    officer = station.test_officer
    with pytest.raises(NotAllowed, match="合作协议"):
        ops.advance_station(station, "establish", actor=officer)
    assert station.state == "planned" and station.established_at is None
    ops.upload_document(station, "agreement", io.BytesIO(PDF), "协议.pdf", actor=officer)
    admin = factories.user("society_admin", organisation=station.society)
    ops.confirm_agreement(station, actor=admin)
    with pytest.raises(Conflict):
        ops.confirm_agreement(station, actor=admin)
    with pytest.raises(NotAllowed):
        ops.confirm_agreement(station, actor=factories.user("local_partner"))
    with pytest.raises(NotAllowed, match="双方"):
        ops.advance_station(station, "establish", actor=officer)
    ops.confirm_agreement(
        station, actor=factories.user("local_partner", organisation=station.government)
    )
    ops.advance_station(station, "establish", actor=officer)
    assert station.state == "established" and station.established_at is not None
    assert _events("station.establish", station.id)
    assert [e.after["party"] for e in _events("station.confirm_agreement", station.id)] == [
        "society",
        "government",
    ]


def test_start_needs_rules_plan_and_chief_expert(session):
    station = factories.station_in("established")
    with pytest.raises(NotAllowed, match="管理办法"):
        ops.advance_station(station, "start", actor=station.test_officer)
    assert station.state == "established"


def test_every_state_and_suspend_resume_close(session):
    states = {
        s: factories.station_in(s)
        for s in ("planned", "established", "operating", "base", "suspended", "closed")
    }
    for state, station in states.items():
        assert station.state == state
    officer = states["base"].test_officer
    with pytest.raises(ValidationFailed):
        ops.advance_station(states["base"], "suspend", actor=officer)
    ops.advance_station(states["base"], "suspend", actor=officer, reason="年度评价不合格，整改。")
    ops.advance_station(states["base"], "resume", actor=officer)
    assert states["base"].state == "operating"
    with pytest.raises(InvalidTransition):
        ops.advance_station(states["planned"], "resume", actor=officer)
    ops.advance_station(states["operating"], "close", actor=officer, reason="合作终止。")
    assert states["operating"].closed_at is not None
    with pytest.raises(InvalidTransition):
        ops.advance_station(states["closed"], "close", actor=officer, reason="再次")


def test_base_confirmation_refused_without_every_items_evidence(session):
    station = factories.station_in("operating")
    approver = factories.user("approver")
    criteria = ops.base_criteria()
    for key, *_rest in criteria[:-1]:
        ops.add_base_evidence(
            station, key, io.BytesIO(PDF), f"{key}.pdf", actor=station.test_officer
        )
    with pytest.raises(NotAllowed, match=criteria[-1][1]):
        ops.confirm_base(station, actor=approver)
    assert station.state == "operating" and station.base_at is None
    assert not _events("station.confirm_base", station.id)
    last = criteria[-1][0]
    ops.add_base_evidence(station, last, io.BytesIO(PDF), "last.pdf", actor=station.test_officer)
    with pytest.raises(NotAllowed):
        ops.confirm_base(station, actor=factories.user("applicant", organisation=station.society))
    ops.confirm_base(station, actor=approver)
    assert station.state == "base" and station.base_at is not None
    event = _events("station.confirm_base", station.id)[0]
    assert set(event.after["evidence"]) == {k for k, *_r in criteria}


def test_configured_checklist_is_used(app, session):
    app.config["STATION_BASE_CRITERIA"] = [("only", "唯一条件", "Only item")]
    try:
        station = factories.station_in("operating")
        with pytest.raises(NotAllowed, match="唯一条件"):
            ops.confirm_base(station, actor=factories.user("approver"))
        with pytest.raises(ValidationFailed):
            ops.add_base_evidence(
                station, "premises", io.BytesIO(PDF), "a.pdf", actor=station.test_officer
            )
        ops.add_base_evidence(station, "only", io.BytesIO(PDF), "a.pdf", actor=station.test_officer)
        ops.confirm_base(station, actor=factories.user("approver"))
        assert station.state == "base"
    finally:
        app.config.pop("STATION_BASE_CRITERIA")


def test_partners_and_team(session):
    station = factories.station_in("planned")
    partner = factories.org("society")
    ops.add_partner(station, partner.id, actor=station.test_officer)
    with pytest.raises(Conflict):
        ops.add_partner(station, partner.id, actor=station.test_officer)
    with pytest.raises(ValidationFailed):
        ops.add_partner(station, station.society_id, actor=station.test_officer)
    with pytest.raises(NotAllowed):
        ops.add_partner(station, factories.org("society").id, actor=factories.user("applicant"))
    ops.add_expert(station, {"name": "沈教授", "field": "机械"}, actor=station.test_officer)
    assert [p.society_id for p in station.partners] == [partner.id]
    assert [e.name for e in station.experts] == ["沈教授"]
    event = _events("station.add_expert", station.id)[0]
    assert "沈教授" not in str(event.after)


def test_database_refuses_a_closed_station_without_closed_at(session):
    station = factories.station_in("planned")
    station.state = "closed"
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.flush()
