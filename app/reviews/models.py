"""Expert pool, declared relations, conflicts, draws, assignments with their score
sheets, and the ratings of experts after a round."""

from __future__ import annotations

from datetime import date, datetime, time

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
    Time,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.applications.models import Application
from app.calls.models import Call, RubricSnapshot
from app.core import clock
from app.extensions import db
from app.reviews.states import (
    ATTENDANCE,
    CONFLICT_REASONS,
    DECLARED_STATES,
    PANEL_METHODS,
    PANEL_MODES,
    RELATION_KINDS,
    VOTES,
    AssignmentState,
    PanelState,
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

    # The digest of the rubric the sheet is scored on (the pinned snapshot, else the
    # call's), read with the row where a query asks for it (``undefer``): the sheet's
    # parsed rubric is kept per digest, and reading it apart cost a query per sheet.
    sheet_rubric_digest: Mapped[str | None] = column_property(
        select(RubricSnapshot.sha256)
        .where(
            RubricSnapshot.id
            == func.coalesce(
                rubric_snapshot_id,
                select(Call.rubric_snapshot_id)
                .where(Call.id == call_id)
                .correlate_except(Call)
                .scalar_subquery(),
            )
        )
        .correlate_except(RubricSnapshot)
        .scalar_subquery(),
        deferred=True,
    )

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


# --- panel review (会议评审/答辩) ---


class ReviewPanel(db.Model):
    """A call's panel review stage (会议评审): members, one meeting, oral-defence slots,
    independent marks, the signed opinion. At most one panel per call."""

    __tablename__ = "review_panel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), unique=True)
    state: Mapped[PanelState] = mapped_column(String(16), default=PanelState.FORMING)
    # How the panel result feeds the ranking: replace the remote aggregate, or combine
    # (panel_weight percent of the panel result + the rest of the remote aggregate).
    mode: Mapped[str] = mapped_column(String(10), default="replace", server_default="replace")
    panel_weight: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    method: Mapped[str] = mapped_column(String(10), default="score", server_default="score")
    meeting_date: Mapped[date | None] = mapped_column(Date)
    meeting_place: Mapped[str] = mapped_column(String(200), default="", server_default="")
    seed: Mapped[int | None] = mapped_column(BigInteger)  # of the last member draw
    opinion: Mapped[str] = mapped_column(Text, default="", server_default="")
    scoring_closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    concluded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    members: Mapped[list[ReviewPanelMember]] = relationship(
        back_populates="panel", cascade="all, delete-orphan", order_by="ReviewPanelMember.id"
    )
    slots: Mapped[list[ReviewPanelSlot]] = relationship(
        cascade="all, delete-orphan", order_by="ReviewPanelSlot.position"
    )

    __table_args__ = (
        CheckConstraint(PanelState.check_sql(), name="state_valid"),
        CheckConstraint(f"mode IN {_in(PANEL_MODES)}", name="mode_valid"),
        CheckConstraint(f"method IN {_in(PANEL_METHODS)}", name="method_valid"),
        CheckConstraint("panel_weight BETWEEN 0 AND 100", name="weight_range"),
        CheckConstraint(
            "(state IN ('forming', 'scoring')) = (scoring_closed_at IS NULL)",
            name="closed_at_iff_closed",
        ),
        CheckConstraint(
            "(state = 'concluded') = (concluded_at IS NOT NULL)", name="concluded_at_iff_concluded"
        ),
        CheckConstraint(
            "state IN ('forming', 'scoring', 'discussion') OR length(opinion) > 0",
            name="opinion_before_signing",
        ),
    )

    def attending(self) -> list[ReviewPanelMember]:
        """Members present for all or half of the meeting."""
        return [m for m in self.members if m.attendance != "absent"]


class ReviewPanelMember(db.Model):
    """A pool expert on a panel: attendance, the no-conflict declaration, the signature
    of the panel opinion or a written dissent."""

    __tablename__ = "review_panel_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("review_panel.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    is_chair: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    attendance: Mapped[str] = mapped_column(String(10), default="present", server_default="present")
    declared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dissent_reason: Mapped[str | None] = mapped_column(Text)
    dissent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    panel: Mapped[ReviewPanel] = relationship(back_populates="members")
    expert: Mapped[Expert] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("panel_id", "expert_id", name="uq_review_panel_member_panel_expert"),
        CheckConstraint(f"attendance IN {_in(ATTENDANCE)}", name="attendance_valid"),
        CheckConstraint("submitted_at IS NULL OR declared_at IS NOT NULL", name="declared_first"),
        CheckConstraint("signed_at IS NULL OR dissent_at IS NULL", name="sign_or_dissent"),
        CheckConstraint(
            "(dissent_at IS NULL) = (dissent_reason IS NULL)"
            " AND (dissent_reason IS NULL OR length(dissent_reason) > 0)",
            name="dissent_has_reason",
        ),
    )

    @property
    def has_answered(self) -> bool:
        """Signed the opinion or wrote a dissent."""
        return self.signed_at is not None or self.dissent_at is not None


class ReviewPanelSlot(db.Model):
    """A shortlisted application's oral-defence slot (答辩顺序与时间)."""

    __tablename__ = "review_panel_slot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("review_panel.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[time | None] = mapped_column(Time)

    application: Mapped[Application] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("panel_id", "application_id", name="uq_review_panel_slot_application"),
        UniqueConstraint("panel_id", "position", name="uq_review_panel_slot_position"),
        CheckConstraint("position >= 1", name="position_positive"),
    )


class ReviewPanelMark(db.Model):
    """One member's score (0–100) or vote on one shortlisted application; written once,
    when the member submits, and never changed."""

    __tablename__ = "review_panel_mark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("review_panel_member.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    score: Mapped[int | None] = mapped_column(Integer)
    vote: Mapped[str | None] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("member_id", "application_id", name="uq_review_panel_mark_member_app"),
        CheckConstraint("score IS NULL OR score BETWEEN 0 AND 100", name="score_range"),
        CheckConstraint(f"vote IS NULL OR vote IN {_in(VOTES)}", name="vote_valid"),
        CheckConstraint("(score IS NULL) <> (vote IS NULL)", name="score_or_vote"),
    )
