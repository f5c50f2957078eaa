"""Engagements with independence checks, sheets, submission with grade, acceptance,
rectification to closure."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.applications.models import Application
from app.core import clock
from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.evaluation import operations as ops
from app.evaluation.models import EvaluatorTie, IndependenceCheck
from app.evaluation.permissions import can_view_evaluation
from app.extensions import db
from tests import factories
from tests.evaluation.helpers import (
    evaluating,
    events,
    full_sheet,
    lead_of,
    other_of,
    rubric,
    society_admin,
)

RUBRIC_FILE = Path(__file__).parents[2] / "rubrics" / "assist-performance.toml"


def test_engagement_pins_the_rubric_and_records_every_check(session):
    r = factories.evaluation_projects(2)
    engagement = factories.engagement(r.projects, officer=r.officer, n_evaluators=2)
    assert engagement.rubric_sha256 == hashlib.sha256(RUBRIC_FILE.read_bytes()).hexdigest()
    assert bytes(engagement.rubric_snapshot.content) == RUBRIC_FILE.read_bytes()
    assert engagement.rubric_snapshot.kind == "performance"
    assert [e.state for e in engagement.evaluations] == ["engaged", "engaged"]
    assert sum(m.is_lead for m in engagement.members) == 1
    checks = db.session.scalars(
        select(IndependenceCheck).where(IndependenceCheck.engagement_id == engagement.id)
    ).all()
    assert len(checks) == 2 * (1 + 2)  # the agency and each evaluator, per project
    assert {c.outcome for c in checks} == {"clear"}
    assert (
        events("evaluation_engagement.create", engagement.id)[0].after["independence_checks"] == 6
    )
    assert len(events("evaluation.engage")) >= 2


def test_agency_tied_to_the_project_team_is_refused(session):
    r = factories.evaluation_projects(1)
    app = db.session.get(Application, r.projects[0].application_id)
    team_org = app.team[0]["organisation"]
    agency = factories.org("evaluation_agency", name=team_org)
    with pytest.raises(ValidationFailed) as err:
        factories.engagement(r.projects, officer=r.officer, agency=agency)
    assert "与项目团队成员为同一单位" in " ".join(err.value.details)


def test_evaluator_with_a_tie_to_the_society_is_refused(session):
    r = factories.evaluation_projects(1)
    project = r.projects[0]
    agency = factories.org("evaluation_agency")
    tied = factories.user("evaluator", organisation=agency, name="吴评估")
    db.session.add(EvaluatorTie(user_id=tied.id, org_id=project.society_id, kind="employment"))
    db.session.flush()
    clean = factories.user("evaluator", organisation=agency)
    with pytest.raises(ValidationFailed) as err:
        factories.engagement(
            r.projects,
            officer=r.officer,
            agency=agency,
            n_evaluators=0,
            evaluator_ids=[clean.id, tied.id],
            lead_id=clean.id,
        )
    assert any("吴评估" in d and "雇佣" in d for d in err.value.details)
    # An old employment (beyond the three years) no longer ties.
    db.session.execute(
        EvaluatorTie.__table__.update().values(until=clock.today() - timedelta(days=5 * 366))
    )
    engagement = factories.engagement(
        r.projects,
        officer=r.officer,
        agency=agency,
        n_evaluators=0,
        evaluator_ids=[clean.id, tied.id],
        lead_id=clean.id,
    )
    assert len(engagement.members) == 2


def test_a_tie_declared_before_access_recuses_the_evaluator(session):
    r = factories.evaluation_projects(1)
    engagement = factories.engagement(r.projects, officer=r.officer)
    evaluation = engagement.evaluations[0]
    lead, other = lead_of(engagement), other_of(engagement)
    assert not can_view_evaluation(other, evaluation)  # nothing before the declaration
    app = db.session.get(Application, evaluation.project.application_id)
    member = engagement.member_for(other)
    ops.declare_independence(
        member,
        actor=other,
        statement="声明。",
        ties=[{"org_id": app.co_government_id, "kind": "relative"}],
    )
    assert member.recused_at is not None and not member.may_access
    assert not can_view_evaluation(other, evaluation)
    tie = db.session.scalars(
        select(IndependenceCheck).where(
            IndependenceCheck.user_id == other.id, IndependenceCheck.stage == "declaration"
        )
    ).one()
    assert (tie.outcome, tie.reason) == ("tie", "relative")
    assert events("evaluation_member.recuse", member.id)
    with pytest.raises(NotAllowed):
        ops.declare_independence(engagement.member_for(lead), actor=other, statement="x")
    ops.declare_independence(engagement.member_for(lead), actor=lead, statement="无关联。")
    assert can_view_evaluation(lead, evaluation)


def test_scores_off_the_rubric_range_or_step_are_refused(session):
    _r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    with pytest.raises(ValidationFailed) as err:
        ops.save_sheet(evaluation, "agency", {"project_basis": "6"}, actor=lead)
    assert "0" in " ".join(err.value.details) and "5" in " ".join(err.value.details)
    with pytest.raises(ValidationFailed):
        ops.save_sheet(evaluation, "agency", {"project_basis": "4.3"}, actor=lead)
    with pytest.raises(ValidationFailed):
        ops.save_sheet(evaluation, "agency", {"project_basis": "-1"}, actor=lead)
    with pytest.raises(ValidationFailed):
        ops.save_sheet(evaluation, "agency", {"no_such_key": "1"}, actor=lead)
    ops.save_sheet(evaluation, "agency", {"project_basis": "4.5"}, actor=lead)
    assert ops.sheet_scores(evaluation, "agency")[0] == {"project_basis": "4.5"}


def test_submitting_without_every_required_indicator_is_refused(session):
    _r, engagement, (evaluation,) = evaluating()
    lead, other = lead_of(engagement), other_of(engagement)
    sheet = full_sheet()
    missing = dict(sheet)
    missing.pop("target_achievement")
    ops.save_sheet(evaluation, "agency", missing, actor=other)
    with pytest.raises(ValidationFailed) as err:
        ops.submit_evaluation(evaluation, actor=lead)
    assert any("绩效目标完成率" in d for d in err.value.details)
    # A required criterion cannot be "not applicable" either.
    ops.save_sheet(evaluation, "agency", {**sheet, "target_achievement": None}, actor=other)
    with pytest.raises(ValidationFailed):
        ops.submit_evaluation(evaluation, actor=lead)
    assert evaluation.state == "evaluating"
    ops.save_sheet(evaluation, "agency", sheet, actor=other)
    with pytest.raises(NotAllowed):
        ops.submit_evaluation(evaluation, actor=other)  # only the lead submits
    ops.submit_evaluation(evaluation, actor=lead)
    assert evaluation.state == "submitted" and evaluation.total == "100.00"
    assert evaluation.grade == "excellent"


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        ("100", "excellent"),
        ("90", "excellent"),
        ("89.99", "good"),
        ("80", "good"),
        ("79.99", "fair"),
        ("60", "fair"),
        ("59.99", "poor"),
        ("0", "poor"),
    ],
)
def test_grade_bands(total, grade):
    assert ops.grade_of(rubric(), Decimal(total)) == grade


def test_total_leaves_out_a_not_applicable_criterion_with_its_weight(session):
    _r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    sheet = full_sheet(Decimal("0.8"), na=("satisfaction",))
    ops.save_sheet(evaluation, "agency", sheet, actor=lead)
    ops.submit_evaluation(evaluation, actor=lead)
    points = sum(Decimal(v) for v in sheet.values() if v is not None)
    expected = (100 * points / 93).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert Decimal(evaluation.total) == expected
    assert evaluation.grade == ops.grade_of(rubric(), expected)
    event = events("evaluation.submit", evaluation.id)[0]
    assert event.after["total"] == evaluation.total and event.after["grade"] == evaluation.grade
    assert set(event.after["evidence"]) == set(ops.INDICATORS)


def test_self_evaluation_comes_first_and_needs_a_complete_sheet(session):
    r = factories.evaluation_projects(1)
    engagement = factories.engagement(r.projects, officer=r.officer)
    evaluation = engagement.evaluations[0]
    admin = society_admin(evaluation)
    with pytest.raises(NotAllowed):
        ops.save_sheet(evaluation, "self", {"project_basis": "5"}, actor=admin)  # not asked yet
    ops.request_self_evaluation(evaluation, actor=r.officer)
    ops.save_sheet(evaluation, "self", {"project_basis": "5"}, actor=admin)
    with pytest.raises(ValidationFailed):
        ops.submit_self_evaluation(evaluation, actor=admin)
    stranger = factories.society_admin_of(factories.org())
    with pytest.raises(NotAllowed):
        ops.save_sheet(evaluation, "self", full_sheet(), actor=stranger)
    ops.save_sheet(evaluation, "self", full_sheet(Decimal("0.5")), actor=admin)
    ops.submit_self_evaluation(evaluation, actor=admin)
    assert evaluation.state == "evaluating" and evaluation.self_total is not None
    assert events("evaluation.submit_self_evaluation", evaluation.id)


def test_acceptance_stores_the_grade_and_rectification_runs_to_closure(session):
    import io

    r, engagement, (evaluation,) = evaluating()
    lead, other = lead_of(engagement), other_of(engagement)
    ops.save_sheet(evaluation, "agency", full_sheet(Decimal("0.85")), actor=other)
    first = ops.add_problem(
        evaluation, "配套资金到位不足。", "补足配套资金。", clock.today() + timedelta(days=90),
        actor=other,
    )  # fmt: skip
    second = ops.add_problem(
        evaluation, "台账不完整。", "补齐台账。", clock.today() + timedelta(days=60), actor=lead
    )
    with pytest.raises(ValidationFailed):
        ops.add_problem(evaluation, "过期。", "", clock.today(), actor=lead)
    ops.submit_evaluation(evaluation, actor=lead)
    assert ops.latest_grade(evaluation.project) is None
    admin = society_admin(evaluation)
    with pytest.raises(NotAllowed):
        ops.submit_rectification(first, "已整改。", actor=admin)  # not accepted yet
    with pytest.raises(NotAllowed):
        ops.accept_evaluation(evaluation, actor=lead)
    with pytest.raises(ValidationFailed):
        ops.accept_evaluation(evaluation, actor=r.approver, follow_up="rectify")  # grade 良
    ops.accept_evaluation(evaluation, actor=r.approver)
    assert evaluation.state == "accepted" and evaluation.grade == "good"
    assert ops.latest_grade(evaluation.project) == "good"

    # Submitted without evidence: closing is refused; with evidence it closes.
    ops.submit_rectification(first, "已补足配套资金。", actor=admin)
    assert first.state == "submitted"
    with pytest.raises(NotAllowed, match="佐证"):
        ops.close_item(first, actor=lead)
    with pytest.raises(ValidationFailed):
        ops.reopen_item(first, "", actor=lead)
    ops.reopen_item(first, "请上传到账凭证。", actor=lead)
    assert first.state == "reopened" and first.reopen_count == 1
    ops.add_evidence(first, io.BytesIO(factories.PDF_BYTES), "到账凭证.pdf", actor=admin)
    ops.submit_rectification(first, "已补足配套资金，附到账凭证。", actor=admin)
    with pytest.raises(NotAllowed):
        ops.close_item(first, actor=other)  # not the lead, not the department
    ops.close_item(first, actor=lead)
    assert first.state == "closed" and first.closed_by_id == lead.id
    ops.add_evidence(second, io.BytesIO(factories.PDF_BYTES), "台账.pdf", actor=admin)
    ops.submit_rectification(second, "已补齐。", actor=admin)
    ops.close_item(second, actor=r.officer)
    assert second.state == "closed"
    with pytest.raises(InvalidTransition):
        ops.close_item(second, actor=r.officer)
    assert [e.after["state"] for e in events("rectification.close")] == ["closed", "closed"]


def test_return_needs_a_reason_and_is_final(session):
    r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    ops.save_sheet(evaluation, "agency", full_sheet(Decimal("0.7")), actor=lead)
    ops.submit_evaluation(evaluation, actor=lead)
    with pytest.raises(ValidationFailed):
        ops.return_evaluation(evaluation, " ", actor=r.officer)
    ops.return_evaluation(evaluation, "现场核查记录不完整。", actor=r.officer)
    assert evaluation.state == "returned" and evaluation.decision_reason
    with pytest.raises(InvalidTransition):
        ops.accept_evaluation(evaluation, actor=r.officer)
    # The project may be engaged again once its evaluation is no longer running.
    again = factories.engagement([evaluation.project], officer=r.officer, kind="follow_up")
    assert again.evaluations[0].state == "engaged"


def test_a_running_evaluation_blocks_a_second_engagement(session):
    from app.core.errors import Conflict

    r = factories.evaluation_projects(1)
    factories.engagement(r.projects, officer=r.officer)
    with pytest.raises(Conflict):
        factories.engagement(r.projects, officer=r.officer)


def _failing(kind: str = "midterm"):
    r, engagement, (evaluation,) = evaluating(kind=kind)
    lead = lead_of(engagement)
    ops.save_sheet(evaluation, "agency", full_sheet(Decimal("0.5")), actor=lead)
    ops.add_problem(
        evaluation, "目标完成严重滞后。", "限期赶进度。", clock.today() + timedelta(days=45),
        actor=lead,
    )  # fmt: skip
    ops.submit_evaluation(evaluation, actor=lead)
    assert evaluation.grade == "poor"
    return r, evaluation


def test_a_failing_grade_sends_the_project_to_rectification(session):
    r, evaluation = _failing("midterm")
    ops.accept_evaluation(evaluation, actor=r.officer, follow_up="rectify")
    assert evaluation.follow_up == "rectify" and evaluation.follow_up_applied is True
    project = evaluation.project
    assert project.state == "rectifying"
    assert project.rectify_by == clock.today() + timedelta(days=45)
    assert "目标完成严重滞后" in project.rectify_items
    assert events("evaluation.follow_up", evaluation.id)[0].after["applied"] is True
    assert events("project.rectify", project.id)


def test_a_failing_grade_proposes_a_suspension_for_the_approver(session):
    from app.projects import operations as projects
    from app.projects.models import ProjectDecision

    r, evaluation = _failing("follow_up")
    ops.accept_evaluation(evaluation, actor=r.officer, follow_up="suspend")
    assert evaluation.follow_up_applied is True
    decision = db.session.scalars(
        select(ProjectDecision).where(ProjectDecision.project_id == evaluation.project_id)
    ).one()
    assert (decision.kind, decision.state) == ("suspend", "proposed")
    projects.decide_decision(decision, True, "同意暂停。", actor=r.approver)
    assert evaluation.project.state == "suspended"


def test_a_follow_up_the_projects_workflow_cannot_take_is_recorded(session):
    r, evaluation = _failing("follow_up")  # not a mid-term engagement: no mid-term check
    ops.accept_evaluation(evaluation, actor=r.officer, follow_up="rectify")
    assert evaluation.follow_up == "rectify" and evaluation.follow_up_applied is False
    assert evaluation.project.state == "in_progress"
    assert events("evaluation.follow_up", evaluation.id)[0].after["applied"] is False
