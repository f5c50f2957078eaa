"""Expert pool, declared relations, conflicts, draws, assignments with their score
sheets, and the ratings of experts after a round."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.applications.models import Application
from app.core import clock
from app.extensions import db
from app.reviews.states import (
    CONFLICT_REASONS,
    DECLARED_STATES,
    RELATION_KINDS,
    AssignmentState,
)


def _in(values) -> str:
    return "(" + ", ".join(repr(v) for v in values) + ")"


class Expert(db.Model):
    """A pool expert (专家库), always linked to a reviewer account.

    Bank details are personal data: they never enter an audit payload.
    """

    __tablename__ = "expert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Discipline codes and the call categories (task types) the expert reviews.
    fields: Mapped[list] = mapped_column(JSON, default=list)
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(60), default="")
    is_senior: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    region: Mapped[str | None] = mapped_column(String(6))
    yearly_limit: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    credit_score: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    is_flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    user: Mapped[User] = relationship(lazy="joined")
    org: Mapped[Organisation | None] = relationship(lazy="joined")
    relations: Mapped[list[ExpertRelation]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertRelation.id"
    )

    __table_args__ = (
        CheckConstraint("yearly_limit BETWEEN 0 AND 100", name="yearly_limit_range"),
        CheckConstraint("credit_score BETWEEN 0 AND 100", name="credit_score_range"),
    )

    @property
    def name(self) -> str:
        return self.user.name

    def audit_view(self) -> dict:
        """What the audit trail records of an expert: ids and pool attributes, no personal data."""
        return {
            "user_id": self.user_id,
            "org_id": self.org_id,
            "fields": sorted(self.fields or []),
            "keywords": sorted(self.keywords or []),
            "title": self.title,
            "is_senior": bool(self.is_senior),
            "region": self.region,
            "yearly_limit": self.yearly_limit,
            "is_active": bool(self.is_active),
        }


class ExpertRelation(db.Model):
    """A declared relationship of an expert with an organisation (回避关系申报)."""

    __tablename__ = "expert_relation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(20))
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    expert: Mapped[Expert] = relationship(back_populates="relations")
    org: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(f"kind IN {_in(RELATION_KINDS)}", name="kind_valid"),
        CheckConstraint("until IS NULL OR since IS NULL OR until >= since", name="period_order"),
    )


class ConflictRecord(db.Model):
    """An excluded (application, expert) pair of a call, kept with its reason."""

    __tablename__ = "review_conflict"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    expert: Mapped[Expert] = relationship()

    __table_args__ = (
        UniqueConstraint(
            "application_id", "expert_id", "reason", name="uq_review_conflict_pair_reason"
        ),
        CheckConstraint(f"reason IN {_in(CONFLICT_REASONS)}", name="reason_valid"),
    )


class ReviewDraw(db.Model):
    """One random draw of a call (专家抽取记录): audit evidence, never edited after confirm."""

    __tablename__ = "review_draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    input_hash: Mapped[str] = mapped_column(String(64))
    k: Mapped[int] = mapped_column(Integer)
    field_filter: Mapped[list] = mapped_column(JSON, default=list)
    # Expert ids in the pool the draw was made from, and the application ids.
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    application_ids: Mapped[list] = mapped_column(JSON, default=list)
    result: Mapped[dict] = mapped_column(JSON)  # DrawResult.to_record()
    # [{"application_id", "removed", "added", "reason", "actor_id", "at"}]
    overrides: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        CheckConstraint("k >= 1", name="k_positive"),
        CheckConstraint(
            "(confirmed_at IS NULL) = (confirmed_by_id IS NULL)", name="confirmation_complete"
        ),
    )

    def assignments(self) -> dict[int, list[int]]:
        """The drawn reviewers per application, overrides applied."""
        return {int(a): list(e) for a, e in (self.result.get("assignments") or {}).items()}

    def reserves(self, application_id: int) -> list[int]:
        """The application's reserve list, best first."""
        return list((self.result.get("reserves") or {}).get(str(application_id), []))


class ReviewAssignment(db.Model):
    """One expert's review of one application (评审任务); holds the score sheet."""

    __tablename__ = "review_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("review_draw.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    state: Mapped[AssignmentState] = mapped_column(
        String(16), default=AssignmentState.INVITED, index=True
    )
    # Set when this assignment replaced one that was declined or recused.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("review_assignment.id"))
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    declared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_reason: Mapped[str | None] = mapped_column(Text)
    # The score sheet: pinned rubric snapshot and application revision, once scored.
    rubric_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_snapshot.id"))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("application_revision.id"))
    overall_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A decimal as text ("84.25"): exact, never a float.
    total: Mapped[str | None] = mapped_column(String(20))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    application: Mapped[Application] = relationship(lazy="joined")
    expert: Mapped[Expert] = relationship(lazy="joined")
    scores: Mapped[list[ReviewScore]] = relationship(
        cascade="all, delete-orphan", order_by="ReviewScore.id"
    )
    vetoes: Mapped[list[ReviewVeto]] = relationship(
        cascade="all, delete-orphan", order_by="ReviewVeto.id"
    )

    __table_args__ = (
        UniqueConstraint(
            "application_id", "expert_id", name="uq_review_assignment_application_expert"
        ),
        CheckConstraint(AssignmentState.check_sql(), name="state_valid"),
        CheckConstraint(
            "(state = 'submitted') = (submitted_at IS NOT NULL)", name="submitted_at_iff_submitted"
        ),
        CheckConstraint(
            "(state = 'invited') = (responded_at IS NULL)", name="responded_at_iff_responded"
        ),
        CheckConstraint(
            f"(state IN {_in(DECLARED_STATES)}) = (declared_at IS NOT NULL)",
            name="declared_at_iff_declared",
        ),
        CheckConstraint(
            "state <> 'recused' OR (response_reason IS NOT NULL AND length(response_reason) > 0)",
            name="recusal_has_reason",
        ),
        CheckConstraint(
            "state <> 'submitted' OR (rubric_snapshot_id IS NOT NULL AND revision_id IS NOT NULL)",
            name="submitted_pins_sheet",
        ),
        CheckConstraint("reopen_count >= 0", name="reopen_count_nonnegative"),
    )

    def score_map(self) -> dict[str, str | None]:
        """criterion key → score text, None for not applicable (absent: not scored)."""
        return {s.criterion_key: s.score for s in self.scores}


class ReviewScore(db.Model):
    """One criterion of a score sheet; ``score`` NULL means not applicable, never zero."""

    __tablename__ = "review_score"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("review_assignment.id"), index=True)
    criterion_key: Mapped[str] = mapped_column(String(40))
    score: Mapped[str | None] = mapped_column(String(12))
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        UniqueConstraint("assignment_id", "criterion_key", name="uq_review_score_criterion"),
    )


class ReviewVeto(db.Model):
    """A veto item (一票否决) a reviewer raised, with the reason."""

    __tablename__ = "review_veto"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("review_assignment.id"), index=True)
    veto_key: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (UniqueConstraint("assignment_id", "veto_key", name="uq_review_veto_key"),)


class ExpertRating(db.Model):
    """The department's rating of an expert after a round (100-point scale)."""

    __tablename__ = "expert_rating"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    timeliness: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("expert_id", "call_id", name="uq_expert_rating_expert_call"),
        CheckConstraint(
            "timeliness BETWEEN 0 AND 100 AND quality BETWEEN 0 AND 100 "
            "AND score BETWEEN 0 AND 100",
            name="scores_range",
        ),
    )
