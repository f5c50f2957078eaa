"""What the database itself guarantees: append-only rows, no overspending under concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from app.audit.verify import verify_all
from app.extensions import db
from app.ledger import operations as ledger
from app.ledger.operations import InsufficientBalance
from tests.conftest import ON_POSTGRES
from tests.ledger import assert_invariants, balance


def _seed(app, call_fen: int) -> None:
    with app.app_context(), app.test_request_context():
        ledger.appropriate(1, call_fen * 2, actor=None, key="seed-appropriate")
        ledger.reserve(1, 5, call_fen, actor=None, key="seed-reserve")
        db.session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transfer SET amount_fen = amount_fen + 1",
        "DELETE FROM ledger_transfer",
        "UPDATE ledger_entry SET debit_fen = debit_fen + 1 WHERE debit_fen > 0",
        "DELETE FROM ledger_entry",
    ],
)
def test_transfers_and_entries_are_append_only(committed_app, statement):
    _seed(committed_app, 1_000)
    with committed_app.app_context():
        with (
            db.engine.connect() as conn,
            pytest.raises(Exception, match="append-only"),
            conn.begin(),
        ):
            conn.execute(text(statement))
        assert_invariants()


def _race(app, threads: int, each_fen: int) -> tuple[int, int, list]:
    won, lost, other = [], [], []
    barrier = threading.Barrier(threads)

    def worker(i: int) -> None:
        with app.app_context(), app.test_request_context():
            barrier.wait()
            try:
                ledger.commit(5, 100 + i, each_fen, actor=None, key=f"race-{i}")
                db.session.commit()
                won.append(i)
            except InsufficientBalance:
                db.session.rollback()
                lost.append(i)
            except Exception as exc:  # any other failure is the bug this test looks for
                db.session.rollback()
                other.append(repr(exc))
            finally:
                db.session.remove()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(won), len(lost), other


def _check_after_race(app, won: int, each_fen: int, call_fen: int) -> None:
    with app.app_context():
        assert balance("call:5:available") == call_fen - won * each_fen
        assert_invariants()
        fault, _, _ = verify_all()
        assert fault is None, str(fault)


@pytest.mark.skipif(not ON_POSTGRES, reason="row-lock races matter on PostgreSQL")
def test_concurrent_commits_never_overspend_postgres(committed_app):
    _seed(committed_app, 1_000)
    won, lost, other = _race(committed_app, 50, 100)
    assert other == []
    assert (won, lost) == (10, 40)
    _check_after_race(committed_app, won, 100, 1_000)


def test_concurrent_commits_never_overspend_small(committed_app):
    _seed(committed_app, 500)
    won, lost, other = _race(committed_app, 12, 100)
    assert other == []
    assert (won, lost) == (5, 7)
    _check_after_race(committed_app, won, 100, 500)
