"""Issue 12 follow-ups: the 差-grade block in the applications module (create, submit,
eligibility check, override), pilot applications without a station, the draft form's
choices, who sees a station, an enterprise's park page, xlsx exports and notifications."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.applications import operations as apps
from app.core import clock
from app.core.errors import NotAllowed, ValidationFailed
from app.core.models import Notification
from app.extensions import db
from app.stations import needs, reporting
from app.stations import operations as ops
from app.stations.notices import remind_reports_due
from tests import factories
from tests.conftest import login, post
from tests.stations.test_needs import NEED, _enterprise_in, _funded
from tests.stations.test_reporting import COUNTS, FULL


def _poor(station):
    lead = factories.user("applicant", organisation=station.society)
    reporting.submit_report(station, 2025, COUNTS, actor=lead)
    low = {k: 0 for k in FULL}
    low["station_conditions"] = 8
    row = reporting.evaluate_station(station, 2025, low, actor=factories.station_evaluator(station))
    assert row.grade == "poor"
    return row


def _notes(user) -> list[str]:
    return list(
        db.session.scalars(select(Notification.subject).where(Notification.user_id == user.id))
    )


# --- the 差-grade block in the applications module ---------------------------------------


def test_poor_grade_blocks_create_submit_and_acceptance_until_overridden(session):
    society = factories.org("society")
    applicant = factories.user("applicant", organisation=society)
    call = factories.call()
    draft = factories.application(call, applicant)
    endorsed = factories.endorsed(factories.call(), applicant)
    evaluation = _poor(factories.station_in("operating", society=society))
    with pytest.raises(NotAllowed, match="绩效评价为“差”"):
        apps.create_application(factories.call(), actor=applicant)
    with pytest.raises(NotAllowed, match="绩效评价为“差”"):
        apps.submit_application(draft, actor=applicant)
    assert draft.state == "draft"
    officer = factories.user("officer")
    with pytest.raises(NotAllowed, match="绩效评价为“差”"):
        apps.check_application(endorsed, "accept", actor=officer)
    assert endorsed.state == "endorsed"
    # Returning is still possible: only acceptance funds the society.
    reporting.override_block(evaluation, "已整改并通过复查。", actor=factories.user("approver"))
    assert apps.create_application(factories.call(), actor=applicant).state == "draft"
    apps.submit_application(draft, actor=applicant)
    assert draft.state == "submitted"
    apps.check_application(endorsed, "accept", actor=officer)
    assert endorsed.state == "accepted"


def _pilot_draft(gov_applicant, lead_society=None):
    pilot_call = factories.call(kind="pilot")
    row = apps.create_application(pilot_call, actor=gov_applicant)
    park = ops.create_park(f"试点园区{row.id}", "330700", actor=None)
    station = factories.station_in("planned", park=park)
    data = factories.application_data(
        station, station_id=None, co_government_id=gov_applicant.org_id
    )
    apps.save_draft(row, data, actor=gov_applicant, expected_version=row.version)
    for kind in pilot_call.required_attachments:
        apps.add_attachment(
            row, kind["key"], io.BytesIO(factories.PDF_BYTES), "a.pdf", actor=gov_applicant
        )
    profile = {"park_id": park.id, "matching_funds_fen": 0, "staff_count": 1}
    if lead_society is not None:
        profile["lead_society_id"] = lead_society.id
    ops.save_pilot_profile(row, profile, actor=gov_applicant)
    return row


def test_pilot_application_needs_no_station_and_is_blocked_by_its_lead_society(session):
    gov = factories.org("local_government", city_code="330784")
    gov_applicant = factories.user("applicant", organisation=gov)
    row = _pilot_draft(gov_applicant)
    assert row.station_id is None
    assert not any("服务站" in p for p in apps.completeness_problems(row))
    apps.submit_application(row, actor=gov_applicant)
    assert row.state == "submitted"
    society = factories.org("society")
    blocked = _pilot_draft(gov_applicant, lead_society=society)
    _poor(factories.station_in("operating", society=society))
    with pytest.raises(NotAllowed, match="差"):
        apps.submit_application(blocked, actor=gov_applicant)


def test_project_application_still_needs_a_station_of_its_society(session):
    applicant = factories.user("applicant")
    row = factories.application(factories.call(), applicant)
    other = factories.station_for(factories.org("society"))
    with pytest.raises(ValidationFailed) as err:
        apps.save_draft(
            row,
            factories.application_data(other),
            actor=applicant,
            expected_version=row.version,
        )
    assert any("牵头或参与共建" in d for d in [err.value.message, *err.value.details])
    row.station_id = None
    assert "请选择学会服务站。" in apps.completeness_problems(row)


def test_draft_page_offers_only_the_societys_stations(client, session):
    applicant = factories.user("applicant")
    row = factories.application(factories.call(), applicant)
    mine = row.station_id
    other = factories.station_for(factories.org("society"))
    login(client, applicant)
    page = client.get(f"/applications/{row.id}/edit").get_data(as_text=True)
    assert f'value="{mine}"' in page
    assert other.name not in page and other.park.name not in page
    assert other.government.name not in page


# --- who sees a station ------------------------------------------------------------------


def test_station_visible_to_its_parties_park_enterprises_and_engaged_evaluators(client, session):
    station = factories.station_in("operating")
    insiders = [
        factories.user("applicant", organisation=station.society),
        factories.user("local_partner", organisation=station.government),
        _enterprise_in(station.park),
        factories.station_evaluator(station),
        factories.user("auditor"),
    ]
    outsiders = [
        factories.user("applicant"),
        factories.user("local_partner", organisation=factories.org("local_government")),
        _enterprise_in(factories.station_in("operating").park),
        factories.user("evaluator"),
    ]
    for user in insiders + outsiders:
        login(client, user)
        got = client.get(f"/stations/{station.id}").status_code
        listed = station.name in client.get("/stations").get_data(as_text=True)
        want = user in insiders
        assert (got, listed) == ((200, True) if want else (404, False)), user.email
        post(client, "/logout")
    evaluator = factories.user("evaluator")
    reporting.submit_report(station, 2025, COUNTS, actor=insiders[0])
    with pytest.raises(NotAllowed, match="委托"):
        reporting.evaluate_station(station, 2025, FULL, actor=evaluator)


def test_enterprise_park_page_lists_its_stations_and_posts_only_there(client, session):
    station = factories.station_in("operating")
    elsewhere = factories.station_in("operating")
    company = _enterprise_in(station.park)
    login(client, company)
    page = client.get("/my/park").get_data(as_text=True)
    assert station.park.name in page and station.name in page and elsewhere.name not in page
    before = db.session.scalar(select(func.count()).select_from(needs.Need))
    assert post(client, f"/stations/{elsewhere.id}/needs/new", NEED).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(needs.Need)) == before
    with pytest.raises(NotAllowed, match="不在该服务站所在园区"):
        needs.post_need(elsewhere, NEED, actor=company)
    response = post(client, f"/stations/{station.id}/needs/new", NEED)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(needs.Need)) == before + 1


# --- exports -----------------------------------------------------------------------------


def _sheet(data: bytes, name: str = "明细") -> list[list]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return [list(r) for r in book[name].iter_rows(values_only=True)]


def test_station_needs_and_report_exports(client, session):
    station = factories.station_in("operating")
    company = _enterprise_in(station.park)
    needs.post_need(station, NEED, actor=company)
    needs.post_need(station, {**NEED, "kind": "talent", "industry": "新材料"}, actor=company)
    lead = factories.user("applicant", organisation=station.society)
    reporting.submit_report(station, 2025, COUNTS, actor=lead)
    login(client, factories.user("officer"))
    response = post(client, "/stations/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    assert any(r[1] == station.name for r in _sheet(response.data))
    rows = _sheet(post(client, "/needs/export.xlsx", {"industry": "新材料"}).data)
    titled = [r for r in rows if r and r[0] is not None and isinstance(r[0], int)]
    assert len(titled) == 1 and titled[0][3] == "新材料"
    assert "新材料" in str(rows[0][0])
    rows = _sheet(post(client, "/stations/reports/export.xlsx").data)
    mine = [r for r in rows if r and r[0] == station.name]
    assert mine and mine[0][1] == 2025 and mine[0][2] == COUNTS["needs_collected"]
    # An outsider's registry export does not list the station.
    post(client, "/logout")
    login(client, factories.user("applicant"))
    assert station.name not in str(_sheet(post(client, "/stations/export.xlsx").data))


# --- notifications -----------------------------------------------------------------------


def test_need_lifecycle_notifies_requester_and_societies(session):
    station = factories.station_in("operating")
    project_id = _funded(station)
    company = _enterprise_in(station.park)
    lead = factories.user("society_admin", organisation=station.society)
    need = needs.post_need(station, NEED, actor=company)
    officer = factories.user("officer")
    needs.screen_need(need, True, actor=officer)
    assert "您发布的需求已通过审核" in _notes(company)
    responder = factories.user("applicant")
    proposal = needs.propose(
        need, {"content": "派专家攻关", "experts": [{"name": "王教授"}]}, actor=responder
    )
    assert "需求收到对接方案" in _notes(company) and "需求收到对接方案" in _notes(lead)
    needs.match_need(need, project_id, actor=officer, proposal_id=proposal.id)
    assert "需求已对接项目" in _notes(company) and "需求已对接项目" in _notes(responder)
    needs.advance_need(need, "start", actor=officer)
    needs.advance_need(need, "solve", actor=officer)
    needs.close_need(need, "温升问题已解决", 5, actor=company)
    assert "需求已关闭" in _notes(lead) and "需求已关闭" in _notes(responder)


def test_base_evaluation_and_report_due_notices(session):
    base = factories.station_in("base")
    lead = factories.user("applicant", organisation=base.society)
    assert "服务站已认定为示范基地" not in _notes(lead)  # the user came after
    station = factories.station_in("operating")
    lead = factories.user("applicant", organisation=station.society)
    established = clock.as_utc(station.established_at)
    with clock.frozen(established.replace(year=established.year + 1, month=2, day=1)):
        assert remind_reports_due() >= 1
        assert remind_reports_due() == 0  # once per station and year
    assert "请报送服务站年度报告" in _notes(lead)
    _poor(station)
    assert "服务站年度绩效评价结果" in _notes(lead)
    gov_user = factories.user("local_partner", organisation=base.government)
    assert gov_user  # the base notice went to those who were there (covered below)
    other = factories.station_in("operating")
    watcher = factories.user("applicant", organisation=other.society)
    for key, *_rest in ops.base_criteria():
        ops.add_base_evidence(
            other, key, io.BytesIO(factories.PDF_BYTES), f"{key}.pdf", actor=other.test_officer
        )
    ops.confirm_base(other, actor=factories.user("approver"))
    assert "服务站已认定为示范基地" in _notes(watcher)
