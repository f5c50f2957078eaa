"""Parks, stations and demonstration bases, pilot profiles and pilot regions.

Every operation takes plain data and a keyword-only ``actor``, flushes, writes its audit
event, and never commits. Needs live in ``needs.py``; yearly reports, evaluations and
the 差-grade funding block in ``reporting.py``.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Organisation
from app.audit import trail
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.files import store_upload
from app.core.tick import on_tick
from app.extensions import db
from app.stations import notices
from app.stations import permissions as rules
from app.stations.models import (
    BaseEvidence,
    EnterprisePark,
    HighTechPark,
    PilotProfile,
    PilotRegion,
    Station,
    StationEngagement,
    StationExpert,
    StationPartner,
)
from app.stations.reporting import society_station_block
from app.stations.states import DEFAULT_BASE_CRITERIA, STATION_WORKFLOW

DOCUMENTS = {"rules": "rules_file_id", "plan": "plan_file_id", "agreement": "agreement_file_id"}


def _require(decision) -> None:
    if not decision:
        raise NotAllowed(decision.reason)


def _text(value, limit: int) -> str:
    return (value or "").strip()[:limit]


def create_park(name: str, city_code: str, *, actor, name_en: str | None = None) -> HighTechPark:
    """Record a high-tech park.

    Raises ``ValidationFailed`` for a missing name or a city code that is not
    six digits, ``Conflict`` for a name already recorded. Audited as ``park.create``.
    """
    name, city_code = (name or "").strip(), (city_code or "").strip()
    if not name:
        raise ValidationFailed(_("请填写园区名称。"), field="name")
    if not (len(city_code) == 6 and city_code.isdigit()):
        raise ValidationFailed(_("城市代码应为6位数字。"), field="city_code")
    if db.session.scalar(select(HighTechPark.id).where(HighTechPark.name == name)):
        raise Conflict(_("园区名称已存在。"), field="name")
    park = HighTechPark(name=name, city_code=city_code, name_en=name_en)
    db.session.add(park)
    db.session.flush()
    trail.record(
        "park.create", "high_tech_park", park.id, actor=actor, after={"city_code": city_code}
    )
    return park


def link_enterprise(org_id: int, park_id: int, *, actor) -> EnterprisePark:
    """Record (or move) the park an enterprise is located in.

    Raises ``ValidationFailed`` when the organisation is not an enterprise or the
    park is unknown. Audited as ``enterprise_park.set``.
    """
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != "enterprise":
        raise ValidationFailed(_("只能为企业登记所在园区。"), field="org_id")
    if db.session.get(HighTechPark, park_id) is None:
        raise ValidationFailed(_("园区不存在。"), field="park_id")
    row = db.session.get(EnterprisePark, org_id)
    before = None if row is None else {"park_id": row.park_id}
    if row is None:
        row = EnterprisePark(org_id=org_id, park_id=park_id)
        db.session.add(row)
    row.park_id = park_id
    db.session.flush()
    trail.record(
        "enterprise_park.set",
        "organisation",
        org_id,
        actor=actor,
        before=before,
        after={"park_id": park_id},
    )
    return row


def create_station(
    name: str, *, park_id: int, government_id: int, society_id: int, actor
) -> Station:
    """Record a planned station of ``society_id`` in a park, co-built with ``government_id``.

    Raises ``ValidationFailed`` when the park is unknown or the organisations
    are not a local government and a society, ``NotAllowed`` when the society is
    blocked by a 差 grade (``society_station_block``), ``Conflict`` for a name in use.
    Audited as ``station.create``.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写服务站名称。"), field="name")
    if db.session.get(HighTechPark, park_id) is None:
        raise ValidationFailed(_("园区不存在。"), field="park_id")
    gov, society = (
        db.session.get(Organisation, government_id),
        db.session.get(Organisation, society_id),
    )
    if gov is None or gov.kind != "local_government":
        raise ValidationFailed(_("共建单位必须是市县政府或科协。"), field="government_id")
    if society is None or society.kind != "society":
        raise ValidationFailed(_("牵头单位必须是省级学会。"), field="society_id")
    block = society_station_block(society_id)
    if block:
        raise NotAllowed(block, field="society_id")
    if db.session.scalar(select(Station.id).where(Station.name == name)):
        raise Conflict(_("服务站名称已存在。"), field="name")
    station = Station(
        name=name,
        park_id=park_id,
        government_id=government_id,
        society_id=society_id,
        chief_expert={},
    )
    db.session.add(station)
    db.session.flush()
    trail.record(
        "station.create",
        "station",
        station.id,
        actor=actor,
        after={
            "state": "planned",
            "park_id": park_id,
            "government_id": government_id,
            "society_id": society_id,
        },
    )
    return station


def add_partner(station: Station, society_id: int, *, actor) -> StationPartner:
    """Add a partner society to a station.

    Raises ``NotAllowed`` (not an officer or the lead society), ``ValidationFailed``
    (not a society, or the lead society itself), ``Conflict`` (already a partner).
    Audited as ``station.add_partner``.
    """
    _require(rules.can_edit_station(actor, station))
    society = db.session.get(Organisation, society_id)
    if society is None or society.kind != "society":
        raise ValidationFailed(_("合作单位必须是省级学会。"), field="society_id")
    if society_id == station.society_id:
        raise ValidationFailed(_("牵头学会不能同时作为合作学会。"), field="society_id")
    if any(p.society_id == society_id for p in station.partners):
        raise Conflict(_("该学会已是合作学会。"), field="society_id")
    row = StationPartner(society_id=society_id)
    station.partners.append(row)
    db.session.flush()
    trail.record(
        "station.add_partner", "station", station.id, actor=actor, after={"society_id": society_id}
    )
    return row


def set_chief_expert(station: Station, data: dict, *, actor) -> Station:
    """Name the station's chief S&T expert (name, title, organisation).

    Raises ``ValidationFailed`` for a missing name or organisation. Audited as
    ``station.chief_expert`` (no personal data in the event).
    """
    _require(rules.can_edit_station(actor, station))
    chief = {k: _text(data.get(k), 200) for k in ("name", "title", "organisation")}
    if not chief["name"] or not chief["organisation"]:
        raise ValidationFailed(_("请填写首席科技专家的姓名和单位。"), field="name")
    station.chief_expert = chief
    db.session.flush()
    trail.record("station.chief_expert", "station", station.id, actor=actor, after={"set": True})
    return station


def add_expert(station: Station, data: dict, *, actor) -> StationExpert:
    """Add a member to the station's expert team.

    Raises ``ValidationFailed`` for a missing name. Audited as ``station.add_expert``.
    """
    _require(rules.can_edit_station(actor, station))
    name = _text(data.get("name"), 100)
    if not name:
        raise ValidationFailed(_("请填写专家姓名。"), field="name")
    row = StationExpert(
        name=name,
        title=_text(data.get("title"), 100),
        organisation=_text(data.get("organisation"), 200),
        field=_text(data.get("field"), 100),
    )
    station.experts.append(row)
    db.session.flush()
    trail.record(
        "station.add_expert", "station", station.id, actor=actor, after={"expert_id": row.id}
    )
    return row


def upload_document(station: Station, kind: str, stream, filename: str, *, actor) -> Station:
    """Upload the management rules (``rules``), annual work plan (``plan``) or the
    cooperation agreement (``agreement``). A new agreement clears both confirmations.

    Raises ``ValidationFailed`` (unknown kind, bad file), ``NotAllowed`` (not an
    officer or the lead society; an agreement after establishment).
    Audited as ``station.upload``.
    """
    _require(rules.can_edit_station(actor, station))
    if kind not in DOCUMENTS:
        raise ValidationFailed(_("文件类型无效。"), field="kind")
    if kind == "agreement" and station.state != "planned":
        raise NotAllowed(_("服务站已建立，合作协议不能更换。"))
    stored = store_upload(
        stream, filename, kind="document", owner_type="station", owner_id=station.id, actor=actor
    )
    setattr(station, DOCUMENTS[kind], stored.id)
    if kind == "agreement":
        station.society_confirmed_at = station.society_confirmed_by_id = None
        station.government_confirmed_at = station.government_confirmed_by_id = None
    db.session.flush()
    trail.record(
        "station.upload",
        "station",
        station.id,
        actor=actor,
        after={"document": kind, "file_sha256": stored.sha256},
    )
    return station


def confirm_agreement(station: Station, *, actor) -> Station:
    """The lead society's secretariat or the co-building government confirms the
    uploaded cooperation agreement (each side once).

    Raises ``NotAllowed`` (no agreement, wrong person, not planned any more),
    ``Conflict`` (this side already confirmed). Audited as ``station.confirm_agreement``.
    """
    _require(rules.can_confirm_agreement(actor, station))
    side = rules.confirming_party(actor, station)
    if getattr(station, f"{side}_confirmed_at") is not None:
        raise Conflict(_("贵方已确认过合作协议。"))
    setattr(station, f"{side}_confirmed_at", clock.now())
    setattr(station, f"{side}_confirmed_by_id", actor.id)
    db.session.flush()
    trail.record(
        "station.confirm_agreement",
        "station",
        station.id,
        actor=actor,
        after={"party": side, "agreement_file_id": station.agreement_file_id},
    )
    return station


def engage_agency(station: Station, agency_id: int, *, actor) -> StationEngagement:
    """The department engages a third-party evaluation agency on a station: the agency's
    evaluators then see the station and may evaluate its yearly reports.

    Raises ``NotAllowed`` (not an officer), ``ValidationFailed`` (not an evaluation
    agency; an agency tied to the station's parties), ``Conflict`` (already engaged).
    Audited as ``station.engage``; the agency's evaluators are notified.
    """
    _require(rules.can_engage_agency(actor, station))
    agency = db.session.get(Organisation, agency_id or 0)
    if agency is None or agency.kind != "evaluation_agency":
        raise ValidationFailed(_("请选择第三方评估机构。"), field="agency_id")
    if agency.id in rules.station_orgs(station):
        raise ValidationFailed(_("评估机构与服务站存在关联，不能委托。"), field="agency_id")
    if db.session.scalar(
        select(StationEngagement.id).where(
            StationEngagement.station_id == station.id,
            StationEngagement.agency_id == agency.id,
        )
    ):
        raise Conflict(_("已委托该评估机构评价本服务站。"), field="agency_id")
    row = StationEngagement(station_id=station.id, agency_id=agency.id, created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    trail.record(
        "station.engage", "station", station.id, actor=actor, after={"agency_id": agency.id}
    )
    notices.agency_engaged(station, agency.id)
    return row


def base_criteria() -> list[tuple[str, str, str]]:
    """The demonstration-base checklist: config ``STATION_BASE_CRITERIA`` or the default."""
    configured = current_app.config.get("STATION_BASE_CRITERIA") or DEFAULT_BASE_CRITERIA
    return [tuple(item) for item in configured]


def add_base_evidence(
    station: Station, criterion: str, stream, filename: str, *, actor, note: str = ""
) -> BaseEvidence:
    """Upload the evidence for one checklist item (replacing an earlier one).

    Raises ``ValidationFailed`` (unknown item, bad file), ``NotAllowed`` (not an
    officer or the lead society). Audited as ``station.base_evidence``.
    """
    _require(rules.can_edit_station(actor, station))
    if criterion not in {key for key, *_rest in base_criteria()}:
        raise ValidationFailed(_("示范基地认定条件不存在。"), field="criterion")
    stored = store_upload(
        stream, filename, kind="any", owner_type="station", owner_id=station.id, actor=actor
    )
    row = db.session.scalar(
        select(BaseEvidence).where(
            BaseEvidence.station_id == station.id, BaseEvidence.criterion == criterion
        )
    )
    if row is None:
        row = BaseEvidence(station_id=station.id, criterion=criterion, file_id=stored.id)
        db.session.add(row)
    row.file_id, row.note, row.uploaded_by_id = stored.id, _text(note, 2000), actor.id
    db.session.flush()
    trail.record(
        "station.base_evidence",
        "station",
        station.id,
        actor=actor,
        after={"criterion": criterion, "file_sha256": stored.sha256},
    )
    return row


def missing_evidence(station: Station) -> list[str]:
    """The checklist items (Chinese titles) that have no evidence yet."""
    have = set(
        db.session.scalars(
            select(BaseEvidence.criterion).where(BaseEvidence.station_id == station.id)
        )
    )
    return [zh for key, zh, *_rest in base_criteria() if key not in have]


def advance_station(station: Station, action: str, *, actor, reason: str | None = None):
    """Move a station by ``action`` (establish, start, suspend, resume, close) through
    the one transition table; ``confirm_base`` goes through ``confirm_base``.

    Raises ``InvalidTransition`` from a wrong state, ``NotAllowed`` for the actor or a
    failed guard (agreement not confirmed by both; rules, plan or chief expert missing),
    ``ValidationFailed`` without a required reason. Audited as ``station.<action>``.
    """
    if action == "confirm_base":
        return confirm_base(station, actor=actor)
    now = clock.now()
    previous = (station.established_at, station.closed_at)
    if action == "establish":
        station.established_at = now
    if action == "close":
        station.closed_at = now
    try:
        STATION_WORKFLOW.apply(station, action, actor=actor, reason=reason)
    except Exception:
        station.established_at, station.closed_at = previous
        raise
    db.session.flush()
    return station


def confirm_base(station: Station, *, actor) -> Station:
    """The department confirms an operating station as a demonstration base (示范基地).

    Raises ``NotAllowed`` unless every checklist item has its evidence (naming the
    missing items) or for an actor outside the department, ``InvalidTransition``
    unless operating. Audited as ``station.confirm_base`` with the evidence digests.
    """
    if str(station.state) != "operating":
        STATION_WORKFLOW.apply(station, "confirm_base", actor=actor)  # raises InvalidTransition
    _require(STATION_WORKFLOW.can(station, "confirm_base", actor))
    missing = missing_evidence(station)
    if missing:
        raise NotAllowed(_("以下示范基地认定条件尚无佐证材料：%(items)s", items="、".join(missing)))
    evidence = db.session.scalars(
        select(BaseEvidence).where(BaseEvidence.station_id == station.id)
    ).all()
    station.base_at = clock.now()
    STATION_WORKFLOW.apply(
        station,
        "confirm_base",
        actor=actor,
        after={"evidence": {e.criterion: e.file.sha256 for e in evidence}},
    )
    db.session.flush()
    notices.base_confirmed(station)
    return station


# --- pilot applications and pilot regions ------------------------------------------------


def save_pilot_profile(app, data: dict, *, actor) -> PilotProfile:
    """Save what the applying government brings to a pilot application: its park,
    leading industries, needs, premises, matching funds (fen), staff, and optionally
    the society it proposes to lead the station.

    Raises ``NotAllowed`` (not a pilot call, not the applicant's staff, not editable;
    a proposed lead society blocked by a 差 grade), ``ValidationFailed`` (unknown park,
    a park outside the government's city, negative amounts). Audited as ``pilot_profile.save``.
    """
    _require(rules.can_edit_pilot(actor, app))
    park = db.session.get(HighTechPark, data.get("park_id") or 0)
    if park is None:
        raise ValidationFailed(_("请选择所在高新园区。"), field="park_id")
    gov = app.society
    if gov.city_code and gov.city_code[:4] != park.city_code[:4]:
        raise ValidationFailed(_("所选园区不在贵市县辖区内。"), field="park_id")
    values = {}
    for name in ("matching_funds_fen", "staff_count"):
        value = data.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationFailed(_("金额和人数不能为负数。"), field=name)
        values[name] = value
    lead = data.get("lead_society_id")
    if lead:
        society = db.session.get(Organisation, lead)
        if society is None or society.kind != "society":
            raise ValidationFailed(_("牵头单位必须是省级学会。"), field="lead_society_id")
        block = society_station_block(lead)
        if block:
            raise NotAllowed(block, field="lead_society_id")
    row = db.session.scalar(select(PilotProfile).where(PilotProfile.application_id == app.id))
    if row is None:
        row = PilotProfile(application_id=app.id, park_id=park.id)
        db.session.add(row)
    row.park_id = park.id
    for name in ("leading_industries", "needs", "premises", "staff_note"):
        setattr(row, name, _text(data.get(name), 5000))
    row.matching_funds_fen, row.staff_count = values["matching_funds_fen"], values["staff_count"]
    row.lead_society_id = lead or None
    row.updated_at = clock.now()
    db.session.flush()
    trail.record(
        "pilot_profile.save",
        "application",
        app.id,
        actor=actor,
        after={"park_id": park.id, **values, "lead_society_id": row.lead_society_id},
    )
    return row


def pilot_profile_of(app_id: int) -> PilotProfile | None:
    """The pilot profile of an application, if any."""
    return db.session.scalar(select(PilotProfile).where(PilotProfile.application_id == app_id))


@on_tick("pilot_regions")
def sync_pilot_regions() -> int:
    """Create a pilot region for every confirmed award of a pilot call that has none.

    Idempotent (one region per award): run from tick and after award decisions.
    The park is the pilot profile's, else the application's. Audited as
    ``pilot_region.select`` by the system. Returns how many were created.
    """
    from app.applications.models import Application
    from app.awards.models import Award
    from app.calls.models import Call

    rows = db.session.execute(
        select(Award, Application)
        .join(Call, Call.id == Award.call_id)
        .join(Application, Application.id == Award.application_id)
        .outerjoin(PilotRegion, PilotRegion.award_id == Award.id)
        .where(Call.kind == "pilot", Award.state == "confirmed", PilotRegion.id.is_(None))
        .order_by(Award.id)
    ).all()
    for award, app in rows:
        profile = pilot_profile_of(app.id)
        region = PilotRegion(
            government_id=app.society_id,
            park_id=profile.park_id if profile else app.park_id,
            call_id=award.call_id,
            application_id=app.id,
            award_id=award.id,
            selected_at=award.confirmed_at,
        )
        db.session.add(region)
        db.session.flush()
        trail.record(
            "pilot_region.select",
            "pilot_region",
            region.id,
            role="system",
            after={
                "government_id": region.government_id,
                "park_id": region.park_id,
                "call_id": region.call_id,
                "award_id": award.id,
            },
        )
    return len(rows)
