"""Money outside the tranche plan: matching-fund receipts (the co-building government's
register) and the claw-back register (追回台账)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.extensions import db


class MatchingReceipt(db.Model):
    """Matching funds (配套资金) received, recorded by the co-building government in its
    own register (not a ledger transfer: the ledger holds this fund's money only)."""

    __tablename__ = "matching_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    received_on: Mapped[date] = mapped_column(Date)
    voucher_no: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("project_id", "voucher_no", name="uq_matching_receipt_voucher"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("length(voucher_no) > 0", name="voucher_given"),
    )


class ClawbackEntry(db.Model):
    """The claw-back register (追回台账): each demand and each receipt, with its ledger
    transfer. Append-only."""

    __tablename__ = "clawback_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    on_date: Mapped[date] = mapped_column(Date)
    voucher_no: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        CheckConstraint("kind IN ('demand', 'receipt')", name="kind_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("kind <> 'receipt' OR length(voucher_no) > 0", name="receipt_voucher"),
    )
