"""Mid-term check, changes, closure with the balance returned, revocation with claw-back."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.extensions import db
from app.ledger.operations import call_code, grant_code
from app.projects import operations as ops
from app.projects.models import ClawbackEntry, ProjectDecision
from tests.projects.helpers import (
    at,
    audit_and_ledger_ok,
    balance,
    events,
    project,
    report_milestone,
    submit_signed,
)


def _pay(r, tranche, voucher):
    ops.release_tranche(tranche, actor=r.approver)
    ops.pay_tranche(tranche, tranche.amount_fen, voucher, date(2026, 3, 10), actor=r.finance)


def test_midterm_suspension_needs_a_second_person_and_stops_money(session):
    r = project()
    p = r.project
    with at(2026, 9, 1):
        ops.begin_midterm(p, actor=r.officer)
        with pytest.raises(ValidationFailed):
            ops.record_midterm(p, "rectify", {"findings": "进度滞后。"}, actor=r.officer)
        ops.record_midterm(p, "suspend", {"findings": "经费使用不规范。"}, actor=r.officer)
        assert p.state == "midterm"
        decision = db.session.query(ProjectDecision).filter_by(project_id=p.id).one()
        with pytest.raises(NotAllowed):
            ops.decide_decision(decision, True, "", actor=r.officer)
        ops.decide_decision(decision, True, "同意暂停。", actor=r.approver)
        assert p.state == "suspended"
        assert [t.state for t in p.tranches] == ["withheld"] * 3
        with pytest.raises(InvalidTransition):
            ops.release_tranche(p.tranches[0], actor=r.approver)
        resume = ops.propose_decision(p, "resume", "已完成整改。", actor=r.officer)
        ops.decide_decision(resume, True, "同意恢复。", actor=r.approver2)
    assert p.state == "in_progress" and p.tranches[0].state == "releasable"
    assert events("project.suspend", p.id) and events("project.resume", p.id)
    audit_and_ledger_ok()


def test_extension_once_within_limits_and_in_time(session):
    r = project()
    p = r.project
    with at(2027, 10, 1):  # end 2027-12-31: less than 3 months left
        late = ops.create_change(p, "extension", "需要延期。", {"months": 6}, actor=r.applicant)
        with pytest.raises(ValidationFailed, match="3 个月"):
            ops.submit_change(late, actor=r.applicant)
    with at(2027, 9, 1):
        too_long = ops.create_change(p, "extension", "延期。", {"months": 13}, actor=r.applicant)
        with pytest.raises(ValidationFailed, match="12"):
            ops.submit_change(too_long, actor=r.applicant)
        ok = ops.create_change(p, "extension", "延期半年。", {"months": 6}, actor=r.applicant)
        ops.submit_change(ok, actor=r.applicant)
        twice = ops.create_change(p, "extension", "再延期。", {"months": 1}, actor=r.applicant)
        with pytest.raises(ValidationFailed, match="只能延期一次"):
            ops.submit_change(twice, actor=r.applicant)
        with pytest.raises(InvalidTransition):
            ops.decide_change(ok, True, "同意。", actor=r.approver)
        ops.forward_change(ok, actor=r.officer)
        ops.decide_change(ok, True, "同意延期。", actor=r.approver)
    assert ok.state == "approved" and ok.amendment_number == 1
    assert p.end_on == date(2028, 6, 30) and p.extension_months == 6
    minor = None
    with at(2027, 9, 2):
        minor = ops.create_change(p, "minor", "联系人变更。", {}, actor=r.applicant)
        ops.submit_change(minor, actor=r.applicant)
        ops.record_change(minor, actor=r.officer)
    assert minor.state == "recorded" and events("change_request.approve", ok.id)
    audit_and_ledger_ok()


def test_reallocation_raises_the_line(session):
    r = project()
    p = r.project
    with at(2026, 5, 1):
        change = ops.create_change(
            p,
            "reallocation",
            "差旅费不足。",
            {"from_line": "expert_fee", "to_line": "travel", "amount": "2000"},
            actor=r.applicant,
        )
        ops.submit_change(change, actor=r.applicant)
        ops.forward_change(change, actor=r.officer)
        with pytest.raises(NotAllowed, match="双人复核"):
            ops.decide_change(change, True, "", actor=_both(r))
        ops.decide_change(change, True, "同意。", actor=r.approver)
        report = ops.open_report(p, p.milestones[1], actor=r.applicant)
        data = {
            "line_key": "travel",
            "source": "fund",
            "amount": "12000",
            "voucher_no": "V-9",
            "payee": "某公司",
            "spent_on": date(2026, 4, 1),
        }
        ops.add_expenditure(report, data, actor=r.applicant)


def _both(r):
    from app.accounts.models import UserRole

    db.session.add(UserRole(user_id=r.officer.id, role="approver"))
    db.session.flush()
    db.session.expire(r.officer)
    return r.officer


def test_closure_returns_the_balance(session):
    r = project()
    p = r.project
    first = p.tranches[0]
    with at(2026, 3, 10):
        _pay(r, first, "PZ-A")
    with at(2027, 6, 1):
        spend = [
            {
                "line_key": "travel",
                "source": "fund",
                "amount": "5000",
                "voucher_no": "V-A",
                "payee": "某酒店",
            }
        ]
        report_milestone(r, 1, spend)
        ops.release_tranche(p.tranches[1], actor=r.approver)  # released, never paid
    with at(2027, 12, 1):
        closing = ops.open_report(p, None, actor=r.applicant)
        ops.save_report(
            closing,
            {"narrative": "全面完成。", "actual": {"0": "3", "1": "25", "2": "92"}},
            actor=r.applicant,
        )
        submit_signed(closing, r)
        assert p.state == "awaiting_acceptance"
        ops.begin_acceptance(p, actor=r.officer)
        ops.record_acceptance(
            p, "rectify", "补充决算附件。", actor=r.officer, rectify_by=date(2028, 2, 1)
        )
        assert p.state == "rectifying" and closing.state == "returned"
        submit_signed(closing, r)
        assert p.state == "accepting"
        with pytest.raises(NotAllowed):
            ops.record_acceptance(p, "passed", "通过。", actor=r.officer)
        with pytest.raises(NotAllowed, match="已整改一次"):
            ops.record_acceptance(
                p, "rectify", "再整改。", actor=r.officer, rectify_by=date(2028, 2, 1)
            )
        # A society with a bad credit record keeps nothing.
        p.society.credit_status = "warning"
        ops.record_acceptance(p, "passed_after_rectification", "整改后通过。", actor=r.officer)
        call_before = balance(call_code(p.call_id))
        figures = ops.settle_project(p, actor=r.officer)
    paid = first.amount_fen
    assert figures["unreleased"] == p.amount_fen - paid
    assert figures["demand"] == paid - 500_000
    assert balance(call_code(p.call_id)) == call_before + p.amount_fen - paid
    assert balance(grant_code(p.id, "committed")) == 0 == balance(grant_code(p.id, "payable"))
    assert balance(grant_code(p.id, "clawback_due")) == paid - 500_000
    assert p.state == "clawback" and p.tranches[1].state == "cancelled"
    assert events("ledger.decommit") and events("ledger.clawback_demand")
    with at(2027, 12, 2):
        with pytest.raises(ValidationFailed):
            ops.record_clawback_receipt(p, paid, "HK-1", date(2027, 12, 2), actor=r.finance)
        ops.record_clawback_receipt(p, 100_000, "HK-1", date(2027, 12, 2), actor=r.finance)
        ops.record_clawback_receipt(p, paid - 600_000, "HK-2", date(2027, 12, 2), actor=r.finance)
        assert p.state == "closed"
        ops.archive_project(p, actor=r.officer)
    assert p.state == "archived"
    assert db.session.query(ClawbackEntry).filter_by(project_id=p.id).count() == 3
    audit_and_ledger_ok()


def test_passed_with_good_credit_keeps_the_balance(session):
    r = project()
    p = r.project
    p.application.call.balance_retention_allowed = True  # the call allows 结余留用
    with at(2026, 3, 10):
        _pay(r, p.tranches[0], "PZ-K")
    with at(2027, 12, 1):
        closing = ops.open_report(p, None, actor=r.applicant)
        ops.save_report(
            closing,
            {"narrative": "完成。", "actual": {"0": "3", "1": "20", "2": "90"}},
            actor=r.applicant,
        )
        submit_signed(closing, r)
        ops.begin_acceptance(p, actor=r.officer)
        ops.record_acceptance(p, "passed", "通过验收。", actor=r.officer)
        figures = ops.settle_project(p, actor=r.officer)
    assert figures["demand"] == 0 and p.retained_fen == p.tranches[0].amount_fen
    assert p.retained_until == date(2029, 12, 1) and p.state == "closed"
    assert closing.state == "accepted"
    audit_and_ledger_ok()


def test_revocation_for_fraud_claws_back_everything_and_bans(session):
    r = project()
    p = r.project
    with at(2026, 3, 10):
        _pay(r, p.tranches[0], "PZ-F")
    with at(2026, 6, 1):
        spend = [
            {
                "line_key": "travel",
                "source": "fund",
                "amount": "3000",
                "voucher_no": "V-F",
                "payee": "某酒店",
            }
        ]
        report_milestone(r, 1, spend, accept=False)
        with pytest.raises(ValidationFailed, match="3 至 5"):
            ops.propose_decision(
                p, "revoke", "伪造材料。", actor=r.officer, fraud=True, ban_years=6
            )
        decision = ops.propose_decision(
            p, "revoke", "伪造服务记录。", actor=r.officer, fraud=True, ban_years=3
        )
        ops.decide_decision(decision, True, "同意撤销。", actor=r.approver)
        assert p.state == "revoked"
        with pytest.raises(NotAllowed, match="不能拨付"):
            ops.release_tranche(p.tranches[1], actor=r.approver)
        ops.settle_project(p, actor=r.officer)
    paid = p.tranches[0].amount_fen
    assert p.state == "clawback" and p.unspent_fen == paid
    assert balance(grant_code(p.id, "clawback_due")) == paid
    assert balance(grant_code(p.id, "committed")) == 0
    society = p.society
    assert society.credit_status == "banned" and society.banned_until == date(2029, 6, 1)
    assert society.is_banned(date(2029, 6, 1)) and events("organisation.ban", society.id)
    with at(2026, 6, 2), pytest.raises(InvalidTransition):
        ops.release_tranche(p.tranches[1], actor=r.approver)
    audit_and_ledger_ok()
