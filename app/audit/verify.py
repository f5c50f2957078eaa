"""Recompute the chain (and every registered invariant) and name the first fault."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from app.audit.models import AuditEvent, AuditHead
from app.audit.trail import event_payload
from app.audit.verify_bundle import GENESIS_HASH, event_hash
from app.extensions import db


@dataclass(frozen=True)
class Fault:
    """The first thing found wrong: where, and what kind of fault."""

    kind: str  # gap | broken_link | altered_row | head_mismatch | ledger | file | checkpoint
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"seq {self.seq}: " if self.seq is not None else ""
        return f"{where}{self.kind} — {self.detail}"


# Other modules (ledger, files) add their own checks; each returns a Fault or None.
EXTRA_CHECKS: list[Callable[[], Fault | None]] = []


def iter_events(batch: int = 5000, after_seq: int = 0) -> Iterator:
    """All events in seq order as plain rows, streamed (no identity map to grow)."""
    table = AuditEvent.__table__
    stmt = select(table).where(table.c.seq > after_seq).order_by(table.c.seq)
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    for partition in result.partitions(batch):
        yield from partition


def verify_chain() -> tuple[Fault | None, int, str]:
    """Check every link; return (first fault or None, last seq, head hash)."""
    expected_seq, prev = 1, GENESIS_HASH
    for row in iter_events():
        if row.seq != expected_seq:
            return (
                Fault("gap", expected_seq, f"expected seq {expected_seq}, found {row.seq}"),
                0,
                prev,
            )
        if row.prev_hash != prev:
            return (
                Fault("broken_link", row.seq, "prev_hash does not match the previous hash"),
                0,
                prev,
            )
        if event_hash(prev, event_payload(row)) != row.hash:
            return (
                Fault("altered_row", row.seq, "recomputed hash differs from the stored hash"),
                0,
                prev,
            )
        prev, expected_seq = row.hash, expected_seq + 1
    last = expected_seq - 1
    head = db.session.get(AuditHead, 1)
    if head is None or head.seq != last or head.hash != prev:
        return Fault("head_mismatch", last, "audit_head does not match the last event"), last, prev
    return None, last, prev


def verify_all() -> tuple[Fault | None, int, str]:
    """The chain, then every registered invariant check."""
    fault, last, head = verify_chain()
    if fault:
        return fault, last, head
    for check in EXTRA_CHECKS:
        fault = check()
        if fault:
            return fault, last, head
    return None, last, head
