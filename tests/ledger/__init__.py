"""Ledger tests: shared helpers (plain functions; fixtures come from tests/conftest.py)."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from app.ledger.invariants import check_ledger
from app.ledger.models import LedgerAccount

_keys = itertools.count(1)


def key(prefix: str = "t") -> str:
    """A fresh idempotency key."""
    return f"{prefix}-{next(_keys)}"


def balance(code: str) -> int:
    """The cached balance of account ``code`` (0 when it does not exist yet)."""
    row = (
        LedgerAccount.query.session.execute(
            select(LedgerAccount.credits_fen - LedgerAccount.debits_fen).where(
                LedgerAccount.code == code
            )
        )
        .scalars()
        .first()
    )
    return row or 0


def assert_invariants() -> None:
    """Every ledger invariant holds."""
    fault = check_ledger()
    assert fault is None, str(fault)
