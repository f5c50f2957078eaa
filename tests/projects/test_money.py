"""Tranches: release conditions, four-eyes, payments, cumulative limits, matching funds."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from app.ledger.operations import grant_code
from app.projects import operations as ops
from tests import factories
from tests.projects.helpers import (
    at,
    audit_and_ledger_ok,
    balance,
    events,
    project,
    report_milestone,
)


def test_first_tranche_released_and_paid_after_signing(session):
    r = project()
    p = r.project
    first = p.tranches[0]
    # Issue 11: the first tranche qualifies at signing (milestone 0 accepted).
    assert [t.state for t in p.tranches] == ["releasable", "planned", "planned"]
    with at(2026, 3, 10):
        ops.release_tranche(first, actor=r.approver)
        assert first.state == "released"
        assert balance(grant_code(p.id, "payable")) == first.amount_fen
        with pytest.raises(ValidationFailed, match="超过应付金额"):
            ops.pay_tranche(first, first.amount_fen + 1, "PZ-1", date(2026, 3, 10), actor=r.finance)
        with pytest.raises(NotAllowed):
            ops.pay_tranche(first, first.amount_fen, "PZ-1", date(2026, 3, 10), actor=r.officer)
        ops.pay_tranche(first, first.amount_fen, "PZ-1", date(2026, 3, 10), actor=r.finance)
    assert first.state == "paid" and first.voucher_no == "PZ-1"
    assert balance(grant_code(p.id, "disbursed")) == first.amount_fen
    assert events("tranche.release", first.id) and events("tranche.pay", first.id)
    assert events("ledger.disburse")
    with pytest.raises(InvalidTransition):
        ops.pay_tranche(first, first.amount_fen, "PZ-2", date(2026, 3, 10), actor=r.finance)
    audit_and_ledger_ok()


def test_release_refused_with_reasons_and_four_eyes(session):
    r = project()
    p = r.project
    second = p.tranches[1]
    with at(2026, 3, 10), pytest.raises(NotAllowed, match="尚未审核通过"):
        ops.release_tranche(second, actor=r.approver)
    # A head holding both roles accepts the milestone: someone else must release it.
    both = factories.user("officer", "approver")
    with at(2027, 6, 1):
        report_milestone(r, 1, officer=both)
    assert second.milestone.accepted_by_id == both.id
    with at(2027, 6, 2):
        with pytest.raises(NotAllowed, match="双人复核"):
            ops.release_tranche(second, actor=both)
        with pytest.raises(NotAllowed):
            ops.release_tranche(second, actor=r.officer)
        ops.release_tranche(second, actor=r.approver)
    assert second.state == "released"
    audit_and_ledger_ok()


def test_overdue_report_and_matching_shortfall_block_release(session):
    r = project(matching_fen=3_000_000)
    p = r.project
    first = p.tranches[0]
    with at(2026, 3, 10), pytest.raises(NotAllowed, match="配套资金到位不足"):
        ops.release_tranche(first, actor=r.approver)
    with at(2026, 3, 11):
        with pytest.raises(NotAllowed):
            ops.record_matching_receipt(p, "18000", date(2026, 3, 11), "PT-1", actor=r.officer)
        ops.record_matching_receipt(p, "18000", date(2026, 3, 11), "PT-1", actor=r.partner)
        assert first.state == "releasable"  # 18,000 of 30,000 yuan: 60% in place
        with pytest.raises(ValidationFailed, match="已登记过"):
            ops.record_matching_receipt(p, "1", date(2026, 3, 11), "PT-1", actor=r.partner)
        ops.release_tranche(first, actor=r.approver)
    assert events("matching_receipt.record")
    # Milestone 1 is overdue: milestone 2's report is accepted, but nothing more is released.
    with at(2027, 7, 2):
        assert ops.move_milestones() >= 1
        assert p.milestones[1].overdue_at is not None and events("milestone.overdue")
        ops.record_matching_receipt(p, "12000", date(2027, 7, 2), "PT-2", actor=r.partner)
        report_milestone(r, 2)
        reasons = ops.release_conditions(p.tranches[2])
        assert any("逾期" in x for x in reasons)
        with pytest.raises(NotAllowed, match="逾期"):
            ops.release_tranche(p.tranches[2], actor=r.approver)
    audit_and_ledger_ok()


def test_voucher_used_once_for_payments(session):
    r1, r2 = project(), project()
    with at(2026, 3, 10):
        t1, t2 = r1.project.tranches[0], r2.project.tranches[0]
        ops.release_tranche(t1, actor=r1.approver)
        ops.release_tranche(t2, actor=r2.approver)
        ops.pay_tranche(t1, t1.amount_fen, "PZ-9", date(2026, 3, 10), actor=r1.finance)
        with pytest.raises(Conflict):
            ops.pay_tranche(t2, t2.amount_fen, "PZ-9", date(2026, 3, 10), actor=r2.finance)
