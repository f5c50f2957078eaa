"""Funds, calls, amendments, rubric snapshots and the per-call number counter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.calls.states import CATEGORY_LABELS, KINDS, CallState
from app.core import clock
from app.extensions import db

# The five task types of DOMAIN.md: the default categories of a call.
DEFAULT_CATEGORIES = ("consulting", "talent", "key_tech", "transfer", "outreach")
# The default budget lines for a small society fund (DOMAIN.md); "indirect" has a % cap.
DEFAULT_BUDGET_LINES = (
    ("expert_fee", "专家咨询费", "Expert consulting fees"),
    ("labour", "劳务费", "Labour"),
    ("travel", "差旅费", "Travel"),
    ("meeting", "会议/培训费", "Meetings and training"),
    ("outreach", "科普活动费", "Popular-science activities"),
    ("publication", "资料/印刷/出版费", "Materials, printing and publication"),
    ("equipment", "设备/材料费", "Equipment and materials"),
    ("other", "其他", "Other"),
    ("indirect", "间接费用", "Indirect costs"),
)
INDIRECT = "indirect"
DEFAULT_ATTACHMENTS = (
    ("agreement", "共建协议或合作意向书", "Co-building agreement or letter of intent"),
    ("budget_note", "经费预算说明", "Budget justification"),
)


class Fund(db.Model):
    """A year's special fund. Its money lives in the ledger (``fund:F:available``)."""

    __tablename__ = "fund"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("name", "year", name="uq_fund_name_year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )


class RubricSnapshot(db.Model):
    """The exact bytes of a rubric file, pinned when a call using it is published."""

    __tablename__ = "rubric_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rubric_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class Call(db.Model):
    """A call for applications (申报批次) and every rule applications are checked against."""

    __tablename__ = "call"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[CallState] = mapped_column(String(16), default=CallState.DRAFT, index=True)
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(300))
    guide: Mapped[str] = mapped_column(Text, default="")
    guide_en: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    total_budget_fen: Mapped[int] = mapped_column(BigInteger)
    project_cap_fen: Mapped[int] = mapped_column(BigInteger)
    per_society_limit: Mapped[int] = mapped_column(Integer, default=1)
    # [{"key", "zh", "en", "cap_fen" | None}]; the "indirect" line is capped by indirect_cap_pct.
    budget_lines: Mapped[list] = mapped_column(JSON, default=list)
    indirect_cap_pct: Mapped[int] = mapped_column(Integer, default=10)
    matching_required: Mapped[bool] = mapped_column(Boolean, default=False)
    matching_ratio_pct: Mapped[int] = mapped_column(Integer, default=0)
    # [{"key", "zh", "en"}]: attachment kinds every application must carry.
    required_attachments: Mapped[list] = mapped_column(JSON, default=list)
    rubric_file: Mapped[str] = mapped_column(String(200))
    rubric_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_snapshot.id"))
    reviews_per_application: Mapped[int] = mapped_column(Integer, default=3)
    notice_days: Mapped[int] = mapped_column(Integer, default=5)
    # 公示期按工作日计算 (holiday calendar of app/core/clock.py); otherwise calendar days.
    notice_working_days: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    number_pattern: Mapped[str] = mapped_column(String(60), default="{year}-ZL-{seq:03d}")
    max_returns: Mapped[int] = mapped_column(Integer, default=1)
    # 匿名评审: reviewers see a neutral code instead of the applicant's society and team.
    hide_applicant_identity: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    # 结余留用: a passed project's unspent balance may be kept (DOMAIN.md 16); else returned.
    balance_retention_allowed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    fund: Mapped[Fund] = relationship(lazy="joined")
    rubric_snapshot: Mapped[RubricSnapshot | None] = relationship()

    __table_args__ = (
        CheckConstraint(CallState.check_sql(), name="state_valid"),
        CheckConstraint(f"kind IN {KINDS}", name="kind_valid"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
        CheckConstraint("total_budget_fen > 0", name="budget_positive"),
        CheckConstraint(
            "project_cap_fen > 0 AND project_cap_fen <= total_budget_fen", name="cap_le_total"
        ),
        CheckConstraint("per_society_limit >= 1", name="limit_positive"),
        CheckConstraint("indirect_cap_pct BETWEEN 0 AND 100", name="indirect_pct_range"),
        CheckConstraint(
            "(matching_required AND matching_ratio_pct > 0) OR "
            "(NOT matching_required AND matching_ratio_pct = 0)",
            name="matching_ratio_iff_required",
        ),
        CheckConstraint("reviews_per_application >= 1", name="reviews_positive"),
        CheckConstraint("notice_days >= 1", name="notice_days_positive"),
        CheckConstraint("max_returns >= 0", name="max_returns_nonnegative"),
        CheckConstraint(
            "(state = 'draft') = (published_at IS NULL)", name="published_at_iff_published"
        ),
        CheckConstraint(
            "(state = 'draft') OR (rubric_snapshot_id IS NOT NULL)", name="published_has_rubric"
        ),
    )

    def category_label(self, key: str) -> str:
        """The Chinese (or English) name of a category key."""
        return str(CATEGORY_LABELS.get(key, key))

    def line(self, key: str) -> dict | None:
        """The budget line configured under ``key``."""
        return next((line for line in self.budget_lines or [] if line["key"] == key), None)


class CallAmendment(db.Model):
    """An audited change to a published call's rules, with its reason."""

    __tablename__ = "call_amendment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("call_id", "number", name="uq_call_amendment_call_id_number"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
    )


class CallCounter(db.Model):
    """The last project sequence number handed out in a call (one row per call)."""

    __tablename__ = "call_counter"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (CheckConstraint("last_seq >= 0", name="last_seq_nonnegative"),)
