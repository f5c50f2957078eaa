"""Random sequences of project and tranche operations against the real operations and
database: money never moves in a state that forbids it (no RELEASE while suspended,
terminated, revoked or closed; no DISBURSE beyond what was released), and every ledger
invariant holds after every step. Each example runs in a savepoint rolled back after."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from app.core import clock
from app.core.errors import DomainError
from app.extensions import db
from app.ledger import invariants
from app.ledger.models import LedgerTransfer
from app.projects import operations as ops
from app.projects.states import PAY_STATES, RELEASE_STATES
from tests.projects.helpers import project, submit_signed

WORLD = {}
NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def _sum(code: str, grant_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerTransfer.amount_fen), 0)).where(
                LedgerTransfer.code == code, LedgerTransfer.grant_id == grant_id
            )
        )
    )


class ProjectMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.savepoint = db.session.begin_nested()
        self.r = WORLD["r"]
        self.p = self.r.project
        self.vouchers = 0

    def teardown(self):
        self.savepoint.rollback()
        db.session.expire_all()

    def _try(self, fn):
        nested = db.session.begin_nested()
        try:
            with clock.frozen(NOW):
                result = fn()
        except DomainError:
            nested.rollback()
            db.session.expire_all()
            return None
        nested.commit()
        return result if result is not None else True

    @rule(seq=st.sampled_from([1, 2]))
    def report_and_accept(self, seq):
        r, m = self.r, self.p.milestones[seq]

        def go():
            report = ops.open_report(self.p, m, actor=r.applicant)
            ops.save_report(
                report,
                {"narrative": "进展。", "actual": {"0": "1", "1": "1", "2": "1"}},
                actor=r.applicant,
            )
            submit_signed(report, r)
            ops.accept_report(report, actor=r.officer)

        self._try(go)

    @rule(amount=st.sampled_from(["5000", "15000", "30000"]))
    def matching(self, amount):
        self.vouchers += 1
        no = f"M{self.vouchers}"
        self._try(
            lambda: ops.record_matching_receipt(
                self.p, amount, date(2026, 5, 1), no, actor=self.r.partner
            )
        )

    @rule(i=st.sampled_from([0, 1, 2]))
    def release(self, i):
        before = str(self.p.state)
        tranche = self.p.tranches[i]
        if self._try(lambda: ops.release_tranche(tranche, actor=self.r.approver)):
            assert before in RELEASE_STATES, before
            assert tranche.state == "released"

    @rule(i=st.sampled_from([0, 1, 2]), extra=st.sampled_from([0, 0, 1]))
    def pay(self, i, extra):
        before, tranche = str(self.p.state), self.p.tranches[i]
        was = str(tranche.state)
        self.vouchers += 1
        no = f"P{self.vouchers}"
        amount = tranche.amount_fen + extra
        if self._try(
            lambda: ops.pay_tranche(tranche, amount, no, date(2026, 5, 1), actor=self.r.finance)
        ):
            assert before in PAY_STATES and was == "released" and extra == 0

    @rule(kind=st.sampled_from(["suspend", "resume", "terminate", "revoke"]), fraud=st.booleans())
    def decide(self, kind, fraud):
        r = self.r

        def go():
            row = ops.propose_decision(
                self.p, kind, "理由。", actor=r.officer, fraud=fraud, ban_years=3 if fraud else None
            )
            ops.decide_decision(row, True, "同意。", actor=r.approver)

        self._try(go)

    @rule()
    def midterm(self):
        self._try(lambda: ops.begin_midterm(self.p, actor=self.r.officer))

    @rule()
    def pass_midterm(self):
        self._try(
            lambda: ops.record_midterm(self.p, "pass", {"findings": "合格。"}, actor=self.r.officer)
        )

    @rule()
    def settle(self):
        self._try(lambda: ops.settle_project(self.p, actor=self.r.officer))

    @rule(amount=st.sampled_from([1, 100_000]))
    def clawback_receipt(self, amount):
        self.vouchers += 1
        no = f"H{self.vouchers}"
        self._try(
            lambda: ops.record_clawback_receipt(
                self.p, amount, no, date(2026, 5, 1), actor=self.r.finance
            )
        )

    @invariant()
    def money_follows_the_states(self):
        db.session.flush()
        p, g = self.p, self.p.id
        released = _sum("RELEASE", g)
        disbursed = _sum("DISBURSE", g)
        assert disbursed <= p.amount_fen and released <= p.amount_fen
        assert sum(t.amount_fen for t in p.tranches if t.state == "paid") == disbursed
        assert disbursed <= released
        if p.state in ("clawback", "closed"):
            assert all(t.state in ("paid", "cancelled") for t in p.tranches)
            assert ops.balance(g, "committed") == 0 == ops.balance(g, "payable")
        if p.state == "suspended":
            assert not any(t.state == "releasable" for t in p.tranches)
        assert invariants.check_ledger() is None


def test_money_never_moves_in_a_state_that_forbids_it(app, session):
    WORLD["r"] = project(matching_fen=3_000_000)
    with app.test_request_context():
        run_state_machine_as_test(
            ProjectMachine,
            settings=settings(
                max_examples=25,
                stateful_step_count=15,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )
