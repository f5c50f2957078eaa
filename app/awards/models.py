"""Awards, not-funded decisions, public notices, objections, reconsiderations,
task agreements and their amendments."""

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
from app.awards.states import (
    APPROVED_STATES,
    GROUND_LABELS,
    NOTICED_STATES,
    AgreementState,
    AmendmentState,
    AwardState,
    ObjectionState,
    ReconsiderationState,
)
from app.calls.models import Call
from app.core import clock
from app.core.ddl import sql_list
from app.extensions import db


class AwardNotice(db.Model):
    """One publication (立项公示) of a call's approved awards, with its period."""

    __tablename__ = "award_notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    is_working_days: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The last day of the period (Asia/Shanghai) and the instant it is over.
    last_day: Mapped[date] = mapped_column(Date)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    call: Mapped[Call] = relationship(lazy="joined")
    awards: Mapped[list[Award]] = relationship(back_populates="notice", order_by="Award.id")

    __table_args__ = (
        UniqueConstraint("call_id", "number", name="uq_award_notice_call_number"),
        CheckConstraint("days >= 1", name="days_positive"),
        CheckConstraint("ends_at > starts_at", name="period_order"),
    )

    def is_open(self, when: datetime | None = None) -> bool:
        """Whether objections are still received (the period has not ended)."""
        return clock.as_utc(when or clock.now()) < clock.as_utc(self.ends_at)


# The award's state-dependent CHECKs (migration 0013 relaxed them for withdrawal: a
# revoked award was approved iff money was committed, and noticed only if published).
AWARD_CHECKS = {
    "approved_at_iff_approved": (
        f"(state IN {sql_list(APPROVED_STATES)} AND approved_at IS NOT NULL) OR "
        "(state = 'proposed' AND approved_at IS NULL) OR state = 'revoked'"
    ),
    "notice_iff_noticed": (
        f"(state IN {sql_list(NOTICED_STATES)} AND notice_id IS NOT NULL) OR "
        "(state IN ('proposed', 'approved') AND notice_id IS NULL) OR state = 'revoked'"
    ),
    "revoked_iff": (
        "(state = 'revoked') = (revoked_at IS NOT NULL) AND "
        "(revoked_at IS NULL OR (commit_transfer_id IS NULL) = (decommit_transfer_id IS NULL))"
        " AND (revoked_at IS NOT NULL OR decommit_transfer_id IS NULL)"
    ),
}


class Award(db.Model):
    """An award (立项) of one application: proposed, approved (money committed), noticed,
    then confirmed or revoked. Its id is the ledger's grant id and the project's id."""

    __tablename__ = "award"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[AwardState] = mapped_column(String(16), default=AwardState.PROPOSED, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    requested_fen: Mapped[int] = mapped_column(BigInteger)
    cap_fen: Mapped[int] = mapped_column(BigInteger)
    rank: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[str | None] = mapped_column(String(20))  # a decimal as text, never a float
    decision_note: Mapped[str] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    commit_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("award_notice.id"), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decommit_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"))
    # Why it was withdrawn or revoked (the objection's answer, or the withdrawal reason).
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    call: Mapped[Call] = relationship(lazy="joined")
    application: Mapped[Application] = relationship(lazy="joined")
    society: Mapped[Organisation] = relationship(lazy="joined")
    notice: Mapped[AwardNotice | None] = relationship(back_populates="awards")
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    __table_args__ = (
        CheckConstraint(AwardState.check_sql(), name="state_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("amount_fen <= requested_fen", name="amount_le_requested"),
        CheckConstraint("amount_fen <= cap_fen", name="amount_le_cap"),
        CheckConstraint("length(decision_note) > 0", name="note_given"),
        # Four-eyes: the approver is never the officer who proposed.
        CheckConstraint(
            "approved_by_id IS NULL OR approved_by_id <> proposed_by_id", name="four_eyes"
        ),
        CheckConstraint(AWARD_CHECKS["approved_at_iff_approved"], name="approved_at_iff_approved"),
        CheckConstraint(
            "(approved_at IS NULL) = (approved_by_id IS NULL) AND "
            "(approved_at IS NULL) = (commit_transfer_id IS NULL)",
            name="approval_complete",
        ),
        CheckConstraint(AWARD_CHECKS["notice_iff_noticed"], name="notice_iff_noticed"),
        CheckConstraint("(state = 'confirmed') = (confirmed_at IS NOT NULL)", name="confirmed_iff"),
        CheckConstraint(AWARD_CHECKS["revoked_iff"], name="revoked_iff"),
        # At most one live award per application (a revoked one may be followed by another).
        db.Index(
            "uq_award_live_application",
            "application_id",
            unique=True,
            sqlite_where=db.text("state <> 'revoked'"),
            postgresql_where=db.text("state <> 'revoked'"),
        ),
    )

    def state_label(self, user) -> str:
        """The staff or applicant label, as ``user`` should see it."""
        state = AwardState(str(self.state))
        if user is not None and user.has_role("applicant", "society_admin", "local_partner"):
            return state.applicant_label
        return state.label


class NotFundedDecision(db.Model):
    """The officer's not-funded decision on an application; the applicant learns it,
    with the aggregated review comments, only when the call's decisions are published."""

    __tablename__ = "not_funded_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    rank: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[str | None] = mapped_column(String(20))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    # Set when published: the comments the applicant sees (never reviewer identities).
    comments: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a reconsideration overturned it (the application went back to review).
    overturned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("length(note) > 0", name="note_given"),
        CheckConstraint(
            "(published_at IS NULL) = (comments IS NULL)", name="comments_iff_published"
        ),
        CheckConstraint(
            "overturned_at IS NULL OR published_at IS NOT NULL", name="overturned_after_published"
        ),
        # One standing (not overturned) decision per application.
        db.Index(
            "uq_not_funded_standing_application",
            "application_id",
            unique=True,
            sqlite_where=db.text("overturned_at IS NULL"),
            postgresql_where=db.text("overturned_at IS NULL"),
        ),
    )


class Objection(db.Model):
    """An objection (异议) to an award during its public notice.

    The objector's contact is personal data: it never enters the audit trail.
    """

    __tablename__ = "objection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), index=True)
    state: Mapped[ObjectionState] = mapped_column(
        String(16), default=ObjectionState.RECEIVED, index=True
    )
    objector_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    objector_org: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact: Mapped[str] = mapped_column(String(200), default="", server_default="")
    grounds: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    screened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why it was not accepted; for handled ones, the written answer or the finding.
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(Text)

    award: Mapped[Award] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(ObjectionState.check_sql(), name="state_valid"),
        CheckConstraint("length(grounds) > 0", name="grounds_given"),
        CheckConstraint("(state = 'received') = (screened_at IS NULL)", name="screened_iff"),
        CheckConstraint(
            "state <> 'not_accepted' OR length(reason) > 0", name="not_accepted_has_reason"
        ),
        CheckConstraint(
            "(state IN ('upheld', 'dismissed')) = (decided_at IS NOT NULL)", name="decided_iff"
        ),
        CheckConstraint(
            "state NOT IN ('upheld', 'dismissed') OR length(answer) > 0", name="decided_has_answer"
        ),
    )

    @property
    def is_identified(self) -> bool:
        """A real name with a contact, or an organisation (with its seal)."""
        name, org = (self.objector_name or "").strip(), (self.objector_org or "").strip()
        return bool(org) or bool(name and (self.contact or "").strip())


class Reconsideration(db.Model):
    """A not-funded applicant's request for reconsideration (复审)."""

    __tablename__ = "reconsideration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    state: Mapped[ReconsiderationState] = mapped_column(
        String(16), default=ReconsiderationState.SUBMITTED, index=True
    )
    ground: Mapped[str] = mapped_column(String(16))
    grounds: Mapped[str] = mapped_column(Text)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    # The last instant the request could be filed (outcome + RECONSIDERATION_DAYS).
    file_by: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    screened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    screen_reason: Mapped[str | None] = mapped_column(Text)
    # The approver decides by (accepted + RECONSIDERATION_DECIDE_DAYS).
    decide_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # Where an overturned request sent the application (RECONSIDERATION_OUTCOMES).
    outcome: Mapped[str | None] = mapped_column(String(16))

    application: Mapped[Application] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(ReconsiderationState.check_sql(), name="state_valid"),
        CheckConstraint(f"ground IN {sql_list(GROUND_LABELS)}", name="ground_valid"),
        CheckConstraint("length(grounds) > 0", name="grounds_given"),
        CheckConstraint("(state = 'submitted') = (screened_at IS NULL)", name="screened_iff"),
        CheckConstraint(
            "state <> 'not_accepted' OR length(screen_reason) > 0", name="not_accepted_has_reason"
        ),
        CheckConstraint(
            "(state IN ('under_review', 'upheld', 'overturned')) = (decide_by IS NOT NULL)",
            name="decide_by_iff_accepted",
        ),
        CheckConstraint(
            "(state IN ('upheld', 'overturned')) = (decided_at IS NOT NULL)", name="decided_iff"
        ),
        CheckConstraint(
            "decided_by_id IS NULL OR screened_by_id IS NULL OR decided_by_id <> screened_by_id",
            name="four_eyes",
        ),
    )

    def is_overdue(self) -> bool:
        """Under review past the decision deadline."""
        return (
            self.state == "under_review"
            and self.decide_by is not None
            and clock.now() > clock.as_utc(self.decide_by)
        )


class TaskAgreement(db.Model):
    """The task agreement (任务书) of a confirmed award: targets, budget by line × source,
    milestones with tranche amounts. Editable while drafting; immutable once signed
    (a trigger refuses any UPDATE or DELETE of a signed row)."""

    __tablename__ = "task_agreement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[AgreementState] = mapped_column(
        String(20), default=AgreementState.DRAFTING, index=True
    )
    number: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # [{"group", "indicator", "unit", "target_value"}]
    targets: Mapped[list] = mapped_column(JSON, default=list)
    # [{"line_key", "name", "fund_fen", "matching_fen", "self_raised_fen", "requested_fen"}]
    budget: Mapped[list] = mapped_column(JSON, default=list)
    # [{"seq", "title", "due_on", "deliverables", "tranche_pct", "amount_fen"}]
    milestones: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sign_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content_sha256: Mapped[str | None] = mapped_column(String(64))

    award: Mapped[Award] = relationship(lazy="joined")
    society: Mapped[Organisation] = relationship(lazy="joined")
    amendments: Mapped[list[AgreementAmendment]] = relationship(
        back_populates="agreement", order_by="AgreementAmendment.id"
    )

    __table_args__ = (
        CheckConstraint(AgreementState.check_sql(), name="state_valid"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "(state = 'drafting') = (sent_at IS NULL) AND (sent_at IS NULL) = (sign_by IS NULL)",
            name="sent_iff_sent",
        ),
        CheckConstraint(
            "(state = 'signed') = (signed_at IS NOT NULL) AND "
            "(signed_at IS NULL) = (signed_by_id IS NULL)",
            name="signed_iff_signed",
        ),
        CheckConstraint(
            "(state = 'drafting') = (content_sha256 IS NULL)", name="content_fixed_when_sent"
        ),
        CheckConstraint("overdue_at IS NULL OR sent_at IS NOT NULL", name="overdue_after_sent"),
    )

    def is_overdue(self) -> bool:
        """Awaiting signature past the deadline."""
        return (
            self.state == "awaiting_signature"
            and self.sign_by is not None
            and clock.now() > clock.as_utc(self.sign_by)
        )


class AgreementAmendment(db.Model):
    """A change to a signed task agreement (补充任务书); approved ones are numbered."""

    __tablename__ = "agreement_amendment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("task_agreement.id"), index=True)
    state: Mapped[AmendmentState] = mapped_column(String(16), default=AmendmentState.DRAFT)
    number: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    agreement: Mapped[TaskAgreement] = relationship(back_populates="amendments")

    __table_args__ = (
        UniqueConstraint("agreement_id", "number", name="uq_agreement_amendment_number"),
        CheckConstraint(AmendmentState.check_sql(), name="state_valid"),
        CheckConstraint("length(content) > 0", name="content_given"),
        CheckConstraint("(state = 'approved') = (number IS NOT NULL)", name="number_iff_approved"),
        CheckConstraint("(state = 'draft') = (submitted_at IS NULL)", name="submitted_iff"),
        CheckConstraint(
            "(state IN ('approved', 'rejected')) = (decided_at IS NOT NULL)", name="decided_iff"
        ),
        CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> created_by_id", name="four_eyes"
        ),
    )
