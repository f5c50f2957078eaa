"""Withdrawal of unpublished awards (DECOMMIT once approved), the two new outcomes of an
overturned reconsideration (back to review, or to a proposed award), and the notice
period counted in working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.applications.models import Application, Revision
from app.awards import operations as ops
from app.awards.models import Award
from app.calls.rules import validate_rules
from app.core import clock
from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.core.models import Notification
from app.extensions import db
from app.ledger.operations import call_code, grant_code
from app.reviews.models import ReviewAssignment, ReviewDraw
from tests import factories
from tests.awards.helpers import audit_and_ledger_ok, balance, events
from tests.conftest import login, post

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


# --- withdrawal ---


def test_officer_withdraws_a_proposed_award_and_the_application_returns(session):
    r = factories.reviewed_call(1)
    app = r.apps[0]
    award = ops.propose_award(app, 4_000_000, "集体研究同意立项。", actor=r.officer)
    before = balance(call_code(r.call.id))
    with pytest.raises(ValidationFailed, match="撤回理由"):
        ops.withdraw_award(award, "  ", actor=r.officer)
    with pytest.raises(NotAllowed, match="经办人"):
        ops.withdraw_award(award, "金额有误。", actor=r.approver)
    assert award.state == "proposed" and app.state == "proposed"

    ops.withdraw_award(award, "申报单位资格待核实。", actor=r.officer)
    assert award.state == "revoked" and award.revoked_at is not None
    assert award.notice_id is None and award.approved_at is None
    assert award.decommit_transfer_id is None and award.revoke_reason == "申报单位资格待核实。"
    assert app.state == "reviewed"
    event = events("award.withdraw", award.id)[-1]
    assert event.after["state"] == "revoked" and event.reason == "申报单位资格待核实。"
    assert events("application.unpropose", app.id)
    assert balance(call_code(r.call.id)) == before  # no money had moved
    # Back at the decision: a new proposal is possible (the revoked one is not live).
    again = ops.propose_award(app, 3_000_000, "核实后同意立项。", actor=r.officer)
    assert again.state == "proposed" and again.id != award.id
    audit_and_ledger_ok()


def test_approver_withdraws_an_approved_award_with_decommit(session):
    r = factories.reviewed_call(1)
    app = r.apps[0]
    available = balance(call_code(r.call.id))
    award = ops.propose_award(app, 4_000_000, "同意。", actor=r.officer)
    ops.approve_award(award, actor=r.approver)
    assert balance(call_code(r.call.id)) == available - 4_000_000
    with pytest.raises(NotAllowed, match="负责人"):
        ops.withdraw_award(award, "撤回。", actor=r.officer)
    with pytest.raises(ValidationFailed):
        ops.withdraw_award(award, "", actor=r.approver)
    assert balance(grant_code(award.id, "committed")) == 4_000_000

    ops.withdraw_award(award, "发现重复申报，撤回立项。", actor=r.approver2)
    assert award.state == "revoked" and award.notice_id is None
    assert award.approved_at is not None and award.decommit_transfer_id is not None
    assert app.state == "reviewed"
    # DECOMMIT gives the money back to the call: the available budget is restored.
    assert balance(call_code(r.call.id)) == available
    assert balance(grant_code(award.id, "committed")) == 0
    assert ops.committed_fen(r.call.id) == 0
    event = events("award.withdraw_approved", award.id)[-1]
    assert event.after["decommitted_fen"] == 4_000_000
    assert events("ledger.decommit")[-1].after["grant_id"] == award.id
    # A second withdrawal is refused and moves nothing.
    with pytest.raises(InvalidTransition):
        ops.withdraw_award(award, "再次撤回。", actor=r.approver)
    assert balance(call_code(r.call.id)) == available
    audit_and_ledger_ok()


def test_published_awards_cannot_be_withdrawn(session):
    with clock.frozen(START):
        r = factories.noticed_call(n_awards=1, n_not_funded=0)
    award = r.awards[0]
    with pytest.raises(InvalidTransition, match="异议"):
        ops.withdraw_award(award, "撤回。", actor=r.approver)
    assert award.state == "in_notice"


def test_a_withdrawn_award_needs_a_new_decision_before_publishing(session):
    r = factories.reviewed_call(2)
    kept = ops.propose_award(r.apps[0], 2_000_000, "同意。", actor=r.officer)
    ops.approve_award(kept, actor=r.approver)
    dropped = ops.propose_award(r.apps[1], 2_000_000, "同意。", actor=r.officer)
    ops.withdraw_award(dropped, "材料不实。", actor=r.officer)
    with pytest.raises(ValidationFailed) as err:
        ops.publish_decisions(r.call, actor=r.officer)
    assert any(r.apps[1].project_number in d for d in err.value.details)
    ops.mark_not_funded(r.apps[1], "材料不实，不予立项。", actor=r.officer)
    notice = ops.publish_decisions(r.call, actor=r.officer)
    assert [a.id for a in notice.awards] == [kept.id]
    assert dropped.state == "revoked" and dropped.notice_id is None
    assert r.apps[1].state == "not_funded"
    audit_and_ledger_ok()


def test_withdraw_page_permissions(client, session):
    r = factories.reviewed_call(1)
    award = ops.propose_award(r.apps[0], 1_000_000, "同意。", actor=r.officer)
    award_id = award.id
    db.session.commit()
    login(client, r.approver)
    page = post(client, f"/awards/{award_id}/withdraw", {"reason": "撤回"}, follow_redirects=True)
    assert page.status_code == 200 and "经办人" in page.get_data(as_text=True)
    assert db.session.get(Award, award_id).state == "proposed"
    post(client, "/logout")
    applicant = db.session.get(User, r.apps[0].created_by_id)
    login(client, applicant)
    assert post(client, f"/awards/{award_id}/withdraw", {"reason": "x"}).status_code == 403
    post(client, "/logout")
    login(client, r.officer)
    page = post(client, f"/awards/{award_id}/withdraw", {"reason": ""}, follow_redirects=True)
    assert "撤回理由" in page.get_data(as_text=True)
    page = post(client, f"/awards/{award_id}/withdraw", {"reason": "金额需重新研究。"},
                follow_redirects=True)  # fmt: skip
    assert page.status_code == 200 and "已撤回" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Award, award_id).state == "revoked"


# --- reconsideration overturned: back to review, or to a proposed award ---


def _under_review():
    """A noticed call with one not-funded application whose reconsideration is accepted."""
    with clock.frozen(START):
        r = factories.noticed_call(n_awards=1, n_not_funded=1)
    app = r.apps[1]
    applicant = db.session.get(User, app.created_by_id)
    with clock.frozen(START + timedelta(days=3)):
        row = ops.file_reconsideration(app, "conflict", "专家应回避而未回避。", actor=applicant)
        ops.screen_reconsideration(row, True, actor=r.officer)
    return r, app, row


def _submitted_sheet(app, officer) -> ReviewAssignment:
    draw = ReviewDraw(
        call_id=app.call_id, seed=1, input_hash="0" * 64, k=1, result={}, created_by_id=officer.id
    )
    db.session.add(draw)
    db.session.flush()
    now = clock.now()
    revision = db.session.scalars(
        select(Revision).where(Revision.application_id == app.id).order_by(Revision.id.desc())
    ).first()
    row = ReviewAssignment(
        call_id=app.call_id,
        draw_id=draw.id,
        application_id=app.id,
        expert_id=factories.expert(officer).id,
        state="submitted",
        responded_at=now,
        declared_at=now,
        total="61.50",
        rubric_snapshot_id=app.call.rubric_snapshot_id,
        revision_id=revision.id,
        submitted_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def _told(app, text: str) -> bool:
    return any(
        text in n.body
        for n in db.session.query(Notification).filter_by(user_id=app.created_by_id).all()
    )


def test_overturn_back_to_review_reopens_the_sheets(session):
    r, app, row = _under_review()
    sheet = _submitted_sheet(app, r.officer)
    with clock.frozen(START + timedelta(days=5)):
        ops.decide_reconsideration(
            row, True, "专家应回避而未回避，重新评审。", actor=r.approver2, outcome="review"
        )
    assert row.state == "overturned" and row.outcome == "review"
    assert app.state == "in_review"
    assert sheet.state == "reopened" and sheet.submitted_at is None and sheet.reopen_count == 1
    assert events("application.rereview", app.id)
    assert events("review_assignment.reopen", sheet.id)[-1].actor_id == r.approver2.id
    assert events("reconsideration.overturn", row.id)[-1].after["outcome"] == "review"
    assert _told(app, "重新评审")
    audit_and_ledger_ok()


def test_overturn_to_a_proposed_award_keeps_four_eyes(session):
    r, app, row = _under_review()
    with clock.frozen(START + timedelta(days=5)):
        with pytest.raises(ValidationFailed):
            ops.decide_reconsideration(
                row, True, "改变。", actor=r.approver2, outcome="award", amount_fen=None
            )
        with pytest.raises(ValidationFailed, match="超过申请金额"):
            ops.decide_reconsideration(
                row,
                True,
                "改变。",
                actor=r.approver2,
                outcome="award",
                amount_fen=app.requested_fen + 1,
            )
        with pytest.raises(ValidationFailed):
            ops.decide_reconsideration(row, True, "改变。", actor=r.approver2, outcome="nope")
        # Nothing was written by the refused attempts.
        assert row.state == "under_review" and app.state == "not_funded"
        assert not events("reconsideration.overturn", row.id)

        ops.decide_reconsideration(
            row, True, "评审程序违规，改为立项。", actor=r.approver2, outcome="award",
            amount_fen=1_500_000,
        )  # fmt: skip
    assert row.state == "overturned" and row.outcome == "award"
    assert app.state == "proposed"
    award = db.session.query(Award).filter_by(application_id=app.id, state="proposed").one()
    assert award.amount_fen == 1_500_000 and award.proposed_by_id == r.approver2.id
    assert _told(app, "拟立项")
    with pytest.raises(NotAllowed, match="双人复核"):
        ops.approve_award(award, actor=r.approver2)
    before = balance(call_code(r.call.id))
    with clock.frozen(START + timedelta(days=6)):
        ops.approve_award(award, actor=r.approver)
        notice = ops.publish_decisions(r.call, actor=r.officer)
    assert notice.number == 2 and award.state == "in_notice"
    assert balance(call_code(r.call.id)) == before - 1_500_000
    audit_and_ledger_ok()


def test_overturn_back_to_the_decision_is_still_there(session):
    r, app, row = _under_review()
    with clock.frozen(START + timedelta(days=5)):
        ops.decide_reconsideration(row, True, "改变原决定。", actor=r.approver2)
    assert row.outcome == "decision" and app.state == "reviewed"


# --- notice period in working days ---


def test_notice_working_days_is_a_call_setting(session):
    # Only a new call takes the default (calendar days); an amendment changes what it names.
    fields = ("notice_days", "notice_working_days")
    assert validate_rules({"notice_days": 5}, fields=fields) == {"notice_days": 5}
    r = factories.reviewed_call(1, notice_working_days=True, notice_days=5)
    assert r.call.notice_working_days is True
    award = ops.propose_award(r.apps[0], 1_000_000, "同意。", actor=r.officer)
    ops.approve_award(award, actor=r.approver)
    with clock.frozen(START):
        notice = ops.publish_decisions(r.call, actor=r.officer)
    assert notice.is_working_days and notice.days == 5
    assert notice.last_day == date(2026, 3, 9)  # Tue–Fri, then Monday
    assert events("award_notice.publish", notice.id)[-1].after["working_days"] is True


def test_notice_page_shows_the_end_date(client, session):
    with clock.frozen(START):
        r = factories.noticed_call(n_awards=1, n_not_funded=0)
    text = client.get(f"/awards/notices/{r.notice.id}").get_data(as_text=True)
    assert "公示截止：2026-03-07" in text and "自然日" in text


def test_overturn_outcomes_through_the_page(client, session):
    r, app, row = _under_review()
    row_id, app_id, approver = row.id, app.id, r.approver2
    db.session.commit()
    login(client, approver)
    url = f"/awards/reconsiderations/{row_id}/overturn"
    page = post(client, url, {"reason": "改为立项。", "outcome": "award", "amount": "abc"},
                follow_redirects=True)  # fmt: skip
    assert page.status_code == 200 and "改变原决定" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, app_id).state == "not_funded"
    page = post(client, url, {"reason": "改为立项。", "outcome": "award", "amount": "15000"},
                follow_redirects=True)  # fmt: skip
    assert page.status_code == 200 and "已处理" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, app_id).state == "proposed"
    award = db.session.query(Award).filter_by(application_id=app_id, state="proposed").one()
    assert award.amount_fen == 1_500_000
    post(client, "/logout")
    login(client, db.session.get(User, db.session.get(Application, app_id).created_by_id))
    text = client.get(f"/awards/applications/{app_id}/outcome").get_data(as_text=True)
    assert "直接拟立项" in text
