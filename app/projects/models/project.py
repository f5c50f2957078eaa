"""Projects (the award after its agreement; same id as the award), their milestones and
planned tranches.

The awards module creates the project (awaiting_agreement) when an award is confirmed,
and its milestones and planned tranches when the task agreement is signed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.ddl import sql_list
from app.extensions import db
from app.projects.states import (
    ENDED_STATES,
    OUTCOMES,
    SETTLED_STATES,
    MilestoneState,
    ProjectState,
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
    # The closing-report overdue flag (not a state): set by the tick when no closing report
    # reached the officer ``CLOSING_REPORT_DAYS`` after the planned end.
    closing_overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

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
