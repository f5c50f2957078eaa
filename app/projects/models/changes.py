"""Change requests (项目变更), mid-term checks and four-eyes project decisions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.ddl import sql_list
from app.extensions import db
from app.projects.models.project import Project
from app.projects.states import (
    CHANGE_KINDS,
    DECISION_KINDS,
    MAJOR_CHANGE_KINDS,
    MIDTERM_OUTCOMES,
    ChangeState,
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
