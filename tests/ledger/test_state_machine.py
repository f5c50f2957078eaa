"""Random sequences of ledger operations against the real service layer and database.

After every step every invariant holds and a model of the expected balances
matches the accounts. Each example runs in a savepoint rolled back afterwards.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from app.core.errors import Conflict, ValidationFailed
from app.extensions import db
from app.ledger import operations as ledger
from app.ledger.operations import InsufficientBalance
from tests.ledger import assert_invariants, balance

FUNDS = (1, 2)
CALL_FUND = {11: 1, 12: 1, 13: 2}
GRANT_CALL = {21: 11, 22: 11, 23: 12, 24: 13}
AMOUNTS = st.one_of(st.integers(min_value=-5, max_value=1_500), st.sampled_from([0, 1.5, True]))
_run = itertools.count(1)


def _valid(amount) -> bool:
    return isinstance(amount, int) and not isinstance(amount, bool) and amount > 0


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = db.session.begin_nested()
        self.run = next(_run)
        self.keys = itertools.count(1)
        self.model: dict[str, int] = {}
        self.done: list = []  # (transfer id, from code, to code, amount) not yet reversed
        self.reversals: list[int] = []
        self.vouchers: set[str] = set()
        self.appropriations: list = []  # (key, fund, amount, transfer id)

    def teardown(self):
        self.savepoint.rollback()
        db.session.expire_all()

    def _key(self) -> str:
        return f"sm-{self.run}-{next(self.keys)}"

    def _attempt(self, call, source, target, amount, *, refusal=None):
        """Run ``call``; check it succeeds or fails exactly as the model predicts."""
        if not _valid(amount):
            expected = ValidationFailed
        elif refusal is not None:
            expected = refusal
        elif source != "world:appropriation" and self.model.get(source, 0) < amount:
            expected = InsufficientBalance
        else:
            expected = None
        if expected is not None:
            with pytest.raises(expected):
                call()
            return None
        row = call()
        self.model[source] = self.model.get(source, 0) - amount
        self.model[target] = self.model.get(target, 0) + amount
        self.done.append((row.id, source, target, amount))
        return row

    @rule(fund=st.sampled_from(FUNDS), amount=AMOUNTS)
    def appropriate(self, fund, amount):
        key = self._key()
        row = self._attempt(
            lambda: ledger.appropriate(fund, amount, actor=None, key=key),
            "world:appropriation",
            f"fund:{fund}:available",
            amount,
        )
        if row is not None:
            self.appropriations.append((key, fund, amount, row.id))

    @rule(call=st.sampled_from(sorted(CALL_FUND)), amount=AMOUNTS, back=st.booleans())
    def reserve_or_unreserve(self, call, amount, back):
        fund, key = CALL_FUND[call], self._key()
        if back:
            op, src, dst = ledger.unreserve, f"call:{call}:available", f"fund:{fund}:available"
        else:
            op, src, dst = ledger.reserve, f"fund:{fund}:available", f"call:{call}:available"
        self._attempt(lambda: op(fund, call, amount, actor=None, key=key), src, dst, amount)

    @rule(call=st.sampled_from(sorted(CALL_FUND)), amount=st.integers(1, 100))
    def reserve_from_the_wrong_fund(self, call, amount):
        if f"call:{call}:available" not in self.model or not _valid(amount):
            return
        wrong = next(f for f in FUNDS if f != CALL_FUND[call])
        with pytest.raises(ValidationFailed):
            ledger.reserve(wrong, call, amount, actor=None, key=self._key())

    @rule(grant=st.sampled_from(sorted(GRANT_CALL)), amount=AMOUNTS, back=st.booleans())
    def commit_or_decommit(self, grant, amount, back):
        call, key = GRANT_CALL[grant], self._key()
        committed, available = f"grant:{grant}:committed", f"call:{call}:available"
        op = ledger.decommit if back else ledger.commit
        src, dst = (committed, available) if back else (available, committed)
        self._attempt(lambda: op(call, grant, amount, actor=None, key=key), src, dst, amount)

    @rule(
        grant=st.sampled_from(sorted(GRANT_CALL)),
        amount=AMOUNTS,
        step=st.sampled_from(["release", "disburse", "demand", "received"]),
        voucher=st.sampled_from(["V1", "V2", "V3", "V4", "V5"]),
    )
    def move_grant_money(self, grant, amount, step, voucher):
        key, fund = self._key(), CALL_FUND[GRANT_CALL[grant]]
        g = f"grant:{grant}"
        if step == "release":
            call = lambda: ledger.release(grant, amount, actor=None, key=key)  # noqa: E731
            src, dst = f"{g}:committed", f"{g}:payable"
        elif step == "disburse":
            call = lambda: ledger.disburse(  # noqa: E731
                grant, amount, actor=None, key=key, voucher_no=voucher
            )
            src, dst = f"{g}:payable", f"{g}:disbursed"
        elif step == "demand":
            call = lambda: ledger.clawback_demand(grant, amount, actor=None, key=key)  # noqa: E731
            src, dst = f"{g}:disbursed", f"{g}:clawback_due"
        else:
            call = lambda: ledger.clawback_received(grant, fund, amount, actor=None, key=key)  # noqa: E731
            src, dst = f"{g}:clawback_due", f"fund:{fund}:available"
        refusal = Conflict if step == "disburse" and voucher in self.vouchers else None
        if self._attempt(call, src, dst, amount, refusal=refusal) and step == "disburse":
            self.vouchers.add(voucher)

    @rule(data=st.data())
    def reverse(self, data):
        if not self.done:
            return
        tid, src, dst, amount = data.draw(st.sampled_from(self.done))
        if self.model.get(dst, 0) < amount:
            with pytest.raises(InsufficientBalance):
                ledger.reverse(tid, actor=None, reason="测试冲正")
            return
        row = ledger.reverse(tid, actor=None, reason="测试冲正")
        self.model[dst] -= amount
        self.model[src] = self.model.get(src, 0) + amount
        self.done.remove((tid, src, dst, amount))
        self.reversals.append(row.id)
        with pytest.raises(Conflict):
            ledger.reverse(tid, actor=None, reason="再次冲正")

    @rule(data=st.data())
    def reverse_a_reversal(self, data):
        if self.reversals:
            with pytest.raises(ValidationFailed):
                ledger.reverse(data.draw(st.sampled_from(self.reversals)), actor=None, reason="x")

    @rule(data=st.data())
    def replay_a_key(self, data):
        if not self.appropriations:
            return
        key, fund, amount, tid = data.draw(st.sampled_from(self.appropriations))
        assert ledger.appropriate(fund, amount, actor=None, key=key).id == tid
        with pytest.raises(Conflict):
            ledger.appropriate(fund, amount + 1, actor=None, key=key)

    @invariant()
    def balances_match_the_model(self):
        for code, expected in self.model.items():
            assert balance(code) == expected, code

    @invariant()
    def ledger_invariants_hold(self):
        assert_invariants()


def test_random_operations_keep_every_invariant(app, session):
    with app.test_request_context():
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=40,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )
