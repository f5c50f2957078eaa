"""Ledger operations: every movement of money goes through ``transfer``.

Each operation flushes and writes exactly one audit event; none commits. The
named wrappers below are what the calls, awards and projects modules call from
inside their own transactions, with their own idempotency keys (for example
``f"award:{award_id}:commit"``) so a retried request never moves money twice.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from app.extensions import db
from app.ledger.models import WORLD, LedgerTransfer
from app.ledger.operations.posting import (
    ROUTES,
    InsufficientBalance,
    _lock_ledger,
    _post,
    call_code,
    fund_code,
    grant_code,
    transfer,
)
from app.ledger.permissions import can_appropriate

__all__ = [
    "ROUTES",
    "InsufficientBalance",
    "appropriate",
    "call_code",
    "clawback_demand",
    "clawback_received",
    "commit",
    "decommit",
    "disburse",
    "fund_code",
    "grant_code",
    "release",
    "reserve",
    "reverse",
    "transfer",
    "unreserve",
]


def appropriate(fund_id: int, amount_fen: int, *, actor, key: str, memo: str | None = None):
    """APPROPRIATE: finance puts ``amount_fen`` into fund ``fund_id`` (world → fund).

    ``actor`` must hold the finance role (or be None for the system). Raises
    ``NotAllowed``, ``ValidationFailed``, ``Conflict`` as ``transfer`` does.
    Writes the transfer, two entries and one ``ledger.appropriate`` event.
    """
    if actor is not None:
        decision = can_appropriate(actor, fund_id)
        if not decision:
            raise NotAllowed(decision.reason)
    return transfer(
        "APPROPRIATE", WORLD, fund_code(fund_id), amount_fen,
        actor=actor, idempotency_key=key, fund_id=fund_id, memo=memo,
    )  # fmt: skip


def reserve(fund_id: int, call_id: int, amount_fen: int, *, actor, key: str, memo=None):
    """RESERVE: set ``amount_fen`` of fund ``fund_id`` aside for call ``call_id``.

    Called when a call is published. The call's account is tagged with the fund
    on first use; a call draws on one fund only (``ValidationFailed`` otherwise).
    Raises ``InsufficientBalance`` when the fund's available balance is short.
    """
    return transfer(
        "RESERVE", fund_code(fund_id), call_code(call_id), amount_fen,
        actor=actor, idempotency_key=key, fund_id=fund_id, call_id=call_id, memo=memo,
    )  # fmt: skip


def unreserve(fund_id: int, call_id: int, amount_fen: int, *, actor, key: str, memo=None):
    """UNRESERVE: return ``amount_fen`` of call ``call_id``'s unawarded money to its fund.

    Called when a call is archived. Raises ``InsufficientBalance`` when the call
    holds less, ``ValidationFailed`` when the call belongs to another fund.
    """
    return transfer(
        "UNRESERVE", call_code(call_id), fund_code(fund_id), amount_fen,
        actor=actor, idempotency_key=key, fund_id=fund_id, call_id=call_id, memo=memo,
    )  # fmt: skip


def commit(call_id: int, grant_id: int, amount_fen: int, *, actor, key: str, memo=None):
    """COMMIT: an approved award binds ``amount_fen`` of call ``call_id`` to grant ``grant_id``.

    ``grant_id`` is the award's (and later the project's) id. The one
    conditional UPDATE makes concurrent approvals unable to overspend the call:
    the losers get ``InsufficientBalance`` and nothing is written for them.
    """
    return transfer(
        "COMMIT", call_code(call_id), grant_code(grant_id, "committed"), amount_fen,
        actor=actor, idempotency_key=key, call_id=call_id, grant_id=grant_id, memo=memo,
    )  # fmt: skip


def decommit(call_id: int, grant_id: int, amount_fen: int, *, actor, key: str, memo=None):
    """DECOMMIT: give ``amount_fen`` of grant ``grant_id``'s unreleased money back to its call.

    For a reduced or withdrawn award, or a terminated project. Raises
    ``InsufficientBalance`` when less is committed and unreleased.
    """
    return transfer(
        "DECOMMIT", grant_code(grant_id, "committed"), call_code(call_id), amount_fen,
        actor=actor, idempotency_key=key, call_id=call_id, grant_id=grant_id, memo=memo,
    )  # fmt: skip


def release(grant_id: int, amount_fen: int, *, actor, key: str, memo=None):
    """RELEASE: an approved tranche makes ``amount_fen`` of grant ``grant_id`` payable.

    Raises ``InsufficientBalance`` when the grant has less committed and
    unreleased, so releases never exceed commitments.
    """
    return transfer(
        "RELEASE", grant_code(grant_id, "committed"), grant_code(grant_id, "payable"), amount_fen,
        actor=actor, idempotency_key=key, grant_id=grant_id, memo=memo,
    )  # fmt: skip


def disburse(grant_id: int, amount_fen: int, *, actor, key: str, voucher_no: str, memo=None):
    """DISBURSE: finance records a payment of ``amount_fen`` to grant ``grant_id``'s society.

    ``voucher_no`` (the accounting voucher) is required and pays once: reusing
    it raises ``Conflict``. Raises ``InsufficientBalance`` beyond what is payable.
    """
    return transfer(
        "DISBURSE", grant_code(grant_id, "payable"), grant_code(grant_id, "disbursed"), amount_fen,
        actor=actor, idempotency_key=key, grant_id=grant_id, voucher_no=voucher_no, memo=memo,
    )  # fmt: skip


def clawback_demand(grant_id: int, amount_fen: int, *, actor, key: str, memo=None):
    """CLAWBACK_DEMAND: demand ``amount_fen`` of grant ``grant_id``'s paid money back.

    Raises ``InsufficientBalance`` when more is demanded than was disbursed.
    """
    return transfer(
        "CLAWBACK_DEMAND", grant_code(grant_id, "disbursed"), grant_code(grant_id, "clawback_due"),
        amount_fen, actor=actor, idempotency_key=key, grant_id=grant_id, memo=memo,
    )  # fmt: skip


def clawback_received(grant_id: int, fund_id: int, amount_fen: int, *, actor, key: str, memo=None):
    """CLAWBACK_RECEIVED: money demanded back from grant ``grant_id`` arrives in fund ``fund_id``.

    ``fund_id`` must be the grant's own fund (``ValidationFailed`` otherwise), so
    each fund's money stays conserved. Raises ``InsufficientBalance`` beyond
    what is due.
    """
    return transfer(
        "CLAWBACK_RECEIVED", grant_code(grant_id, "clawback_due"), fund_code(fund_id), amount_fen,
        actor=actor, idempotency_key=key, fund_id=fund_id, grant_id=grant_id, memo=memo,
    )  # fmt: skip


def reverse(transfer_id: int, *, actor, reason: str, key: str | None = None):
    """REVERSAL: undo transfer ``transfer_id`` by an opposite transfer (never an edit).

    The reversal moves the same amount from the original's target back to its
    source, with the same fund/call/grant tags (and voucher number), and
    records ``reason`` as its memo and as the audit event's reason. A transfer
    is reversed at most once (a unique ``reverses_id`` backs this) and a
    reversal is never itself reversed. With ``key``, a retried request returns
    the same reversal; without, a second reversal is refused.

    Raises ``NotFound``, ``ValidationFailed`` (no reason, reversing a reversal),
    ``Conflict`` (already reversed), ``InsufficientBalance`` (the money has
    moved on, e.g. a commitment already released: reverse that first).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("冲正必须填写原因。"), field="reason")
    _lock_ledger()
    original = db.session.get(LedgerTransfer, transfer_id)
    if original is None:
        raise NotFound(_("转账不存在。"))
    if original.code == "REVERSAL":
        raise ValidationFailed(_("冲正记录不能再被冲正。"))
    retry_allowed = key is not None
    key = key or f"reversal:{original.id}"
    done = db.session.execute(
        select(LedgerTransfer).where(LedgerTransfer.reverses_id == original.id)
    ).scalar_one_or_none()
    if done is not None:
        if retry_allowed and key == done.idempotency_key and done.memo == reason:
            return done
        raise Conflict(_("转账 %(id)s 已被冲正，不能重复冲正。", id=original.id))
    return _post(
        "REVERSAL",
        original.to_account.code,
        original.from_account.code,
        original.amount_fen,
        actor=actor,
        key=key,
        tags={
            "fund_id": original.fund_id,
            "call_id": original.call_id,
            "grant_id": original.grant_id,
        },
        voucher_no=original.voucher_no,
        memo=reason,
        reverses_id=original.id,
    )
