"""The posting path: balances, entries, audit events, refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.ledger import operations as ledger
from app.ledger.models import LedgerEntry, LedgerTransfer
from app.ledger.operations import InsufficientBalance
from tests import factories
from tests.ledger import assert_invariants, balance, key


@pytest.fixture(autouse=True)
def _request(app, session):
    # Refusals are translated; Babel's locale selector needs a request.
    with app.test_request_context():
        yield


@pytest.fixture
def finance(session):
    return factories.user("finance")


def _events(transfer_id) -> list[AuditEvent]:
    return list(
        AuditEvent.query.filter_by(entity_type="transfer", entity_id=str(transfer_id)).all()
    )


def test_full_cycle_moves_balances_and_audits(session, finance):
    t = ledger.appropriate(1, 100_000, actor=finance, key=key(), memo="年度拨款")
    ledger.reserve(1, 10, 60_000, actor=finance, key=key())
    ledger.commit(10, 100, 50_000, actor=finance, key=key())
    ledger.release(100, 30_000, actor=finance, key=key())
    ledger.disburse(100, 20_000, actor=finance, key=key(), voucher_no="记-2026-001")
    ledger.clawback_demand(100, 5_000, actor=finance, key=key())
    last = ledger.clawback_received(100, 1, 5_000, actor=finance, key=key())
    assert balance("world:appropriation") == -100_000
    assert balance("fund:1:available") == 45_000
    assert balance("call:10:available") == 10_000
    assert balance("grant:100:committed") == 20_000
    assert balance("grant:100:payable") == 10_000
    assert balance("grant:100:disbursed") == 15_000
    assert balance("grant:100:clawback_due") == 0
    assert (last.fund_id, last.call_id, last.grant_id) == (1, 10, 100)
    entries = LedgerEntry.query.filter_by(transfer_id=t.id).all()
    assert sorted((e.debit_fen, e.credit_fen) for e in entries) == [(0, 100_000), (100_000, 0)]
    (event,) = _events(t.id)
    assert event.action == "ledger.appropriate"
    assert event.actor_id == finance.id
    assert event.after == {
        "code": "APPROPRIATE",
        "from": "world:appropriation",
        "to": "fund:1:available",
        "amount_fen": 100_000,
        "fund_id": 1,
        "call_id": None,
        "grant_id": None,
        "voucher_no": None,
    }
    assert_invariants()


def test_insufficient_balance_writes_nothing(session, finance):
    ledger.appropriate(2, 1_000, actor=finance, key=key())
    before = session.execute(select(func.count()).select_from(LedgerTransfer)).scalar()
    with pytest.raises(InsufficientBalance) as err:
        ledger.reserve(2, 20, 1_001, actor=finance, key=key())
    assert err.value.status == 409
    assert "余额不足" in err.value.message
    with pytest.raises(InsufficientBalance):
        ledger.release(999, 1, actor=finance, key=key())
    assert session.execute(select(func.count()).select_from(LedgerTransfer)).scalar() == before
    assert balance("call:20:available") == 0
    assert_invariants()


@pytest.mark.parametrize("amount", [0, -5, 1.5, 10.0, True, "100", None])
def test_bad_amounts_refused(session, finance, amount):
    with pytest.raises(ValidationFailed):
        ledger.appropriate(3, amount, actor=finance, key=key())


def test_idempotency(session, finance):
    k = key()
    first = ledger.appropriate(4, 500, actor=finance, key=k)
    events = session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    again = ledger.appropriate(4, 500, actor=finance, key=k)
    assert again.id == first.id
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar() == events
    assert balance("fund:4:available") == 500
    with pytest.raises(Conflict) as err:
        ledger.appropriate(4, 501, actor=finance, key=k)
    assert err.value.status == 409
    assert "幂等键" in err.value.message
    assert_invariants()


def test_reversal_once_only(session, finance):
    ledger.appropriate(5, 1_000, actor=finance, key=key())
    reserved = ledger.reserve(5, 50, 400, actor=finance, key=key())
    undo = ledger.reverse(reserved.id, actor=finance, reason="录入错误")
    assert undo.code == "REVERSAL" and undo.reverses_id == reserved.id
    assert (undo.from_account_id, undo.to_account_id) == (
        reserved.to_account_id,
        reserved.from_account_id,
    )
    assert balance("call:50:available") == 0
    assert balance("fund:5:available") == 1_000
    (event,) = _events(undo.id)
    assert event.action == "ledger.reversal" and event.reason == "录入错误"
    with pytest.raises(Conflict):
        ledger.reverse(reserved.id, actor=finance, reason="再次冲正")
    with pytest.raises(ValidationFailed):
        ledger.reverse(undo.id, actor=finance, reason="冲正的冲正")
    with pytest.raises(NotFound):
        ledger.reverse(10**9, actor=finance, reason="不存在")
    assert_invariants()


def test_reversal_needs_the_money_back(session, finance):
    ledger.appropriate(6, 1_000, actor=finance, key=key())
    reserved = ledger.reserve(6, 60, 1_000, actor=finance, key=key())
    ledger.commit(60, 600, 1_000, actor=finance, key=key())
    with pytest.raises(InsufficientBalance):
        ledger.reverse(reserved.id, actor=finance, reason="已授予后撤销")
    assert_invariants()


def test_voucher_required_and_never_reused(session, finance):
    ledger.appropriate(7, 1_000, actor=finance, key=key())
    ledger.reserve(7, 70, 1_000, actor=finance, key=key())
    ledger.commit(70, 700, 1_000, actor=finance, key=key())
    ledger.release(700, 1_000, actor=finance, key=key())
    with pytest.raises(ValidationFailed):
        ledger.disburse(700, 100, actor=finance, key=key(), voucher_no="  ")
    paid = ledger.disburse(700, 100, actor=finance, key=key(), voucher_no="V-1")
    with pytest.raises(Conflict):
        ledger.disburse(700, 100, actor=finance, key=key(), voucher_no="V-1")
    # A reversal carries its original's voucher number; that is not a reuse.
    ledger.reverse(paid.id, actor=finance, reason="退票")
    assert balance("grant:700:payable") == 1_000
    assert_invariants()


def test_funds_and_calls_do_not_mix(session, finance):
    ledger.appropriate(8, 1_000, actor=finance, key=key())
    ledger.appropriate(9, 1_000, actor=finance, key=key())
    ledger.reserve(8, 80, 500, actor=finance, key=key())
    with pytest.raises(ValidationFailed):
        ledger.reserve(9, 80, 500, actor=finance, key=key())
    ledger.commit(80, 800, 500, actor=finance, key=key())
    ledger.release(800, 500, actor=finance, key=key())
    ledger.disburse(800, 500, actor=finance, key=key(), voucher_no="V-800")
    ledger.clawback_demand(800, 100, actor=finance, key=key())
    with pytest.raises(ValidationFailed):
        ledger.clawback_received(800, 9, 100, actor=finance, key=key())
    with pytest.raises(ValidationFailed):
        ledger.transfer("COMMIT", "fund:8:available", "grant:1:committed", 1,
                        actor=finance, idempotency_key=key())  # fmt: skip
    with pytest.raises(ValidationFailed):
        ledger.transfer("REVERSAL", "fund:8:available", "world:appropriation", 1,
                        actor=finance, idempotency_key=key())  # fmt: skip
    assert_invariants()


def test_only_finance_appropriates(session):
    officer = factories.user("officer")
    with pytest.raises(NotAllowed):
        ledger.appropriate(11, 100, actor=officer, key=key())
