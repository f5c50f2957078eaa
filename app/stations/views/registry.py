"""Stations: the registry, a station's page, its documents, team, base checklist,
state changes, engaged evaluation agencies, files, and the registry as xlsx."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.accounts.models import Organisation
from app.core.errors import DomainError
from app.core.files import send_stored
from app.core.forms import page_args, page_of, show_error
from app.core.models import StoredFile
from app.core.permissions import requires
from app.extensions import db
from app.stations import exports, reporting
from app.stations import operations as ops
from app.stations import permissions as rules
from app.stations.forms import (
    REPORT_LABELS,
    ChiefForm,
    DocumentForm,
    EngageForm,
    EvidenceForm,
    ExpertForm,
    PartnerForm,
    ReasonForm,
    StationForm,
    choices,
)
from app.stations.models import (
    BaseEvidence,
    HighTechPark,
    Station,
    StationEngagement,
    StationEvaluation,
    StationReport,
)
from app.stations.states import GRADE_LABELS, STATION_WORKFLOW, StationState
from app.stations.views.common import bp, done, fail, load_station, orgs, xlsx_response


def _stations_query():
    """The stations ``current_user`` may see, as filtered (``state``, ``q``), as a select.

    The list and the registry show each station's society and government: joined, not
    one query each per station."""
    stmt = (
        select(Station)
        .order_by(Station.id)
        .options(joinedload(Station.society), joinedload(Station.government))
    )
    state = request.values.get("state")
    if state in StationState.values():
        stmt = stmt.where(Station.state == state)
    q = (request.values.get("q") or "").strip()[:100]
    if q:
        orgs_named = select(Organisation.id).where(Organisation.name.contains(q))
        stmt = stmt.where(
            or_(
                Station.name.contains(q),
                Station.park_id.in_(select(HighTechPark.id).where(HighTechPark.name.contains(q))),
                Station.society_id.in_(orgs_named),
                Station.government_id.in_(orgs_named),
            )
        )
    return rules.visible_stations(stmt, current_user)


def _visible_stations():
    return db.session.scalars(_stations_query()).all()


@bp.route("/stations")
@requires("stations.read")
def list_stations():
    """The stations the user may see, with park, lead society and state, a page at a time
    (filter by state; ``q`` searches the name, park, lead society and government)."""
    size = int(current_app.config.get("STATION_PAGE_SIZE", 20))
    page, size = page_args(request, default_size=size)
    stmt = _stations_query()
    stations, total = page_of(stmt, page, size)
    return render_template(
        "stations/list.html",
        stations=stations,
        states=StationState,
        q=(request.args.get("q") or "").strip()[:100],
        page=page,
        size=size,
        total=total,
    )


@bp.route("/stations/export.xlsx", methods=["POST"])
@requires("stations.read")
def export_stations():
    """The station registry (as filtered, of the stations the user may see) as xlsx.

    Downloads are POSTed from a form (CSRF-checked, like every export that writes an
    audit event)."""
    if not ReasonForm().validate_on_submit():
        abort(400)
    stations = _visible_stations()
    grades = {e.station_id: e.grade for e in reporting.latest_evaluations()}
    data = exports.stations_xlsx(stations, user=current_user, latest_grades=grades)
    return xlsx_response(
        data,
        document="stations",
        name="学会服务站名册.xlsx",
        ascii_name="stations.xlsx",
        rows=len(stations),
    )


@bp.route("/stations/new", methods=["GET", "POST"])
@requires("stations.manage")
def new_station():
    """Register a planned station (officers)."""
    if not current_user.has_role("officer"):
        abort(403)
    form = StationForm()
    form.park_id.choices = choices(
        [
            (p.id, p.name)
            for p in db.session.scalars(select(HighTechPark).order_by(HighTechPark.name))
        ]
    )
    form.government_id.choices = orgs("local_government")
    form.society_id.choices = orgs("society")
    if form.validate_on_submit():
        try:
            station = ops.create_station(
                form.name.data,
                park_id=form.park_id.data,
                government_id=form.government_id.data,
                society_id=form.society_id.data,
                actor=current_user,
            )
        except DomainError as err:
            return render_template("stations/new.html", form=form), show_error(form, err)
        return done("stations.show_station", _("服务站已登记。"), station_id=station.id)
    return render_template("stations/new.html", form=form), 400 if form.errors else 200


@bp.route("/stations/<int:station_id>")
@requires("stations.read")
def show_station(station_id):
    """A station: parties, team, documents, agreement, base checklist, reports, grades."""
    station = load_station(station_id)
    evidence = {
        e.criterion: e
        for e in db.session.scalars(
            select(BaseEvidence).where(BaseEvidence.station_id == station.id)
        )
    }
    reports = db.session.scalars(
        select(StationReport)
        .where(StationReport.station_id == station.id)
        .order_by(StationReport.year)
    ).all()
    evaluations = db.session.scalars(
        select(StationEvaluation)
        .where(StationEvaluation.station_id == station.id)
        .order_by(StationEvaluation.year)
    ).all()
    engagements = db.session.scalars(
        select(StationEngagement)
        .where(StationEngagement.station_id == station.id)
        .order_by(StationEngagement.id)
    ).all()
    partner_form = PartnerForm()
    partner_form.society_id.choices = orgs("society")
    evidence_form = EvidenceForm()
    evidence_form.criterion.choices = choices([(k, zh) for k, zh, *_r in ops.base_criteria()])
    engage_form = EngageForm()
    engage_form.agency_id.choices = orgs("evaluation_agency")
    return render_template(
        "stations/show.html",
        station=station,
        actions=STATION_WORKFLOW.available(station, current_user),
        can_edit=rules.can_edit_station(current_user, station),
        can_confirm=rules.can_confirm_agreement(current_user, station),
        can_post=rules.can_post_need(current_user, station),
        can_report=rules.can_report(current_user, station),
        can_evaluate=rules.can_evaluate(current_user, station),
        can_override=rules.can_override_block(current_user),
        can_engage=rules.can_engage_agency(current_user, station),
        can_files=rules.can_see_station_files(current_user, station),
        criteria=ops.base_criteria(),
        evidence=evidence,
        reports=reports,
        evaluations=evaluations,
        engagements=engagements,
        grade_labels=GRADE_LABELS,
        report_labels=REPORT_LABELS,
        document_form=DocumentForm(),
        chief_form=ChiefForm(),
        expert_form=ExpertForm(),
        partner_form=partner_form,
        evidence_form=evidence_form,
        engage_form=engage_form,
        reason_form=ReasonForm(),
    )


@bp.route("/stations/<int:station_id>/documents", methods=["POST"])
@requires("stations.manage")
def upload_document(station_id):
    """Upload the management rules, the work plan or the cooperation agreement."""
    station = load_station(station_id)
    form = DocumentForm()
    if form.validate_on_submit():
        try:
            upload = form.file.data
            ops.upload_document(
                station, form.kind.data, upload.stream, upload.filename, actor=current_user
            )
            return done("stations.show_station", _("文件已上传。"), station_id=station.id)
        except DomainError as err:
            fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/confirm-agreement", methods=["POST"])
@requires("stations.manage")
def confirm_agreement(station_id):
    """The lead society or the co-building government confirms the agreement."""
    station = load_station(station_id)
    if ReasonForm().validate_on_submit():
        try:
            ops.confirm_agreement(station, actor=current_user)
            return done("stations.show_station", _("已确认合作协议。"), station_id=station.id)
        except DomainError as err:
            fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/team", methods=["POST"])
@requires("stations.manage")
def edit_team(station_id):
    """Name the chief expert, add an expert or a partner society."""
    station = load_station(station_id)
    part = request.form.get("part")
    form = {"chief": ChiefForm, "expert": ExpertForm, "partner": PartnerForm}.get(part, ChiefForm)()
    if part == "partner":
        form.society_id.choices = orgs("society")
    if form.validate_on_submit():
        try:
            if part == "partner":
                ops.add_partner(station, form.society_id.data, actor=current_user)
            elif part == "expert":
                ops.add_expert(station, form.data, actor=current_user)
            else:
                ops.set_chief_expert(station, form.data, actor=current_user)
            return done("stations.show_station", _("已保存。"), station_id=station.id)
        except DomainError as err:
            fail(err)
    for errors in form.errors.values():
        for message in errors:
            flash(message, "danger")
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/evidence", methods=["POST"])
@requires("stations.manage")
def add_evidence(station_id):
    """Upload the evidence of one demonstration-base checklist item."""
    station = load_station(station_id)
    form = EvidenceForm()
    form.criterion.choices = choices([(k, zh) for k, zh, *_r in ops.base_criteria()])
    if form.validate_on_submit():
        try:
            upload = form.file.data
            ops.add_base_evidence(
                station, form.criterion.data, upload.stream, upload.filename,
                actor=current_user, note=form.note.data or "",
            )  # fmt: skip
            return done("stations.show_station", _("佐证材料已上传。"), station_id=station.id)
        except DomainError as err:
            fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/engage", methods=["POST"])
@requires("stations.manage")
def engage_agency(station_id):
    """The department engages a third-party evaluation agency on the station."""
    station = load_station(station_id)
    form = EngageForm()
    form.agency_id.choices = orgs("evaluation_agency")
    if form.validate_on_submit():
        try:
            ops.engage_agency(station, form.agency_id.data, actor=current_user)
            return done("stations.show_station", _("已委托评估机构。"), station_id=station.id)
        except DomainError as err:
            db.session.rollback()
            fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/do/<action>", methods=["POST"])
@requires("stations.manage")
def station_action(station_id, action):
    """Establish, start, confirm as base, suspend, resume or close a station."""
    station = load_station(station_id)
    form = ReasonForm()
    if action not in STATION_WORKFLOW.transitions:
        abort(404)
    if form.validate_on_submit():
        try:
            ops.advance_station(station, action, actor=current_user, reason=form.reason.data)
            return done("stations.show_station", _("已更新服务站状态。"), station_id=station.id)
        except DomainError as err:
            db.session.rollback()
            fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/files/<int:file_id>")
@requires("stations.read")
def download_file(station_id, file_id):
    """A document, evidence or report file of a station: to staff, the station's parties
    and engaged evaluators (its park's enterprises see the page, not the files)."""
    station = load_station(station_id)
    row = db.session.get(StoredFile, file_id)
    if row is None or row.owner_type != "station" or row.owner_id != station.id:
        abort(404)
    if not rules.can_see_station_files(current_user, station):
        abort(404)
    return send_stored(row, actor=current_user, station_id=station.id)
