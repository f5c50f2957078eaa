"""Append events to the hash chain inside the business transaction."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from sqlalchemy import select

from app.audit import context
from app.audit.models import AuditEvent, AuditHead
from app.audit.verify_bundle import event_hash
from app.core import clock
from app.extensions import db


def _plain(value):
    """Make a payload hashable as the spec says: ints stay, decimals become strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | float):
        return format(Decimal(str(value)).normalize(), "f")
    if hasattr(value, "isoformat"):
        return clock.rfc3339(value) if hasattr(value, "hour") else value.isoformat()
    return value


def event_payload(row: AuditEvent) -> dict:
    """The hashed fields of a stored event, as the hash was computed."""
    return {
        "seq": row.seq,
        "occurred_at": clock.rfc3339(row.occurred_at),
        "actor_id": row.actor_id,
        "actor_role": row.actor_role,
        "org_id": row.org_id,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "request_id": row.request_id,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "before": row.before,
        "after": row.after,
        "reason": row.reason,
    }


def record(
    action: str,
    entity_type: str,
    entity_id=None,
    *,
    actor=None,
    role: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event to the chain and flush; the caller's transaction commits it.

    ``actor`` (a user) overrides the context's actor; ``role`` the acting role.
    Payloads must hold ids, never personal data (phone, ID, e-mail, bank account).
    The head row is locked (``FOR UPDATE``; on SQLite the write transaction is
    already ``BEGIN IMMEDIATE``) so concurrent appends never fork the chain.
    """
    ctx = context.current()
    actor_id, org_id, actor_role = ctx.actor_id, ctx.org_id, ctx.actor_role
    if actor is not None:
        actor_id, org_id = actor.id, actor.org_id
        if actor_id != ctx.actor_id or not actor_role:
            actor_role = actor.primary_role
    if role:
        actor_role = role
    head = db.session.execute(
        # populate_existing: a head loaded earlier in this session (before the lock) is stale.
        select(AuditHead)
        .where(AuditHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    occurred = clock.now()
    row = AuditEvent(
        seq=head.seq + 1,
        occurred_at=occurred,
        actor_id=actor_id,
        actor_role=actor_role,
        org_id=org_id,
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:400] or None,
        request_id=ctx.request_id,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=_plain(before),
        after=_plain(after),
        reason=reason,
        prev_hash=head.hash,
    )
    row.hash = event_hash(head.hash, event_payload(row))
    head.seq, head.hash = row.seq, row.hash
    db.session.add(row)
    db.session.flush()
    return row
