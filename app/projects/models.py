"""Projects (the award after its agreement; same id as the award), milestones, tranches,
reports with immutable revisions and expenditures, matching-fund receipts, change
requests, mid-term checks, four-eyes decisions and the claw-back register.

The awards module creates the project (awaiting_agreement) when an award is confirmed,
and its milestones and planned tranches when the task agreement is signed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
from app.projects.states import (
    CHANGE_KINDS,
    DECISION_KINDS,
    ENDED_STATES,
    EXPENDITURE_SOURCES,
    MAJOR_CHANGE_KINDS,
    MIDTERM_OUTCOMES,
    OUTCOMES,
    SETTLED_STATES,
    ChangeState,
    MilestoneState,
    ProjectState,
    ReportState,
    TrancheState,
)


class Project(db.Model):
    """A funded project; ``id`` is its award's id (and the ledger's grant id)."""

    __tablename__ = "project"

    id: Mapped[int] = mapped_column(ForeignKey("award.id"), primary_key=True, autoincrement=False)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[ProjectState] = mapped_column(
        String(32), default=ProjectState.AWAITING_AGREEMENT, index=True
    )
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The planned end after an approved extension (else the last milestone's due date).
    end_on: Mapped[date | None] = mapped_column(Date)
    extension_months: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Rectification (限期整改): at the mid-term check or at acceptance (once).
    rectify_stage: Mapped[str | None] = mapped_column(String(16))
    rectify_by: Mapped[date | None] = mapped_column(Date)
    rectify_items: Mapped[str | None] = mapped_column(Text)
    acceptance_rectified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Settlement of the balance (结余): unspent paid money, kept or demanded back.
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unspent_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    retained_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    retained_until: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", order_by="Milestone.seq"
    )
    tranches: Mapped[list[Tranche]] = relationship(order_by="Tranche.seq")
    award = relationship("Award", lazy="joined", foreign_keys=[id], viewonly=True)
    society = relationship("Organisation", foreign_keys=[society_id], viewonly=True)
    application = relationship("Application", foreign_keys=[application_id], viewonly=True)

    __table_args__ = (
        CheckConstraint(ProjectState.check_sql(), name="state_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "(state = 'awaiting_agreement') = (started_at IS NULL)",
            name="started_at_iff_started",
        ),
        CheckConstraint("extension_months >= 0", name="extension_nonnegative"),
        CheckConstraint(
            "rectify_stage IS NULL OR rectify_stage IN ('midterm', 'acceptance')",
            name="rectify_stage_valid",
        ),
        CheckConstraint(
            "state <> 'rectifying' OR (rectify_stage IS NOT NULL AND rectify_by IS NOT NULL "
            "AND length(rectify_items) > 0)",
            name="rectifying_has_terms",
        ),
        CheckConstraint(
            f"outcome IS NULL OR outcome IN {sql_list(OUTCOMES)}", name="outcome_valid"
        ),
        CheckConstraint(
            f"state NOT IN {sql_list(OUTCOMES)} OR outcome = state", name="outcome_matches_state"
        ),
        CheckConstraint("(outcome IS NULL) = (outcome_at IS NULL)", name="outcome_at_iff"),
        CheckConstraint(
            f"state NOT IN {sql_list(ENDED_STATES)} OR ended_at IS NOT NULL",
            name="ended_at_when_ended",
        ),
        CheckConstraint(
            f"state NOT IN {sql_list(SETTLED_STATES)} OR settled_at IS NOT NULL",
            name="settled_when_settled",
        ),
        CheckConstraint(
            "unspent_fen >= 0 AND retained_fen >= 0 AND retained_fen <= unspent_fen",
            name="balance_amounts",
        ),
        CheckConstraint("(retained_fen = 0) = (retained_until IS NULL)", name="retained_until_iff"),
        CheckConstraint(
            "state NOT IN ('closed', 'archived') OR closed_at IS NOT NULL",
            name="closed_at_when_closed",
        ),
        CheckConstraint("(state = 'archived') = (archived_at IS NOT NULL)", name="archived_iff"),
    )

    def state_label(self, user=None) -> str:
        """The state's label (projects have one label for staff and societies)."""
        return ProjectState(str(self.state)).label


class Milestone(db.Model):
    """A milestone of a project; seq 0 is signing the task agreement."""

    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    deliverables: Mapped[str] = mapped_column(Text, default="", server_default="")
    state: Mapped[MilestoneState] = mapped_column(String(16), default=MilestoneState.PLANNED)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The overdue flag (not a state): set by the tick when the report is late.
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    project: Mapped[Project] = relationship(back_populates="milestones")

    __table_args__ = (
        UniqueConstraint("project_id", "seq", name="uq_milestone_project_seq"),
        CheckConstraint(MilestoneState.check_sql(), name="state_valid"),
        CheckConstraint("seq >= 0", name="seq_nonnegative"),
        CheckConstraint("(state = 'accepted') = (accepted_at IS NOT NULL)", name="accepted_at_iff"),
        CheckConstraint(
            "accepted_by_id IS NULL OR state = 'accepted'", name="accepted_by_when_accepted"
        ),
    )

    def is_overdue(self, today: date | None = None) -> bool:
        """The report is owed and its due date has passed (Asia/Shanghai days)."""
        return (
            self.seq > 0
            and self.due_on is not None
            and str(self.state) in ("planned", "due", "returned")
            and (today or clock.today()) > self.due_on
        )


class Tranche(db.Model):
    """A planned disbursement of a project, tied to its milestone."""

    __tablename__ = "tranche"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id"), unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[TrancheState] = mapped_column(String(16), default=TrancheState.PLANNED)
    withheld_reason: Mapped[str | None] = mapped_column(Text)
    # Four-eyes: the approver who releases is never the officer who accepted the milestone.
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    release_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_on: Mapped[date | None] = mapped_column(Date)
    voucher_no: Mapped[str | None] = mapped_column(String(64))
    disburse_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    milestone: Mapped[Milestone] = relationship()

    __table_args__ = (
        UniqueConstraint("project_id", "seq", name="uq_tranche_project_seq"),
        CheckConstraint(TrancheState.check_sql(), name="state_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "state NOT IN ('released', 'paid') OR (released_at IS NOT NULL AND "
            "released_by_id IS NOT NULL AND release_transfer_id IS NOT NULL)",
            name="released_complete",
        ),
        CheckConstraint(
            "released_by_id IS NULL OR accepted_by_id IS NULL OR released_by_id <> accepted_by_id",
            name="four_eyes",
        ),
        CheckConstraint(
            "(state = 'paid') = (disburse_transfer_id IS NOT NULL) AND "
            "(disburse_transfer_id IS NULL) = (voucher_no IS NULL) AND "
            "(voucher_no IS NULL) = (paid_on IS NULL)",
            name="paid_complete",
        ),
        CheckConstraint("(state = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_iff"),
        CheckConstraint(
            "state <> 'withheld' OR length(withheld_reason) > 0", name="withheld_has_reason"
        ),
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


class ChangeRequest(db.Model):
    """A change request (项目变更): major ones approved by the approver with a numbered
    amendment (补充任务书) of the awards module; minor ones recorded (备案)."""

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    is_major: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[ChangeState] = mapped_column(String(16), default=ChangeState.DRAFT, index=True)
    description: Mapped[str] = mapped_column(Text)
    # leader/name: {"value"}; lead_org: {"org_name"}; targets: {"targets": [...]};
    # reallocation: {"from_line", "to_line", "amount_fen"}; extension: {"months"}.
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The officer's review: the amendment drafted and submitted for approval.
    forwarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    forwarded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("agreement_amendment.id"))
    amendment_number: Mapped[int | None] = mapped_column(Integer)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_list(CHANGE_KINDS)}", name="kind_valid"),
        CheckConstraint(
            f"is_major = (kind IN {sql_list(MAJOR_CHANGE_KINDS)})", name="major_by_kind"
        ),
        CheckConstraint(ChangeState.check_sql(), name="state_valid"),
        CheckConstraint("length(description) > 0", name="description_given"),
        CheckConstraint("(state = 'draft') = (submitted_at IS NULL)", name="submitted_iff"),
        CheckConstraint(
            "(state IN ('approved', 'rejected', 'recorded')) = (decided_at IS NOT NULL)",
            name="decided_iff",
        ),
        CheckConstraint(
            "is_major OR state NOT IN ('approved', 'rejected')", name="minor_only_recorded"
        ),
        CheckConstraint("NOT is_major OR state <> 'recorded'", name="major_never_recorded"),
        CheckConstraint(
            "state <> 'approved' OR (amendment_id IS NOT NULL AND amendment_number IS NOT NULL)",
            name="approved_has_amendment",
        ),
        CheckConstraint(
            "decided_by_id IS NULL OR forwarded_by_id IS NULL OR decided_by_id <> forwarded_by_id",
            name="four_eyes",
        ),
    )


class MidtermCheck(db.Model):
    """The mid-term check (中期检查) outcome recorded by the officer from the reports, an
    evaluation if any, and a site visit; a suspension awaits the approver (four-eyes)."""

    __tablename__ = "midterm_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    findings: Mapped[str] = mapped_column(Text)
    report_ids: Mapped[list] = mapped_column(JSON, default=list)
    evaluation_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    site_visit_on: Mapped[date | None] = mapped_column(Date)
    site_visit_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    site_visit_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    rectify_by: Mapped[date | None] = mapped_column(Date)
    rectify_items: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        CheckConstraint(f"outcome IN {sql_list(MIDTERM_OUTCOMES)}", name="outcome_valid"),
        CheckConstraint("length(findings) > 0", name="findings_given"),
        CheckConstraint(
            "outcome <> 'rectify' OR (rectify_by IS NOT NULL AND length(rectify_items) > 0)",
            name="rectify_has_terms",
        ),
    )


class ProjectDecision(db.Model):
    """A proposed suspension, resumption, termination or revocation: proposed by an
    officer, decided by an approver who is not the proposer (four-eyes)."""

    __tablename__ = "project_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    reason: Mapped[str] = mapped_column(Text)
    fraud: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    ban_years: Mapped[int | None] = mapped_column(Integer)
    midterm_check_id: Mapped[int | None] = mapped_column(ForeignKey("midterm_check.id"))
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_list(DECISION_KINDS)}", name="kind_valid"),
        CheckConstraint("state IN ('proposed', 'approved', 'rejected')", name="state_valid"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
        CheckConstraint("(state = 'proposed') = (decided_at IS NULL)", name="decided_iff"),
        CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> proposed_by_id", name="four_eyes"
        ),
        CheckConstraint("NOT fraud OR kind = 'revoke'", name="fraud_only_revoke"),
        CheckConstraint("(ban_years IS NOT NULL) = fraud", name="ban_iff_fraud"),
        CheckConstraint("ban_years IS NULL OR ban_years BETWEEN 1 AND 10", name="ban_years_range"),
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
