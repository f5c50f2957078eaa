"""High-tech parks, service stations and demonstration bases, pilot regions, the needs
board, stations' yearly reports and their third-party evaluations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.core import clock
from app.core.models import StoredFile
from app.extensions import db
from app.stations.states import (
    GRADE_LABELS,
    MATCHED_STATES,
    NEED_KINDS,
    URGENCIES,
    NeedState,
    StationState,
)


def _in(values) -> str:
    return "(" + ", ".join(repr(v) for v in values) + ")"


class HighTechPark(db.Model):
    """A provincial high-tech park (高新技术产业园区)."""

    __tablename__ = "high_tech_park"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    city_code: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (CheckConstraint("length(city_code) = 6", name="city_code_length"),)


class EnterprisePark(db.Model):
    """The park an enterprise organisation is located in (it posts needs to its stations)."""

    __tablename__ = "enterprise_park"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("high_tech_park.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class Station(db.Model):
    """A society service station (学会服务站) in a park, co-built with a local government."""

    __tablename__ = "station"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("high_tech_park.id"), index=True)
    government_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    state: Mapped[StationState] = mapped_column(String(16), default=StationState.PLANNED)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    # {"name", "title", "organisation"} of the chief S&T expert (首席科技专家).
    chief_expert: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    rules_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    plan_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    agreement_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    society_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    society_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    government_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    government_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    established_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    base_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    park: Mapped[HighTechPark] = relationship(lazy="joined")
    government: Mapped[Organisation] = relationship(foreign_keys=[government_id])
    society: Mapped[Organisation] = relationship(foreign_keys=[society_id])
    partners: Mapped[list[StationPartner]] = relationship(
        cascade="all, delete-orphan", order_by="StationPartner.id"
    )
    experts: Mapped[list[StationExpert]] = relationship(
        cascade="all, delete-orphan", order_by="StationExpert.id"
    )

    __table_args__ = (
        CheckConstraint(StationState.check_sql(), name="state_valid"),
        CheckConstraint(
            "(society_confirmed_at IS NULL) = (society_confirmed_by_id IS NULL) AND "
            "(government_confirmed_at IS NULL) = (government_confirmed_by_id IS NULL)",
            name="confirmations_complete",
        ),
        CheckConstraint(
            "agreement_file_id IS NOT NULL OR "
            "(society_confirmed_at IS NULL AND government_confirmed_at IS NULL)",
            name="confirmed_agreement_exists",
        ),
        CheckConstraint(
            "state IN ('planned', 'closed') OR established_at IS NOT NULL",
            name="established_at_when_established",
        ),
        CheckConstraint("state <> 'base' OR base_at IS NOT NULL", name="base_at_when_base"),
        CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_at_iff"),
    )


class StationPartner(db.Model):
    """A partner society (联合学会) of a station besides its lead society."""

    __tablename__ = "station_partner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)

    society: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("station_id", "society_id", name="uq_station_partner_society"),
    )


class StationExpert(db.Model):
    """A member of a station's expert team (people are named, never audited by name)."""

    __tablename__ = "station_expert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(100), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)


class StationEngagement(db.Model):
    """The department engages a third-party evaluation agency to evaluate a station;
    the agency's evaluators then see the station and may evaluate it."""

    __tablename__ = "station_engagement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    agency: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("station_id", "agency_id", name="uq_station_engagement_agency"),
    )


class BaseEvidence(db.Model):
    """The evidence file for one item of the demonstration-base checklist."""

    __tablename__ = "station_base_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(40))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    file: Mapped[StoredFile] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("station_id", "criterion", name="uq_station_base_evidence_item"),
    )


class PilotProfile(db.Model):
    """What a city or county government brings to a pilot application (试点申报)."""

    __tablename__ = "pilot_profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("high_tech_park.id"), index=True)
    leading_industries: Mapped[str] = mapped_column(Text, default="")
    needs: Mapped[str] = mapped_column(Text, default="")
    premises: Mapped[str] = mapped_column(Text, default="")
    matching_funds_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    staff_count: Mapped[int] = mapped_column(Integer, default=0)
    staff_note: Mapped[str] = mapped_column(Text, default="")
    lead_society_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    park: Mapped[HighTechPark] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("matching_funds_fen >= 0", name="matching_nonnegative"),
        CheckConstraint("staff_count >= 0", name="staff_nonnegative"),
    )


class PilotRegion(db.Model):
    """A city or county selected as a pilot unit: the confirmed award of a pilot call."""

    __tablename__ = "pilot_region"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    government_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    park_id: Mapped[int | None] = mapped_column(ForeignKey("high_tech_park.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), unique=True)
    selected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    government: Mapped[Organisation] = relationship(lazy="joined")
    park: Mapped[HighTechPark | None] = relationship(lazy="joined")


class Need(db.Model):
    """A need (需求) posted by a government or an enterprise to a station."""

    __tablename__ = "need"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    posted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    state: Mapped[NeedState] = mapped_column(String(16), default=NeedState.POSTED, index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    industry: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8))
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(40))
    screened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    screened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    screen_reason: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    matched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str | None] = mapped_column(Text)
    # The requester's satisfaction on a 1–5 scale (5 = very satisfied), given when closing.
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    station: Mapped[Station] = relationship(lazy="joined")
    org: Mapped[Organisation] = relationship()
    proposals: Mapped[list[NeedProposal]] = relationship(
        foreign_keys="NeedProposal.need_id", order_by="NeedProposal.id"
    )

    __table_args__ = (
        CheckConstraint(NeedState.check_sql(), name="state_valid"),
        CheckConstraint(f"kind IN {_in(NEED_KINDS)}", name="kind_valid"),
        CheckConstraint(f"urgency IN {_in(URGENCIES)}", name="urgency_valid"),
        CheckConstraint(
            f"(state IN {_in(MATCHED_STATES)}) = (project_id IS NOT NULL)",
            name="project_iff_matched",
        ),
        CheckConstraint("(project_id IS NULL) = (matched_at IS NULL)", name="matched_at_iff"),
        CheckConstraint(
            "state IN ('posted') OR screened_at IS NOT NULL", name="screened_when_handled"
        ),
        CheckConstraint(
            "state <> 'not_accepted' OR length(screen_reason) > 0", name="refusal_has_reason"
        ),
        CheckConstraint(
            "state NOT IN ('solved', 'closed') OR solved_at IS NOT NULL", name="solved_at_iff"
        ),
        CheckConstraint(
            "(state = 'closed') = (closed_at IS NOT NULL) AND "
            "(state <> 'closed' OR (satisfaction IS NOT NULL AND length(result) > 0))",
            name="closed_with_result",
        ),
        CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction_range"
        ),
    )


class NeedProposal(db.Model):
    """A society's response to a need: what it would do and the experts it would send."""

    __tablename__ = "need_proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), index=True)
    society_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    # [{"name", "title", "organisation"}]
    experts: Mapped[list] = mapped_column(JSON, default=list)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    is_selected: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    society: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("need_id", "society_id", name="uq_need_proposal_society"),
        CheckConstraint("length(content) > 0", name="content_given"),
    )


# The yearly counts a station reports (all non-negative integers; revenue in fen).
REPORT_COUNTS = (
    "needs_collected",
    "needs_solved",
    "experts_stationed",
    "enterprises_served",
    "technicians_trained",
    "events_held",
    "patents",
    "standards",
    "products",
    "revenue_fen",
)


class StationReport(db.Model):
    """A station's yearly report (年度工作报告); immutable once submitted."""

    __tablename__ = "station_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    needs_collected: Mapped[int] = mapped_column(Integer)
    needs_solved: Mapped[int] = mapped_column(Integer)
    experts_stationed: Mapped[int] = mapped_column(Integer)
    enterprises_served: Mapped[int] = mapped_column(Integer)
    technicians_trained: Mapped[int] = mapped_column(Integer)
    events_held: Mapped[int] = mapped_column(Integer)
    patents: Mapped[int] = mapped_column(Integer)
    standards: Mapped[int] = mapped_column(Integer)
    products: Mapped[int] = mapped_column(Integer)
    revenue_fen: Mapped[int] = mapped_column(BigInteger)
    narrative: Mapped[str] = mapped_column(Text, default="")
    # [stored_file ids] of the evidence uploads.
    evidence_file_ids: Mapped[list] = mapped_column(JSON, default=list)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        UniqueConstraint("station_id", "year", name="uq_station_report_year"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint(
            " AND ".join(f"{name} >= 0" for name in REPORT_COUNTS), name="counts_nonnegative"
        ),
        CheckConstraint("needs_solved <= needs_collected", name="solved_le_collected"),
    )


class StationEvaluation(db.Model):
    """A third-party agency's performance evaluation of a station for one year."""

    __tablename__ = "station_evaluation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    rubric_snapshot_id: Mapped[int] = mapped_column(ForeignKey("rubric_snapshot.id"))
    # criterion key → score as a decimal string, or null for not applicable.
    scores: Mapped[dict] = mapped_column(JSON)
    total: Mapped[str] = mapped_column(String(20))  # a decimal as text, never a float
    grade: Mapped[str] = mapped_column(String(16), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    report_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    override_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    station: Mapped[Station] = relationship(lazy="joined")
    evaluator: Mapped[User] = relationship(foreign_keys=[evaluator_id])

    __table_args__ = (
        UniqueConstraint("station_id", "year", name="uq_station_evaluation_year"),
        CheckConstraint(f"grade IN {_in(GRADE_LABELS)}", name="grade_valid"),
        CheckConstraint(
            "(override_at IS NULL) = (override_by_id IS NULL) AND "
            "(override_at IS NULL) = (override_reason IS NULL)",
            name="override_complete",
        ),
        CheckConstraint("override_at IS NULL OR grade = 'poor'", name="override_only_poor"),
    )
