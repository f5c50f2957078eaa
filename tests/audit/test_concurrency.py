"""Concurrent appends never fork or lose a link of the chain."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.audit import trail
from app.audit.context import audit_context
from app.audit.models import AuditEvent
from app.audit.verify import verify_chain
from app.extensions import db

THREADS, EACH = 16, 25


def test_concurrent_appends_leave_one_unbroken_chain(committed_app):
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def append(thread: int) -> None:
        try:
            with committed_app.app_context():
                start.wait()
                for i in range(EACH):
                    with audit_context(actor_role="system", user_agent=f"thread-{thread}"):
                        trail.record("test.append", "thread", thread, after={"i": i})
                        db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(t,)) for t in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors[:3]
    assert not any(worker.is_alive() for worker in workers)

    with committed_app.app_context():
        fault, last, _head = verify_chain()
        assert fault is None, str(fault)
        assert last == THREADS * EACH
        rows = db.session.execute(select(AuditEvent.entity_id, AuditEvent.after)).all()
        written = {(int(entity_id), after["i"]) for entity_id, after in rows}
        assert written == {(t, i) for t in range(THREADS) for i in range(EACH)}
        seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, THREADS * EACH + 1))
        db.session.remove()

    result = committed_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"OK {THREADS * EACH} events" in result.output
