"""Projects (the award after its agreement; same id as the award), milestones, tranches.

Minimal: created by the awards module when an award is confirmed (project
awaiting_agreement) and when its task agreement is signed (milestones and
planned tranches). The projects module extends these tables.
"""

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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.extensions import db
from app.projects.states import MilestoneState, ProjectState, TrancheState


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

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", order_by="Milestone.seq"
    )
    tranches: Mapped[list[Tranche]] = relationship(order_by="Tranche.seq")

    __table_args__ = (
        CheckConstraint(ProjectState.check_sql(), name="state_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "(state = 'awaiting_agreement') = (started_at IS NULL)",
            name="started_at_iff_started",
        ),
    )


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

    project: Mapped[Project] = relationship(back_populates="milestones")

    __table_args__ = (
        UniqueConstraint("project_id", "seq", name="uq_milestone_project_seq"),
        CheckConstraint(MilestoneState.check_sql(), name="state_valid"),
        CheckConstraint("seq >= 0", name="seq_nonnegative"),
        CheckConstraint("(state = 'accepted') = (accepted_at IS NOT NULL)", name="accepted_at_iff"),
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

    __table_args__ = (
        UniqueConstraint("project_id", "seq", name="uq_tranche_project_seq"),
        CheckConstraint(TrancheState.check_sql(), name="state_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )
