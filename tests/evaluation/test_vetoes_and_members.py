"""Veto items on the agency sheet cap the grade; evaluators added or removed after the
engagement is made, independence checked again."""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.evaluation import operations as ops
from app.evaluation.models import EngagementMember, EvaluationVeto, EvaluatorTie, IndependenceCheck
from app.evaluation.permissions import can_view_evaluation
from app.extensions import db
from tests import factories
from tests.conftest import login, post
from tests.evaluation.helpers import evaluating, events, full_sheet, lead_of, other_of, rubric

VETO = "serious_violation"


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True,
                         check=True)  # fmt: skip
    return out.stdout.decode()


# --- veto items ---


def test_the_shipped_performance_rubric_has_a_veto_and_the_cap_is_its_lowest_band():
    assert VETO in rubric().veto_keys
    assert ops.veto_cap(rubric()) == "poor"
    assert ops.capped_grade(rubric(), "excellent", True) == "poor"
    assert ops.capped_grade(rubric(), "good", False) == "good"
    assert ops.capped_grade(rubric(), "poor", True) == "poor"


def test_a_veto_without_a_reason_is_refused_and_nothing_is_saved(session):
    _r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    with pytest.raises(ValidationFailed) as err:
        ops.save_sheet(evaluation, "agency", full_sheet(), {}, {VETO: "  "}, actor=lead)
    assert "否决" in " ".join(err.value.details)
    assert evaluation.sheet("agency") == {}
    assert db.session.scalars(select(EvaluationVeto)).all() == []
    with pytest.raises(ValidationFailed):
        ops.save_sheet(evaluation, "agency", full_sheet(), {}, {"made_up": "x"}, actor=lead)


def test_a_raised_veto_caps_the_grade_and_is_kept_with_the_evaluation(session):
    r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    ops.save_sheet(
        evaluation, "agency", full_sheet(), {}, {VETO: "挪用专项经费 12 万元。"}, actor=lead
    )
    assert ops.evaluation_vetoes(evaluation) == {VETO: "挪用专项经费 12 万元。"}
    assert events("evaluation.save_agency_sheet", evaluation.id)[-1].after["vetoes"] == [VETO]
    # Saving the scores again without touching the vetoes (None) keeps them.
    ops.save_sheet(evaluation, "agency", full_sheet(), actor=lead)
    assert ops.evaluation_vetoes(evaluation) == {VETO: "挪用专项经费 12 万元。"}
    ops.submit_evaluation(evaluation, actor=lead)
    assert evaluation.total == "100.00"
    assert (evaluation.grade, evaluation.grade_before_veto) == ("poor", "excellent")
    event = events("evaluation.submit", evaluation.id)[-1]
    assert event.after["vetoes"] == [VETO] and event.after["grade"] == "poor"
    # A capped 差 may carry a follow-up like any failing grade.
    ops.accept_evaluation(evaluation, actor=r.officer, follow_up="rectify")
    assert evaluation.follow_up == "rectify"


def test_a_veto_taken_back_before_submission_leaves_the_grade_alone(session):
    _r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    ops.save_sheet(evaluation, "agency", full_sheet(), {}, {VETO: "疑似重复申报。"}, actor=lead)
    ops.save_sheet(evaluation, "agency", full_sheet(), {}, {}, actor=lead)
    assert ops.evaluation_vetoes(evaluation) == {}
    ops.submit_evaluation(evaluation, actor=lead)
    assert (evaluation.grade, evaluation.grade_before_veto) == ("excellent", None)


def test_the_society_cannot_raise_a_veto_on_its_self_evaluation(session):
    r = factories.evaluation_projects(1)
    engagement = factories.engagement(r.projects, officer=r.officer)
    evaluation = engagement.evaluations[0]
    ops.request_self_evaluation(evaluation, actor=r.officer)
    from tests.evaluation.helpers import society_admin

    with pytest.raises(ValidationFailed):
        ops.save_sheet(
            evaluation, "self", full_sheet(), {}, {VETO: "x"}, actor=society_admin(evaluation)
        )


def test_the_sheet_page_shows_vetoes_and_the_report_names_them(client, session):
    r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    login(client, lead)
    page = client.get(f"/evaluations/{evaluation.id}").get_data(as_text=True)
    assert f'name="veto-{VETO}"' in page and "否决项（一票否决）" in page
    form = {f"score-{k}": v for k, v in full_sheet().items()}
    bad = post(client, f"/evaluations/{evaluation.id}/sheet", {**form, f"veto-{VETO}": "1"})
    assert bad.status_code == 303
    assert evaluation.sheet("agency") == {}  # refused whole: no reason for the veto
    ok = post(
        client,
        f"/evaluations/{evaluation.id}/sheet",
        {**form, f"veto-{VETO}": "1", f"veto_reason-{VETO}": "挪用专项经费。"},
    )
    assert ok.status_code == 303
    db.session.expire_all()
    assert ops.evaluation_vetoes(evaluation) == {VETO: "挪用专项经费。"}
    assert post(client, f"/evaluations/{evaluation.id}/submit", {}).status_code == 303
    db.session.expire_all()
    assert evaluation.grade == "poor"
    page = client.get(f"/evaluations/{evaluation.id}").get_data(as_text=True)
    assert "因否决项由“优”降为“差”" in page and "挪用专项经费。" in page
    login(client, r.officer)
    text = _pdf_text(client.get(f"/evaluations/{evaluation.id}/report.pdf").data)
    assert "否决项" in text and "挪用专项经费" in text and "降级" in text


# --- evaluators added and removed ---


def test_an_evaluator_added_later_is_checked_and_must_declare(session):
    r, engagement, (evaluation,) = evaluating()
    newcomer = factories.user("evaluator", organisation=engagement.agency)
    (member,) = ops.add_evaluators(engagement, [newcomer.id], actor=r.officer)
    assert not member.is_lead and member.declared_at is None
    assert not can_view_evaluation(newcomer, evaluation)
    checks = db.session.scalars(
        select(IndependenceCheck).where(IndependenceCheck.user_id == newcomer.id)
    ).all()
    assert [(c.project_id, c.outcome, c.stage) for c in checks] == [
        (evaluation.project_id, "clear", "engagement")
    ]
    assert events("evaluation_member.add", member.id)[0].after["user_id"] == newcomer.id
    ops.declare_independence(member, actor=newcomer, statement="无关联。")
    assert can_view_evaluation(newcomer, evaluation)


def test_adding_a_tied_or_foreign_evaluator_is_refused_whole(session):
    r, engagement, (evaluation,) = evaluating()
    tied = factories.user("evaluator", organisation=engagement.agency, name="钱关联")
    db.session.add(
        EvaluatorTie(user_id=tied.id, org_id=evaluation.project.society_id, kind="employment")
    )
    clean = factories.user("evaluator", organisation=engagement.agency)
    before = len(engagement.members)
    with pytest.raises(ValidationFailed) as err:
        ops.add_evaluators(engagement, [clean.id, tied.id], actor=r.officer)
    assert "钱关联" in " ".join(err.value.details)
    elsewhere = factories.user("evaluator")
    with pytest.raises(ValidationFailed):
        ops.add_evaluators(engagement, [elsewhere.id], actor=r.officer)
    with pytest.raises(ValidationFailed):
        ops.add_evaluators(engagement, [lead_of(engagement).id], actor=r.officer)
    with pytest.raises(NotAllowed):
        ops.add_evaluators(engagement, [clean.id], actor=lead_of(engagement))
    db.session.expire(engagement, ["members"])
    assert len(engagement.members) == before


def test_no_evaluator_joins_once_every_evaluation_is_submitted(session):
    r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    ops.save_sheet(evaluation, "agency", full_sheet(Decimal("0.8")), actor=lead)
    ops.submit_evaluation(evaluation, actor=lead)
    newcomer = factories.user("evaluator", organisation=engagement.agency)
    with pytest.raises(Conflict):
        ops.add_evaluators(engagement, [newcomer.id], actor=r.officer)


def test_only_an_evaluator_who_has_not_started_is_removed(session):
    r, engagement, (evaluation,) = evaluating()
    other = other_of(engagement)
    member = engagement.member_for(other)
    member_id = member.id
    with pytest.raises(ValidationFailed):
        ops.remove_evaluator(member, "", actor=r.officer)
    with pytest.raises(ValidationFailed):
        ops.remove_evaluator(engagement.member_for(lead_of(engagement)), "换人", actor=r.officer)
    scores = full_sheet()
    first = next(iter(scores))
    ops.save_sheet(evaluation, "agency", {first: scores[first]}, actor=other)
    with pytest.raises(ValidationFailed) as err:
        ops.remove_evaluator(member, "另有安排", actor=r.officer)
    assert "已开始评价" in err.value.message
    # The lead overwrites the sheet: the other evaluator's work is gone, they may leave.
    ops.save_sheet(evaluation, "agency", {first: scores[first]}, actor=lead_of(engagement))
    ops.remove_evaluator(member, "另有安排", actor=r.officer)
    assert db.session.get(EngagementMember, member_id) is None
    assert engagement.member_for(other) is None
    assert not can_view_evaluation(other, evaluation)
    event = events("evaluation_member.remove", member_id)[0]
    assert event.reason == "另有安排" and event.before["user_id"] == other.id
    # Their independence checks stay on record.
    assert db.session.scalars(
        select(IndependenceCheck).where(IndependenceCheck.user_id == other.id)
    ).all()


def test_engagement_page_adds_and_removes_evaluators(client, session):
    r, engagement, (_evaluation,) = evaluating()
    newcomer = factories.user("evaluator", organisation=engagement.agency, name="孙新增")
    login(client, r.officer)
    page = client.get(f"/evaluations/engagements/{engagement.id}").get_data(as_text=True)
    assert "孙新增" in page and "增加评价人员" in page
    url = f"/evaluations/engagements/{engagement.id}/members"
    assert post(client, url, {"evaluator_ids": str(newcomer.id)}).status_code == 303
    db.session.expire_all()
    member = engagement.member_for(newcomer)
    assert member is not None
    remove = f"/evaluations/engagements/members/{member.id}/remove"
    assert post(client, remove, {"reason": "人员调整"}).status_code == 303
    db.session.expire_all()
    assert engagement.member_for(newcomer) is None
    # The page still names the removed evaluator's kept checks.
    page = client.get(f"/evaluations/engagements/{engagement.id}")
    assert page.status_code == 200 and "孙新增" in page.get_data(as_text=True)
    # An evaluator cannot reach the officer's routes.
    login(client, lead_of(engagement))
    assert post(client, url, {"evaluator_ids": str(newcomer.id)}).status_code == 403
