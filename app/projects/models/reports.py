"""Milestone and closing reports, their expenditures with vouchers, attachments and
immutable revisions."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.ddl import sql_list
from app.extensions import db
from app.projects.models.project import Milestone, Project
from app.projects.states import (
    EXPENDITURE_SOURCES,
    ReportState,
)


class ProjectReport(db.Model):
    """A progress report against a milestone, or the closing report (结题报告) with the
    final accounts. Edited as a draft; each submission is an immutable revision."""

    __tablename__ = "project_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestone.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[ReportState] = mapped_column(String(16), default=ReportState.DRAFT)
    narrative: Mapped[str] = mapped_column(Text, default="", server_default="")
    # [{"indicator", "unit", "target_value", "actual_value"}], one per performance target.
    target_values: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The society admin's sign-off (学会负责人审核): a submitted report reaches the officer
    # only once signed off; reset when it is submitted again.
    endorsed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    endorsed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comments: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship()
    milestone: Mapped[Milestone | None] = relationship()
    expenditures: Mapped[list[Expenditure]] = relationship(
        back_populates="report", order_by="Expenditure.id"
    )
    attachments: Mapped[list[ReportAttachment]] = relationship(order_by="ReportAttachment.id")
    revisions: Mapped[list[ReportRevision]] = relationship(order_by="ReportRevision.number")

    __table_args__ = (
        CheckConstraint("kind IN ('progress', 'closing')", name="kind_valid"),
        CheckConstraint(ReportState.check_sql(), name="state_valid"),
        CheckConstraint(
            "(kind = 'progress') = (milestone_id IS NOT NULL)", name="milestone_iff_progress"
        ),
        CheckConstraint("(state = 'draft') = (submitted_at IS NULL)", name="submitted_iff"),
        CheckConstraint(
            "(state IN ('accepted', 'returned')) = (decided_at IS NOT NULL)", name="decided_iff"
        ),
        CheckConstraint(
            "state <> 'returned' OR length(comments) > 0", name="returned_has_comments"
        ),
        db.Index(
            "uq_project_report_closing",
            "project_id",
            unique=True,
            sqlite_where=text("kind = 'closing'"),
            postgresql_where=text("kind = 'closing'"),
        ),
    )

    @property
    def is_endorsed(self) -> bool:
        """Signed off by the society admin (and so before the officer)."""
        return self.endorsed_at is not None

    def status_label(self) -> str:
        """The state's label, telling a report awaiting the society's sign-off apart."""
        if self.state == "submitted":
            return str(
                _l("学会已审核（待学会部审核）") if self.is_endorsed else _l("待学会负责人审核")
            )
        return str(ReportState(str(self.state)).label)


class Expenditure(db.Model):
    """One expenditure (支出) by budget line × source, with its voucher; a voucher
    number is used once per society (across all its reports)."""

    __tablename__ = "expenditure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("project_report.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    line_key: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16))
    spent_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    voucher_no: Mapped[str] = mapped_column(String(64))
    payee: Mapped[str] = mapped_column(String(200))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    report: Mapped[ProjectReport] = relationship(back_populates="expenditures")
    file = relationship("StoredFile")

    __table_args__ = (
        UniqueConstraint("society_id", "voucher_no", name="uq_expenditure_society_voucher"),
        CheckConstraint(f"source IN {sql_list(EXPENDITURE_SOURCES)}", name="source_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("length(voucher_no) > 0 AND length(payee) > 0", name="voucher_payee_given"),
    )


class ReportAttachment(db.Model):
    """A file attached to a report (deliverables, photos, minutes)."""

    __tablename__ = "report_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("project_report.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    file = relationship("StoredFile", lazy="joined")


class ReportRevision(db.Model):
    """A submitted report, frozen: canonical JSON snapshot and its sha256. Append-only
    (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "report_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("project_report.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("report_id", "number", name="uq_report_revision_number"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )
