"""Proposals, four-eyes approval committing money, caps, publishing decisions together."""

from __future__ import annotations

import pytest

from app.awards import operations as ops
from app.awards.models import Award, NotFundedDecision
from app.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from app.core.models import Notification
from app.extensions import db
from app.ledger.operations import call_code, grant_code
from tests import factories
from tests.awards.helpers import audit_and_ledger_ok, balance, events


def test_propose_and_approve_commits_the_money(session):
    r = factories.reviewed_call(1)
    app = r.apps[0]
    award = ops.propose_award(app, 4_000_000, "集体研究同意立项。", actor=r.officer)
    assert award.state == "proposed" and app.state == "proposed"
    assert app.state_label(factories.user("applicant")) == "评审中"
    before = balance(call_code(r.call.id))
    ops.approve_award(award, actor=r.approver)
    assert award.state == "approved" and award.approved_by_id == r.approver.id
    assert balance(call_code(r.call.id)) == before - 4_000_000
    assert balance(grant_code(award.id, "committed")) == 4_000_000
    assert [e.after["state"] for e in events("award.approve", award.id)] == ["approved"]
    assert events("award.propose", award.id)[0].after["amount_fen"] == 4_000_000
    assert events("ledger.commit")[-1].after["grant_id"] == award.id
    audit_and_ledger_ok()


def test_proposer_cannot_approve_and_nothing_is_written(session):
    r = factories.reviewed_call(1)
    both = factories.user("officer", "approver")
    award = ops.propose_award(r.apps[0], 4_000_000, "同意。", actor=both)
    before = balance(call_code(r.call.id))
    n_events = len(events("ledger.commit"))
    with pytest.raises(NotAllowed, match="双人复核"):
        ops.approve_award(award, actor=both)
    assert award.state == "proposed" and award.approved_at is None
    assert balance(call_code(r.call.id)) == before
    assert len(events("ledger.commit")) == n_events
    with pytest.raises(NotAllowed):
        ops.approve_award(award, actor=r.officer)  # an officer is no approver


def test_second_approval_is_refused(session):
    r = factories.reviewed_call(1)
    award = ops.propose_award(r.apps[0], 4_000_000, "同意。", actor=r.officer)
    ops.approve_award(award, actor=r.approver)
    with pytest.raises(InvalidTransition, match="不能重复审批"):
        ops.approve_award(award, actor=r.approver2)
    assert balance(grant_code(award.id, "committed")) == 4_000_000
    assert len(events("award.approve", award.id)) == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [(4_400_001, "超过申请金额"), (0, "大于零"), (-5, "大于零")],
)
def test_amounts_over_requested_or_not_positive_are_refused(session, amount, message):
    r = factories.reviewed_call(1)
    with pytest.raises(ValidationFailed, match=message):
        ops.propose_award(r.apps[0], amount, "同意。", actor=r.officer)
    assert db.session.query(Award).count() == 0 and r.apps[0].state == "reviewed"


def test_amount_over_the_per_project_cap_is_refused(session):
    r = factories.reviewed_call(1)
    r.call.project_cap_fen = 4_000_000  # as if lowered by an amendment after submission
    with pytest.raises(ValidationFailed, match="单项资助上限"):
        ops.propose_award(r.apps[0], 4_100_000, "同意。", actor=r.officer)
    award = ops.propose_award(r.apps[0], 4_000_000, "同意。", actor=r.officer)
    with pytest.raises(ValidationFailed, match="单项资助上限"):
        ops.amend_proposal(award, 4_400_000, "调整。", actor=r.officer)


def test_approval_beyond_the_call_budget_gets_the_clear_message(session):
    r = factories.reviewed_call(3, total_budget_fen=10_000_000, project_cap_fen=10_000_000)
    awards = [ops.propose_award(a, 4_400_000, "同意。", actor=r.officer) for a in r.apps]
    ops.approve_award(awards[0], actor=r.approver)
    ops.approve_award(awards[1], actor=r.approver)
    with pytest.raises(Conflict, match="余额不足") as err:
        ops.approve_award(awards[2], actor=r.approver)
    assert "12,000.00 元" in err.value.message and "44,000.00 元" in err.value.message
    db.session.expire_all()
    assert db.session.get(Award, awards[2].id).state == "proposed"
    assert balance(call_code(r.call.id)) == 1_200_000


def test_only_officers_propose_and_only_reviewed_applications(session):
    r = factories.reviewed_call(1)
    with pytest.raises(NotAllowed):
        ops.propose_award(r.apps[0], 1_000_000, "同意。", actor=r.approver)
    with pytest.raises(ValidationFailed, match="决定说明"):
        ops.propose_award(r.apps[0], 1_000_000, " ", actor=r.officer)
    other = factories.accepted(factories.call())
    with pytest.raises(InvalidTransition):
        ops.propose_award(other, 1_000_000, "同意。", actor=r.officer)


def test_decisions_are_released_only_together(session):
    r = factories.reviewed_call(3)
    a, b, c = r.apps
    award = ops.propose_award(a, 4_400_000, "同意。", actor=r.officer)
    nf = ops.mark_not_funded(b, "排名靠后。", actor=r.officer)
    # Marked not funded, but nothing is released yet: the applicant sees 评审中, no message.
    assert b.state == "reviewed" and nf.published_at is None
    assert db.session.query(Notification).filter_by(user_id=b.created_by_id).count() == 0
    with pytest.raises(ValidationFailed) as err:
        ops.publish_decisions(r.call, actor=r.officer)
    assert any(c.project_number in d for d in err.value.details)
    assert any("尚未审批" in d for d in err.value.details)
    ops.mark_not_funded(c, "不符合重点支持方向。", actor=r.officer)
    ops.approve_award(award, actor=r.approver)
    notice = ops.publish_decisions(r.call, actor=r.officer)
    assert r.call.state == "notice" and award.state == "in_notice"
    assert award.notice_id == notice.id and notice.days == 5
    assert b.state == "not_funded" and c.state == "not_funded"
    assert nf.published_at is not None and "排名靠后" in nf.comments
    sent = db.session.query(Notification).filter_by(user_id=b.created_by_id).all()
    assert len(sent) == 1 and "未获立项" in sent[0].body
    assert events("call.start_notice", r.call.id)
    assert events("award.publish", award.id)
    assert len(events("application.not_fund")) == 2


def test_not_funded_comments_are_aggregated_without_identities(session):
    from app.reviews import operations as reviews

    rr = factories.review_round(n_apps=1, n_experts=3)
    rows = reviews.confirm_draw(
        reviews.run_draw(rr.call, actor=rr.officer, seed=2), actor=rr.officer
    )
    keys = ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")
    for i, row in enumerate(rows):
        reviews.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
        reviews.submit_sheet(
            row,
            {"scores": {k: "6" for k in keys}, "overall_comment": f"意见{i}：创新性不足。"},
            actor=row.expert.user,
        )
    from datetime import timedelta

    from app.calls import operations as calls
    from app.core import clock

    with clock.frozen(clock.as_utc(rr.call.closes_at) + timedelta(seconds=1)):
        calls.open_and_close_calls()
    calls.advance_call(rr.call, "start_review", actor=rr.officer)
    reviews.finish_round(rr.call, actor=rr.officer)
    app = rr.apps[0]
    decision = ops.mark_not_funded(app, "综合评分未达立项线。", actor=rr.officer)
    assert decision.score == "60.00" and decision.rank == 1
    ops.publish_decisions(rr.call, actor=rr.officer)
    text = decision.comments
    assert "意见0：创新性不足。" in text and "意见2：创新性不足。" in text
    for row in rows:
        assert row.expert.user.name not in text
    assert rr.call.state == "decided"  # nothing to notice: settled at once


def test_unpublished_not_funded_can_become_a_proposal(session):
    r = factories.reviewed_call(1)
    ops.mark_not_funded(r.apps[0], "排名靠后。", actor=r.officer)
    ops.propose_award(r.apps[0], 1_000_000, "复议后同意。", actor=r.officer)
    assert db.session.query(NotFundedDecision).count() == 0
