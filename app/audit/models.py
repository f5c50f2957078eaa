"""Audit trail tables: append-only events and the single head row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

_BigInt = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(db.Model):
    """One link of the chain. UPDATE and DELETE are rejected by triggers."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(_BigInt, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The actor is referenced by id and users are never deleted, only disabled or erased.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT"), index=True
    )
    actor_role: Mapped[str | None] = mapped_column(String(32))
    org_id: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    request_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        CheckConstraint("seq > 0", name="seq_positive"),
        db.Index("ix_audit_event_entity", "entity_type", "entity_id"),
        db.Index("ix_audit_event_occurred_at", "occurred_at"),
    )


class AuditHead(db.Model):
    """The single row whose lock serialises appends; holds the chain head."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(_BigInt, default=0)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
