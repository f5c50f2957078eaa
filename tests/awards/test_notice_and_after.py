"""Notice period, objections, revocation with DECOMMIT, confirmation by tick,
reconsideration, task agreements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.awards import operations as ops
from app.awards.models import TaskAgreement
from app.core import clock
from app.core.errors import NotAllowed, ValidationFailed
from app.core.tick import run_tick
from app.extensions import db
from app.ledger.operations import call_code, grant_code
from app.projects.models import Project
from tests import factories
from tests.awards.helpers import audit_and_ledger_ok, balance, events

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _noticed(**kwargs):
    with clock.frozen(START):
        return factories.noticed_call(**kwargs)


def test_notice_counts_calendar_or_working_days(app):
    with app.app_context():
        last, ends = ops.notice_period(START, 5, False)
        assert last == date(2026, 3, 7)
        assert clock.local(ends) == datetime(2026, 3, 8, tzinfo=clock.SHANGHAI)
        last, _ends = ops.notice_period(START, 5, True)
        assert last == date(2026, 3, 9)  # Tue–Fri, then Monday


def test_objections_anonymous_or_late_are_not_accepted(session):
    r = _noticed()
    award = r.awards[0]
    with clock.frozen(START + timedelta(days=1)):
        anonymous = ops.file_objection(award, {"grounds": "该项目团队成员虚报业绩。"})
        name_only = ops.file_objection(award, {"name": "张三", "grounds": "虚报业绩。"})
        named = ops.file_objection(
            award, {"name": "张三", "contact": "13800000000", "grounds": "虚报业绩。"}
        )
        sealed = ops.file_objection(award, {"organisation": "某研究所", "grounds": "重复申报。"})
        with pytest.raises(ValidationFailed):
            ops.file_objection(award, {"name": "李四", "contact": "x", "grounds": " "})
    with clock.frozen(START + timedelta(days=7)):
        late = ops.file_objection(
            award, {"name": "王五", "contact": "13900000000", "grounds": "迟到的异议。"}
        )
    for row in (anonymous, name_only):
        assert row.state == "not_accepted" and "匿名" in row.reason
    assert late.state == "not_accepted" and "公示期" in late.reason
    assert named.state == "received" and sealed.state == "received"
    receive = events("objection.receive", named.id)[0]
    assert "13800000000" not in str(receive.after) and "张三" not in str(receive.after)
    with pytest.raises(NotAllowed, match="匿名"):
        ops.screen_objection(anonymous, True, actor=r.officer)


def test_upheld_objection_revokes_with_decommit_and_balances_return(session):
    r = _noticed()
    award, other = r.awards
    committed_before = balance(call_code(r.call.id))
    with clock.frozen(START + timedelta(days=1)):
        row = ops.file_objection(
            award, {"name": "张三", "contact": "13800000000", "grounds": "业绩造假。"}
        )
        ops.screen_objection(row, True, actor=r.officer)
        assert (
            award.state == "objection"
            and award.state_label(r.apps[0].created_by_id and factories.user()) == "公示中"
        )
        with pytest.raises(ValidationFailed):
            ops.handle_objection(row, True, " ", actor=r.officer)
        ops.handle_objection(row, True, "经核查，业绩材料不实，异议成立。", actor=r.officer)
    assert row.state == "upheld" and award.state == "revoked"
    assert r.apps[0].state == "not_funded"
    assert balance(grant_code(award.id, "committed")) == 0
    assert balance(call_code(r.call.id)) == committed_before + award.amount_fen
    assert events("ledger.decommit")[-1].after["grant_id"] == award.id
    assert events("award.revoke", award.id)[0].reason.startswith("经核查")
    assert other.state == "in_notice"
    audit_and_ledger_ok()


def test_confirmation_only_after_the_period_with_no_open_objection(session):
    r = _noticed()
    a, b = r.awards
    with clock.frozen(START + timedelta(days=2)):
        row = ops.file_objection(b, {"organisation": "某协会", "grounds": "团队重复申报。"})
        assert run_tick()["awards"] == 0
        with pytest.raises(NotAllowed, match="公示期"):
            ops.confirm_award(a, actor=r.officer)
    with clock.frozen(START + timedelta(days=6)):  # Mar 8 10:00 local: over
        moved = run_tick()
        assert a.state == "confirmed" and b.state == "in_notice"  # b: objection received
        assert moved["awards"] == 1 and run_tick()["awards"] == 0  # idempotent
        assert r.apps[0].state == "awarded" and r.call.state == "notice"
        project = db.session.get(Project, a.id)
        assert project.state == "awaiting_agreement"
        ops.screen_objection(row, True, actor=r.officer)
        ops.handle_objection(row, False, "经核查，不存在重复申报，异议不成立。", actor=r.officer)
        assert b.state == "objection"
        done = ops.confirm_call(r.call, actor=r.officer)
    assert [x.id for x in done] == [b.id] and b.state == "confirmed"
    assert r.call.state == "decided" and events("call.decide", r.call.id)
    assert row.answer.startswith("经核查")
    audit_and_ledger_ok()


def test_reconsideration_window_screening_and_overturn(app, session):
    r = _noticed(n_awards=1, n_not_funded=2)
    late_app, app_ = r.apps[1], r.apps[2]
    applicant = (
        db.session.get(factories.User, app_.created_by_id) if hasattr(factories, "User") else None
    )
    from app.accounts.models import User

    applicant = db.session.get(User, app_.created_by_id)
    late_applicant = db.session.get(User, late_app.created_by_id)
    with clock.frozen(START + timedelta(days=16)):
        late = ops.file_reconsideration(
            late_app, "procedure", "评审程序违规。", actor=late_applicant
        )
    assert late.state == "not_accepted" and "15 日" in late.screen_reason
    with clock.frozen(START + timedelta(days=3)):
        academic = ops.file_reconsideration(app_, "academic", "专家打分偏低。", actor=applicant)
        with pytest.raises(NotAllowed, match="学术判断"):
            ops.screen_reconsideration(academic, True, actor=r.officer)
        ops.screen_reconsideration(academic, False, actor=r.officer, reason="仅对学术判断有异议。")
        row = ops.file_reconsideration(
            app_, "conflict", "评审专家与竞争单位同属一单位。", actor=applicant
        )
        ops.screen_reconsideration(row, True, actor=r.officer)
        assert row.state == "under_review"
        assert clock.as_utc(row.decide_by) == START + timedelta(days=63)
        with pytest.raises(NotAllowed):
            ops.decide_reconsideration(row, True, "改变。", actor=r.officer)
        ops.decide_reconsideration(row, True, "专家应回避而未回避，改变原决定。", actor=r.approver)
    assert row.state == "overturned" and app_.state == "reviewed"
    assert events("application.reconsider", app_.id)
    # Back to the decision: proposed, approved, then a notice of its own.
    with clock.frozen(START + timedelta(days=10)):
        award = ops.propose_award(app_, 1_000_000, "复审后同意立项。", actor=r.officer)
        ops.approve_award(award, actor=r.approver)
        notice = ops.publish_decisions(r.call, actor=r.officer)
    assert notice.number == 2 and award.state == "in_notice"


def test_agreement_tranches_sum_to_the_award_and_signing_is_immutable(session):
    r = _noticed(n_awards=1, n_not_funded=0, amount_fen=3_333_333)
    award = r.awards[0]
    with clock.frozen(START + timedelta(days=6)):
        run_tick()
    agreement = db.session.query(TaskAgreement).filter_by(award_id=award.id).one()
    amounts = [m["amount_fen"] for m in agreement.milestones]
    assert sum(amounts) == 3_333_333 and amounts[0] == 3_333_333 * 60 // 100
    assert sum(b["fund_fen"] for b in agreement.budget) == 3_333_333
    ops.update_agreement(agreement, {"fund": {"travel": "0"}}, actor=r.officer)
    assert ops.problems(agreement)
    with pytest.raises(ValidationFailed):
        ops.send_agreement(agreement, actor=r.officer)
    ops.update_agreement(
        agreement,
        {"fund": {"expert_fee": "33333.33", "travel": "0", "indirect": "0"}},
        actor=r.officer,
    )
    with clock.frozen(START + timedelta(days=7)):
        ops.send_agreement(agreement, actor=r.officer)
    admin = factories.society_admin_of(award.society)
    with pytest.raises(NotAllowed):
        ops.update_agreement(agreement, {"fund": {"travel": "1"}}, actor=r.officer)
    with pytest.raises(NotAllowed):
        ops.sign_agreement(agreement, actor=factories.society_admin_of(factories.org()))
    with clock.frozen(START + timedelta(days=8)):
        ops.sign_agreement(agreement, actor=admin)
    project = db.session.get(Project, award.id)
    assert agreement.state == "signed" and project.state == "in_progress"
    assert [m.state for m in project.milestones] == ["accepted", "planned", "planned"]
    assert sum(t.amount_fen for t in project.tranches) == 3_333_333
    # Issue 11: the first tranche qualifies at signing, not at the next ``flask tick``,
    # so it is on the approver's to-do at once.
    assert [t.state for t in project.tranches] == ["releasable", "planned", "planned"]
    first = project.tranches[0]
    assert [e.actor_role for e in events("tranche.qualify", first.id)] == ["system"]
    from app.projects.views.todo import _todo

    todo = _todo(factories.user("approver"))
    assert any("拨付" in str(label) and count == 1 for label, count, _endpoint in todo), todo
    db.session.flush()
    with pytest.raises(DBAPIError, match="immutable"), db.session.begin_nested():
        db.session.execute(
            text("UPDATE task_agreement SET amount_fen = 1 WHERE id = :id"), {"id": agreement.id}
        )
    amendment = ops.create_amendment(
        agreement, "调整节点日期", "中期检查推迟一个月。", actor=r.officer
    )
    ops.advance_amendment(amendment, "submit", actor=r.officer)
    ops.advance_amendment(amendment, "approve", actor=r.approver)
    assert amendment.number == 1


def test_overdue_signature_is_flagged_by_tick_once(session):
    r = _noticed(n_awards=1, n_not_funded=0)
    with clock.frozen(START + timedelta(days=6)):
        run_tick()
    agreement = db.session.query(TaskAgreement).one()
    with clock.frozen(START + timedelta(days=7)):
        ops.send_agreement(agreement, actor=r.officer)
    with clock.frozen(START + timedelta(days=26)):
        assert run_tick()["agreements"] == 0 and not agreement.is_overdue()
    with clock.frozen(START + timedelta(days=28)):
        assert run_tick()["agreements"] == 1 and agreement.is_overdue()
        assert run_tick()["agreements"] == 0
    assert agreement.overdue_at is not None and events("task_agreement.overdue", agreement.id)
    audit_and_ledger_ok()
