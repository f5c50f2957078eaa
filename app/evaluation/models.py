"""Third-party performance evaluation: engagements of an agency, their evaluators and
independence checks, one evaluation per project with its self-evaluation and agency
score sheets, and the rectification items of its problem list."""

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
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.calls.models import RubricSnapshot
from app.core import clock
from app.core.ddl import sql_list
from app.core.models import StoredFile
from app.evaluation.states import (
    CHECK_OUTCOMES,
    CHECK_SUBJECTS,
    FOLLOW_UPS,
    GRADES,
    KINDS,
    SELF_DONE_STATES,
    SHEETS,
    SUBMITTED_STATES,
    EvaluationState,
    RectificationState,
)
from app.extensions import db
from app.projects.models import Project
from app.reviews.states import CONFLICT_REASONS, RELATION_KINDS


class Engagement(db.Model):
    """The department engages an evaluation agency for a set of projects (评价委托)."""

    __tablename__ = "evaluation_engagement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    # The performance rubric's exact bytes and digest, pinned when the engagement is made.
    rubric_snapshot_id: Mapped[int] = mapped_column(ForeignKey("rubric_snapshot.id"))
    rubric_sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    agency: Mapped[Organisation] = relationship(lazy="joined")
    rubric_snapshot: Mapped[RubricSnapshot] = relationship()
    members: Mapped[list[EngagementMember]] = relationship(
        back_populates="engagement", order_by="EngagementMember.id"
    )
    evaluations: Mapped[list[Evaluation]] = relationship(
        back_populates="engagement", order_by="Evaluation.id"
    )

    __table_args__ = (
        CheckConstraint(f"kind IN {sql_list(KINDS)}", name="kind_valid"),
        CheckConstraint("length(scope) > 0", name="scope_given"),
        CheckConstraint("length(rubric_sha256) = 64", name="sha256_length"),
    )

    def member_for(self, user) -> EngagementMember | None:
        """The membership of ``user`` in this engagement, if any."""
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return next((m for m in self.members if m.user_id == user.id), None)

    @property
    def lead(self) -> EngagementMember | None:
        return next((m for m in self.members if m.is_lead), None)


class EngagementMember(db.Model):
    """An evaluator of the agency on an engagement; one member is its lead (a flag, not a role).

    The evaluator sees nothing of the projects before declaring independence
    (``declared_at``); a member with a tie is recused and never gets access.
    """

    __tablename__ = "evaluation_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("evaluation_engagement.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    declared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    declaration: Mapped[str | None] = mapped_column(Text)
    recused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recusal_reason: Mapped[str | None] = mapped_column(Text)

    engagement: Mapped[Engagement] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("engagement_id", "user_id", name="uq_evaluation_member_user"),
        CheckConstraint("declared_at IS NULL OR recused_at IS NULL", name="declared_or_recused"),
        CheckConstraint(
            "(declared_at IS NULL) = (declaration IS NULL)", name="declaration_complete"
        ),
        CheckConstraint(
            "(recused_at IS NULL) = (recusal_reason IS NULL)", name="recusal_has_reason"
        ),
        # One lead per engagement.
        db.Index(
            "uq_evaluation_member_lead",
            "engagement_id",
            unique=True,
            sqlite_where=text("is_lead"),
            postgresql_where=text("is_lead"),
        ),
    )

    @property
    def may_access(self) -> bool:
        """Declared independent and not recused: may see and score the projects."""
        return self.declared_at is not None and self.recused_at is None


class EvaluatorTie(db.Model):
    """A relationship an evaluator declared with an organisation (the review relation kinds)."""

    __tablename__ = "evaluator_tie"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(20))
    until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(300))
    engagement_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_engagement.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    org: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint(f"kind IN {sql_list(RELATION_KINDS)}", name="kind_valid"),)


class IndependenceCheck(db.Model):
    """One independence check of the agency or an evaluator against one project, kept."""

    __tablename__ = "evaluation_independence_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int | None] = mapped_column(
        ForeignKey("evaluation_engagement.id"), index=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    subject: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    outcome: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16), default="engagement")
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        CheckConstraint(f"subject IN {sql_list(CHECK_SUBJECTS)}", name="subject_valid"),
        CheckConstraint(f"outcome IN {sql_list(CHECK_OUTCOMES)}", name="outcome_valid"),
        CheckConstraint("stage IN ('engagement', 'declaration')", name="stage_valid"),
        CheckConstraint(
            f"(outcome = 'clear' AND reason IS NULL) OR "
            f"(outcome = 'tie' AND reason IN {sql_list(CONFLICT_REASONS)})",
            name="reason_iff_tie",
        ),
        CheckConstraint("(subject = 'agency') = (user_id IS NULL)", name="evaluator_has_user"),
    )


class Evaluation(db.Model):
    """The performance evaluation of one project under an engagement."""

    __tablename__ = "evaluation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("evaluation_engagement.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    state: Mapped[EvaluationState] = mapped_column(
        String(16), default=EvaluationState.ENGAGED, index=True
    )
    self_total: Mapped[str | None] = mapped_column(String(20))  # a decimal as text
    self_submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    self_submitted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT")
    )
    site_notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The computed indicators as shown when the evaluation was submitted: source → text.
    evidence: Mapped[dict | None] = mapped_column(JSON)
    total: Mapped[str | None] = mapped_column(String(20))  # a decimal as text, never a float
    grade: Mapped[str | None] = mapped_column(String(12))
    # The band's grade before a raised veto capped it (NULL when no veto was raised).
    grade_before_veto: Mapped[str | None] = mapped_column(String(12))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    follow_up: Mapped[str | None] = mapped_column(String(12))
    # Whether the projects workflow carried the follow-up out (False: recorded only).
    follow_up_applied: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    engagement: Mapped[Engagement] = relationship(back_populates="evaluations")
    project: Mapped[Project] = relationship(lazy="joined")
    scores: Mapped[list[EvaluationScore]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", order_by="EvaluationScore.id"
    )
    items: Mapped[list[RectificationItem]] = relationship(
        back_populates="evaluation", order_by="RectificationItem.seq"
    )
    vetoes: Mapped[list[EvaluationVeto]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", order_by="EvaluationVeto.id"
    )

    __table_args__ = (
        UniqueConstraint("engagement_id", "project_id", name="uq_evaluation_engagement_project"),
        CheckConstraint(EvaluationState.check_sql(), name="state_valid"),
        CheckConstraint(
            f"(state IN {sql_list(SELF_DONE_STATES)}) = (self_submitted_at IS NOT NULL)",
            name="self_submitted_iff",
        ),
        CheckConstraint(
            "(self_submitted_at IS NULL) = (self_submitted_by_id IS NULL) AND "
            "(self_submitted_at IS NULL) = (self_total IS NULL)",
            name="self_submission_complete",
        ),
        CheckConstraint(
            f"(state IN {sql_list(SUBMITTED_STATES)}) = (submitted_at IS NOT NULL)",
            name="submitted_iff",
        ),
        CheckConstraint(
            "(submitted_at IS NULL) = (submitted_by_id IS NULL) AND "
            "(submitted_at IS NULL) = (total IS NULL) AND "
            "(submitted_at IS NULL) = (grade IS NULL)",
            name="submission_complete",
        ),
        CheckConstraint(f"grade IS NULL OR grade IN {sql_list(GRADES)}", name="grade_valid"),
        CheckConstraint(
            f"grade_before_veto IS NULL OR "
            f"(grade IS NOT NULL AND grade_before_veto IN {sql_list(GRADES)})",
            name="grade_before_veto_valid",
        ),
        CheckConstraint(
            "(state IN ('accepted', 'returned')) = (decided_at IS NOT NULL) AND "
            "(decided_at IS NULL) = (decided_by_id IS NULL)",
            name="decided_iff",
        ),
        CheckConstraint(
            "state <> 'returned' OR length(decision_reason) > 0", name="return_has_reason"
        ),
        CheckConstraint(
            f"(follow_up IS NULL OR follow_up IN {sql_list(FOLLOW_UPS)}) AND "
            "(follow_up IS NULL OR state = 'accepted') AND "
            "((follow_up IS NULL) = (follow_up_applied IS NULL))",
            name="follow_up_valid",
        ),
    )

    @property
    def rubric_snapshot_id(self) -> int:
        return self.engagement.rubric_snapshot_id

    def sheet(self, which: str) -> dict[str, EvaluationScore]:
        """criterion key → score row of the ``self`` or ``agency`` sheet."""
        return {s.criterion_key: s for s in self.scores if s.sheet == which}


class EvaluationScore(db.Model):
    """One criterion of a sheet; ``score`` NULL means not applicable, never zero."""

    __tablename__ = "evaluation_score"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id"), index=True)
    sheet: Mapped[str] = mapped_column(String(8))
    criterion_key: Mapped[str] = mapped_column(String(40))
    score: Mapped[str | None] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    scored_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")

    __table_args__ = (
        UniqueConstraint(
            "evaluation_id", "sheet", "criterion_key", name="uq_evaluation_score_criterion"
        ),
        CheckConstraint(f"sheet IN {sql_list(SHEETS)}", name="sheet_valid"),
    )


class EvaluationVeto(db.Model):
    """A veto item (一票否决) of the performance rubric raised on the agency sheet, with its
    reason; a raised veto caps the submitted grade at the rubric's lowest band (差)."""

    __tablename__ = "evaluation_veto"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id"), index=True)
    veto_key: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    evaluation: Mapped[Evaluation] = relationship(back_populates="vetoes")

    __table_args__ = (
        UniqueConstraint("evaluation_id", "veto_key", name="uq_evaluation_veto_key"),
        CheckConstraint("length(reason) > 0", name="reason_given"),
    )


class RectificationItem(db.Model):
    """A problem found by the evaluation, tracked to closure (整改销号) with evidence."""

    __tablename__ = "rectification_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    problem: Mapped[str] = mapped_column(Text)
    requirement: Mapped[str] = mapped_column(Text, default="", server_default="")
    deadline: Mapped[date] = mapped_column(Date)
    state: Mapped[RectificationState] = mapped_column(
        String(12), default=RectificationState.OPEN, index=True
    )
    response: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_reopen_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    evaluation: Mapped[Evaluation] = relationship(back_populates="items")
    __table_args__ = (
        UniqueConstraint("evaluation_id", "seq", name="uq_rectification_item_seq"),
        CheckConstraint(RectificationState.check_sql(), name="state_valid"),
        CheckConstraint("length(problem) > 0", name="problem_given"),
        CheckConstraint("seq >= 1 AND reopen_count >= 0", name="counters_valid"),
        CheckConstraint(
            "(state = 'open') = (submitted_at IS NULL) AND "
            "(submitted_at IS NULL) = (submitted_by_id IS NULL)",
            name="submitted_iff",
        ),
        CheckConstraint("state = 'open' OR length(response) > 0", name="submission_has_response"),
        CheckConstraint(
            "(state = 'closed') = (closed_at IS NOT NULL) AND "
            "(closed_at IS NULL) = (closed_by_id IS NULL)",
            name="closed_iff",
        ),
        CheckConstraint(
            "(reopen_count = 0) = (last_reopen_reason IS NULL)", name="reopen_has_reason"
        ),
    )

    @property
    def evidence_count(self) -> int:
        """How many evidence files the society has uploaded for this item."""
        return db.session.scalar(
            select(func.count(StoredFile.id)).where(
                StoredFile.owner_type == "rectification", StoredFile.owner_id == self.id
            )
        )

    @property
    def is_overdue(self) -> bool:
        return str(self.state) in ("open", "reopened") and clock.today() > self.deadline
