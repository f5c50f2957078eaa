"""Ledger tables: accounts with cached totals, append-only transfers and entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.extensions import db

_BigInt = BigInteger().with_variant(Integer, "sqlite")

WORLD = "world:appropriation"
ACCOUNT_KINDS = (
    "world",
    "fund_available",
    "call_available",
    "grant_committed",
    "grant_payable",
    "grant_disbursed",
    "grant_clawback_due",
)
TRANSFER_CODES = (
    "APPROPRIATE",
    "RESERVE",
    "UNRESERVE",
    "COMMIT",
    "DECOMMIT",
    "RELEASE",
    "DISBURSE",
    "CLAWBACK_DEMAND",
    "CLAWBACK_RECEIVED",
    "REVERSAL",
)


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class LedgerAccount(db.Model):
    """One account per code; debits and credits are cached totals of its entries.

    The fund/call/grant ids tag which fund's money the account holds, so the
    per-fund conservation check and the filters need no join to other modules.
    """

    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    may_go_negative: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    fund_id: Mapped[int | None] = mapped_column(Integer, index=True)
    call_id: Mapped[int | None] = mapped_column(Integer, index=True)
    grant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    debits_fen: Mapped[int] = mapped_column(_BigInt, default=0, server_default="0")
    credits_fen: Mapped[int] = mapped_column(_BigInt, default=0, server_default="0")

    __table_args__ = (
        CheckConstraint(f"kind IN {_in(ACCOUNT_KINDS)}", name="kind_valid"),
        # Only the world account may go negative; the flag mirrors the code so
        # the conditional UPDATE can test one column.
        CheckConstraint(
            "may_go_negative = (code = 'world:appropriation')", name="may_go_negative_world"
        ),
        CheckConstraint(
            "code = 'world:appropriation' OR credits_fen - debits_fen >= 0",
            name="balance_not_negative",
        ),
        CheckConstraint("debits_fen >= 0 AND credits_fen >= 0", name="totals_not_negative"),
    )

    @property
    def balance_fen(self) -> int:
        return self.credits_fen - self.debits_fen


class LedgerTransfer(db.Model):
    """A movement of ``amount_fen`` from one account to another. Never edited."""

    __tablename__ = "ledger_transfer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), index=True)
    from_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    to_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(_BigInt)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    fund_id: Mapped[int | None] = mapped_column(Integer, index=True)
    call_id: Mapped[int | None] = mapped_column(Integer, index=True)
    grant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    voucher_no: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT"), index=True
    )

    from_account: Mapped[LedgerAccount] = relationship(foreign_keys=[from_account_id])
    to_account: Mapped[LedgerAccount] = relationship(foreign_keys=[to_account_id])

    __table_args__ = (
        CheckConstraint(f"code IN {_in(TRANSFER_CODES)}", name="code_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("from_account_id <> to_account_id", name="distinct_accounts"),
        CheckConstraint(
            "(code = 'REVERSAL') = (reverses_id IS NOT NULL)", name="reversal_has_original"
        ),
        CheckConstraint("code <> 'DISBURSE' OR voucher_no IS NOT NULL", name="disburse_voucher"),
        # A voucher pays once; a reversal may repeat its original's number.
        db.Index(
            "uq_ledger_transfer_disburse_voucher",
            "voucher_no",
            unique=True,
            sqlite_where=text("code = 'DISBURSE'"),
            postgresql_where=text("code = 'DISBURSE'"),
        ),
        db.Index("ix_ledger_transfer_occurred_at", "occurred_at"),
    )


class LedgerEntry(db.Model):
    """One side of a transfer: a debit on its source or a credit on its target."""

    __tablename__ = "ledger_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    debit_fen: Mapped[int] = mapped_column(_BigInt, default=0, server_default="0")
    credit_fen: Mapped[int] = mapped_column(_BigInt, default=0, server_default="0")

    __table_args__ = (
        CheckConstraint(
            "(debit_fen > 0 AND credit_fen = 0) OR (debit_fen = 0 AND credit_fen > 0)",
            name="one_side",
        ),
        db.UniqueConstraint("transfer_id", "account_id", name="uq_ledger_entry_transfer_account"),
    )
