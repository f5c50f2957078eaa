"""The hash chain: appends link up, every kind of tampering is named, triggers hold."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from app.audit import trail
from app.audit.context import audit_context
from app.audit.models import AuditEvent, AuditHead
from app.audit.verify import verify_chain
from app.audit.verify_bundle import GENESIS_HASH, event_hash
from app.core import clock
from app.core.ddl import append_only_create, append_only_drop
from app.extensions import db
from tests import factories


def _spec_hash(prev: str, event: dict) -> str:
    """The hash exactly as DESIGN.md defines it, computed without the app's helpers."""
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"grant-audit-v1\n" + prev.encode() + body.encode("utf-8")).hexdigest()


def test_appends_link_into_a_chain(session):
    head_before = session.get(AuditHead, 1)
    start_seq, start_hash = head_before.seq, head_before.hash
    user = factories.user("officer")
    moment = datetime(2015, 3, 2, 1, 15, 0, 123456, tzinfo=UTC)
    with (
        clock.frozen(moment),
        audit_context(
            actor_id=user.id,
            actor_role="officer",
            org_id=user.org_id,
            ip="10.0.0.7",
            user_agent="pytest",
            request_id="req-1",
        ),
    ):
        first = trail.record("thing.create", "thing", 7, after={"amount_fen": 12_345, "n": "x"})
        second = trail.record("thing.update", "thing", 7, before={"n": "x"}, after={"n": "y"})
        third = trail.record("thing.close", "thing", 7, reason="结项")
    rows = [first, second, third]
    # The user's creation added events too; the three are the newest links.
    assert [r.seq for r in rows] == [third.seq - 2, third.seq - 1, third.seq]
    assert first.seq > start_seq
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    expected = {
        "seq": first.seq,
        "occurred_at": "2015-03-02T01:15:00.123456Z",
        "actor_id": user.id,
        "actor_role": "officer",
        "org_id": user.org_id,
        "ip": "10.0.0.7",
        "user_agent": "pytest",
        "request_id": "req-1",
        "action": "thing.create",
        "entity_type": "thing",
        "entity_id": "7",
        "before": None,
        "after": {"amount_fen": 12_345, "n": "x"},
        "reason": None,
    }
    assert trail.event_payload(first) == expected
    assert first.hash == _spec_hash(first.prev_hash, expected)
    assert first.hash == event_hash(first.prev_hash, expected)
    for row in rows:
        assert row.hash == event_hash(row.prev_hash, trail.event_payload(row))
    head = session.get(AuditHead, 1)
    assert (head.seq, head.hash) == (third.seq, third.hash)
    if start_seq == 0:
        assert start_hash == GENESIS_HASH

    # Read back from the database, the stored rows still hash to the stored hash.
    session.expire_all()
    stored = session.get(AuditEvent, first.seq)
    assert stored.hash == _spec_hash(stored.prev_hash, trail.event_payload(stored))
    assert verify_chain()[0] is None


def test_actor_argument_overrides_the_context(session):
    user = factories.user("finance")
    with audit_context(actor_role="system"):
        row = trail.record("x.y", "thing", 1, actor=user)
        by_role = trail.record("x.z", "thing", 1, actor=user, role="auditor")
    assert (row.actor_id, row.org_id, row.actor_role) == (user.id, user.org_id, "finance")
    assert by_role.actor_role == "auditor"


def test_decimals_are_hashed_as_strings(session):
    from decimal import Decimal

    row = trail.record("score.set", "review", 1, after={"score": Decimal("8.50"), "n": 3})
    assert row.after == {"score": "8.5", "n": 3}


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"]
)
def test_triggers_reject_update_and_delete(session, statement):
    trail.record("thing.create", "thing", 1)
    session.flush()
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))
    assert session.scalar(select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(1)) == (
        "thing.create"
    )


# ---------------------------------------------------------------- tampering


def _execute_ddl(statements) -> None:
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()


def _verify():
    db.session.commit()  # end the read snapshot, see what is committed now
    return verify_chain()[0]


def _tamper(column, seq, value) -> None:
    table = AuditEvent.__table__
    db.session.execute(update(table).where(table.c.seq == seq).values({column: value}))
    db.session.commit()


# column → a different value for the tampered row
ALTERED = {
    "occurred_at": lambda row: row.occurred_at + timedelta(microseconds=1),
    "actor_id": lambda row: None,
    "actor_role": lambda row: "admin",
    "org_id": lambda row: (row.org_id or 0) + 1,
    "ip": lambda row: "10.9.9.9",
    "user_agent": lambda row: "evil",
    "request_id": lambda row: "forged",
    "action": lambda row: "thing.delete",
    "entity_type": lambda row: "other",
    "entity_id": lambda row: "999",
    "before": lambda row: {"state": "forged"},
    "after": lambda row: {"amount_fen": 1},
    "reason": lambda row: "改过",
    "hash": lambda row: "f" * 64,
}


def test_every_kind_of_tampering_is_named(committed_app):
    with committed_app.app_context():
        dialect = db.engine.dialect.name
        with audit_context(actor_role="system", ip="127.0.0.1", user_agent="pytest"):
            user = factories.user("officer")
            db.session.commit()
            for i in range(4):
                trail.record("thing.step", "thing", i, actor=user, after={"i": i}, reason="r")
            db.session.commit()
        last = db.session.get(AuditHead, 1).seq
        target = last - 2  # a row in the middle, with a successor
        assert _verify() is None

        _execute_ddl(append_only_drop("audit_event", dialect))
        try:
            table = AuditEvent.__table__
            original = db.session.execute(select(table).where(table.c.seq == target)).one()
            for column, altered in ALTERED.items():
                old = getattr(original, column)
                _tamper(column, target, altered(original))
                fault = _verify()
                assert fault is not None, column
                assert (fault.kind, fault.seq) == ("altered_row", target), column
                _tamper(column, target, old)
                assert _verify() is None, column

            _tamper("prev_hash", target, "0" * 64)
            fault = _verify()
            assert (fault.kind, fault.seq) == ("broken_link", target)
            _tamper("prev_hash", target, original.prev_hash)

            _tamper("seq", target, last + 50)
            fault = _verify()
            assert (fault.kind, fault.seq) == ("gap", target)
            _tamper("seq", last + 50, target)
            assert _verify() is None

            db.session.execute(update(AuditHead).values(hash="e" * 64))
            db.session.commit()
            fault = _verify()
            assert fault.kind == "head_mismatch"
            db.session.execute(update(AuditHead).values(hash=db.session.get(AuditEvent, last).hash))
            db.session.commit()
            assert _verify() is None

            db.session.execute(delete(table).where(table.c.seq == target))
            db.session.commit()
            fault = _verify()
            assert (fault.kind, fault.seq) == ("gap", target)
        finally:
            db.session.rollback()
            _execute_ddl(append_only_create("audit_event", dialect))

        # The recreated trigger holds again.
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("UPDATE audit_event SET reason = 'x'"))
            db.session.commit()
        db.session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_event"))
            db.session.commit()
        db.session.rollback()
        db.session.remove()
