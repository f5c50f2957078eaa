"""Row counts of every table and the audit chain: what "nothing was written" means."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db

AUDIT_TABLES = {"audit_event", "audit_head"}


def row_counts() -> dict[str, int]:
    """table → rows, for every table but the audit trail's own."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in AUDIT_TABLES
    }


def last_seq() -> int:
    return db.session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))


def actions_after(seq: int) -> list[str]:
    """The actions of the events appended after ``seq``, in order."""
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
        )
    )


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {k: (before[k], after[k]) for k in before if before[k] != after.get(k)}
