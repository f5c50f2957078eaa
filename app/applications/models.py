"""Applications, their budget, targets, milestones, attachments, revisions,
decisions and duplicate-check flags."""

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
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.applications.states import ENDORSED_STATES, SUBMITTED_STATES, ApplicationState
from app.calls.models import Call
from app.core import clock
from app.core.ddl import sql_list
from app.core.models import StoredFile
from app.extensions import db
from app.stations.models import HighTechPark, Station

TARGET_GROUPS = ("output", "effect", "satisfaction")
DECISION_KINDS = ("society_return", "endorse", "matching", "accept", "return", "reject", "withdraw")


class Application(db.Model):
    """An application (申报书) of one society to one call; edited as a draft, then submitted."""

    __tablename__ = "application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"))  # indexed with id, below
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[ApplicationState] = mapped_column(
        String(16), default=ApplicationState.DRAFT, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id"))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("high_tech_park.id"))
    co_government_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    # {"name", "title", "organisation"}; team: [{"name", "title", "organisation", "role"}]
    chief_expert: Mapped[dict] = mapped_column(JSON, default=dict)
    team: Mapped[list] = mapped_column(JSON, default=list)
    # [{"name", "organisation", "reason"}], at most three.
    excluded_experts: Mapped[list] = mapped_column(JSON, default=list)
    pledge_integrity: Mapped[bool] = mapped_column(Boolean, default=False)
    pledge_no_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    # Totals of the budget table, kept with it on every save (queries, lists, the API).
    requested_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    matching_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    self_raised_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    project_number: Mapped[str | None] = mapped_column(String(40))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    endorsed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    endorsed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    sealed_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    matching_committed_fen: Mapped[int | None] = mapped_column(BigInteger)
    matching_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    matching_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    call: Mapped[Call] = relationship(lazy="joined")
    society: Mapped[Organisation] = relationship(foreign_keys=[society_id], lazy="joined")
    co_government: Mapped[Organisation | None] = relationship(foreign_keys=[co_government_id])
    station: Mapped[Station | None] = relationship()
    park: Mapped[HighTechPark | None] = relationship()
    budget: Mapped[list[BudgetLine]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="BudgetLine.position",
    )
    targets: Mapped[list[PerformanceTarget]] = relationship(
        cascade="all, delete-orphan", order_by="PerformanceTarget.position"
    )
    milestones: Mapped[list[MilestonePlan]] = relationship(
        cascade="all, delete-orphan", order_by="MilestonePlan.seq"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        cascade="all, delete-orphan", order_by="Attachment.id"
    )
    endorsed_by: Mapped[User | None] = relationship(foreign_keys=[endorsed_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    # The version is bumped by every operation that changes the row (``touch``) and
    # checked in each UPDATE's WHERE clause: a stale write can never overwrite.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    __table_args__ = (
        CheckConstraint(ApplicationState.check_sql(), name="state_valid"),
        UniqueConstraint("call_id", "project_number", name="uq_application_call_id_project_number"),
        # A call's applications newest first, a page at a time, from the index alone.
        Index("ix_application_call_id_id", "call_id", "id"),
        CheckConstraint(
            f"(state IN {sql_list(SUBMITTED_STATES)}) = (submitted_at IS NOT NULL) "
            "OR (state = 'withdrawn')",
            name="submitted_at_iff_submitted",
        ),
        CheckConstraint(
            "(submitted_at IS NULL) = (project_number IS NULL)", name="number_iff_submitted"
        ),
        CheckConstraint(
            f"(state IN {sql_list(ENDORSED_STATES)}) = (endorsed_at IS NOT NULL)",
            name="endorsed_at_iff_endorsed",
        ),
        CheckConstraint(
            "(endorsed_at IS NULL) = (endorsed_by_id IS NULL)", name="endorsement_complete"
        ),
        CheckConstraint(
            "(matching_confirmed_at IS NULL) = (matching_committed_fen IS NULL)",
            name="matching_complete",
        ),
        CheckConstraint(
            f"state NOT IN {sql_list(SUBMITTED_STATES)} "
            "OR (pledge_integrity AND pledge_no_duplicate)",
            name="submitted_pledged",
        ),
        CheckConstraint(
            "requested_fen >= 0 AND matching_fen >= 0 AND self_raised_fen >= 0",
            name="totals_nonnegative",
        ),
        CheckConstraint("return_count >= 0 AND version >= 1", name="counters_valid"),
    )

    def state_label(self, user) -> str:
        """The staff or applicant label of the state, as ``user`` should see it."""
        state = ApplicationState(self.state)
        if user is not None and user.has_role("applicant", "society_admin", "local_partner"):
            return state.applicant_label
        return state.label


class BudgetLine(db.Model):
    """One budget line of an application, split by source of money (integer fen)."""

    __tablename__ = "application_budget_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    line_key: Mapped[str] = mapped_column(String(40))
    fund_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    matching_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    self_raised_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(String(500))

    application: Mapped[Application] = relationship(back_populates="budget")

    __table_args__ = (
        UniqueConstraint("application_id", "line_key", name="uq_budget_line_application_key"),
        CheckConstraint(
            "fund_fen >= 0 AND matching_fen >= 0 AND self_raised_fen >= 0",
            name="amounts_nonnegative",
        ),
    )

    @property
    def total_fen(self) -> int:
        return self.fund_fen + self.matching_fen + self.self_raised_fen


class PerformanceTarget(db.Model):
    """A quantified performance target (绩效目标) in the output, effect or satisfaction group."""

    __tablename__ = "performance_target"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    target_group: Mapped[str] = mapped_column(String(16))
    indicator: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    # A decimal number as text ("12", "95.5"): exact, and never a float.
    target_value: Mapped[str] = mapped_column(String(30))

    __table_args__ = (CheckConstraint(f"target_group IN {TARGET_GROUPS}", name="group_valid"),)


class MilestonePlan(db.Model):
    """A planned milestone with its tranche share; seq 0 is signing the task agreement."""

    __tablename__ = "application_milestone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    deliverables: Mapped[str] = mapped_column(Text, default="")
    tranche_pct: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("application_id", "seq", name="uq_application_milestone_seq"),
        CheckConstraint("seq >= 0", name="seq_nonnegative"),
        CheckConstraint("tranche_pct BETWEEN 0 AND 100", name="pct_range"),
    )


class Attachment(db.Model):
    """A file of one of the call's required attachment kinds."""

    __tablename__ = "application_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    file: Mapped[StoredFile] = relationship(lazy="joined")


class Revision(db.Model):
    """An immutable snapshot of an application at one submission (append-only table)."""

    __tablename__ = "application_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("application_id", "number", name="uq_application_revision_number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )


class Decision(db.Model):
    """A decision on an application with the written reasons the applicant sees."""

    __tablename__ = "application_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN {DECISION_KINDS}", name="kind_valid"),
        CheckConstraint(
            "kind NOT IN ('society_return', 'return', 'reject') OR length(reason) > 0",
            name="reason_given",
        ),
    )


class DuplicateFlag(db.Model):
    """A pair of applications whose texts overlap (查重), for the officer to look at."""

    __tablename__ = "duplicate_flag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    other_is_past: Mapped[bool] = mapped_column(Boolean, default=False)
    # Containment in parts per thousand: an exact integer, never a float.
    score_permille: Mapped[int] = mapped_column(Integer)
    passages: Mapped[list] = mapped_column(JSON, default=list)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    application: Mapped[Application] = relationship(foreign_keys=[application_id])
    other: Mapped[Application] = relationship(foreign_keys=[other_id])

    __table_args__ = (
        UniqueConstraint("application_id", "other_id", name="uq_duplicate_flag_pair"),
        CheckConstraint("application_id <> other_id", name="distinct_pair"),
        CheckConstraint("score_permille BETWEEN 0 AND 1000", name="score_range"),
    )
