"""Fifty approvals racing for one call's budget: exactly as many succeed as fit."""

from __future__ import annotations

import threading

import pytest

from app.accounts.models import User
from app.audit.context import audit_context
from app.awards import operations as ops
from app.awards.models import Award
from app.core.errors import DomainError
from app.extensions import db
from app.ledger.operations import call_code
from tests import factories
from tests.awards.helpers import audit_and_ledger_ok, balance

pytestmark = pytest.mark.committed

N = 50


def test_concurrent_approvals_never_exceed_the_call_budget(committed_app):
    with committed_app.app_context(), audit_context(actor_role="test"):
        r = factories.reviewed_call(N, total_budget_fen=50_000_000)
        award_ids = [
            ops.propose_award(a, 4_400_000, "集体研究同意。", actor=r.officer).id for a in r.apps
        ]
        approver_id, call_id = r.approver.id, r.call.id
        db.session.commit()
    fit = 50_000_000 // 4_400_000
    barrier = threading.Barrier(N)
    ok, refused, bugs = [], [], []

    def approve(award_id):
        with committed_app.app_context(), audit_context(actor_role="test"):
            try:
                barrier.wait()
                award = db.session.get(Award, award_id)
                ops.approve_award(award, actor=db.session.get(User, approver_id))
                db.session.commit()
                ok.append(award_id)
            except DomainError as exc:
                db.session.rollback()
                refused.append(exc.message)
            except Exception as exc:  # noqa: BLE001 - a bug, reported below
                db.session.rollback()
                bugs.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(i,)) for i in award_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bugs, bugs
    assert len(ok) == fit and len(refused) == N - fit
    assert all(m.startswith("余额不足") for m in refused)
    with committed_app.app_context():
        states = db.session.scalars(db.select(Award.state).where(Award.call_id == call_id)).all()
        assert sorted(states).count("approved") == fit
        assert balance(call_code(call_id)) == 50_000_000 - fit * 4_400_000
        audit_and_ledger_ok()
        db.session.remove()
