"""Shared checks for the awards tests."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.ledger.models import LedgerAccount


def events(action: str, entity_id=None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == str(entity_id))
    return list(db.session.scalars(stmt))


def balance(code: str) -> int:
    db.session.flush()
    row = db.session.execute(
        select(LedgerAccount.credits_fen, LedgerAccount.debits_fen).where(
            LedgerAccount.code == code
        )
    ).first()
    return 0 if row is None else row[0] - row[1]


def audit_and_ledger_ok() -> None:
    """The chain verifies and every ledger invariant holds (trial balance included)."""
    from app.audit.verify import verify_all
    from app.ledger import invariants

    db.session.flush()
    assert invariants.check_ledger() is None
    fault, _last, _head = verify_all()
    assert fault is None, fault
