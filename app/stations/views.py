"""Stations registry, demonstration bases, the needs board, yearly reports and
evaluations, pilot profiles and regions, and the stage-goals dashboard."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Organisation
from app.core.errors import DomainError
from app.core.files import path_for
from app.core.forms import page_args, show_error
from app.core.models import StoredFile
from app.core.permissions import requires
from app.extensions import db
from app.home import navigation
from app.stations import needs as need_ops
from app.stations import operations as ops
from app.stations import permissions as rules
from app.stations import reporting
from app.stations.figures import stage_figures
from app.stations.forms import (
    REPORT_LABELS,
    ChiefForm,
    CloseForm,
    DocumentForm,
    EvidenceForm,
    ExpertForm,
    MatchForm,
    NeedForm,
    PartnerForm,
    PilotForm,
    ProposalForm,
    ReasonForm,
    ReportForm,
    StationForm,
    choices,
)
from app.stations.models import (
    BaseEvidence,
    HighTechPark,
    Need,
    PilotRegion,
    Station,
    StationEvaluation,
    StationReport,
)
from app.stations.states import (
    GRADE_LABELS,
    NEED_KINDS,
    NEED_WORKFLOW,
    STATION_WORKFLOW,
    URGENCIES,
    NeedState,
    StationState,
)

bp = Blueprint("stations", __name__)
navigation.add("stations.list_stations", _l("学会服务站"), "stations.read")
navigation.add("stations.list_needs", _l("需求对接"), "needs.read")
navigation.add("stations.dashboard", _l("阶段目标"), "stations.dashboard")


def _fail(err: DomainError) -> None:
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def _done(target: str, message: str, **values):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(target, **values))


def _station(station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None:
        abort(404)
    return station


def _need(need_id: int) -> Need:
    need = db.session.get(Need, need_id)
    if need is None or not rules.can_view_need(current_user, need):
        abort(404)
    return need


def _orgs(kind: str) -> list:
    return choices(
        (o.id, o.name)
        for o in db.session.scalars(
            select(Organisation).where(Organisation.kind == kind).order_by(Organisation.name)
        )
    )


@bp.app_template_filter("station_state")
def station_state(value) -> str:
    """A station state's label."""
    return StationState(str(value)).label


@bp.app_template_filter("need_state")
def need_state(value) -> str:
    """A need state's label."""
    return NeedState(str(value)).label


# --- stations ----------------------------------------------------------------------------


@bp.route("/stations")
@requires("stations.read")
def list_stations():
    """Every station with its park, lead society and state (filter by state)."""
    stmt = select(Station).order_by(Station.id)
    state = request.args.get("state")
    if state in StationState.values():
        stmt = stmt.where(Station.state == state)
    return render_template(
        "stations/list.html", stations=db.session.scalars(stmt).all(), states=StationState
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
    form.government_id.choices = _orgs("local_government")
    form.society_id.choices = _orgs("society")
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
        return _done("stations.show_station", _("服务站已登记。"), station_id=station.id)
    return render_template("stations/new.html", form=form), 400 if form.errors else 200


@bp.route("/stations/<int:station_id>")
@requires("stations.read")
def show_station(station_id):
    """A station: parties, team, documents, agreement, base checklist, reports, grades."""
    station = _station(station_id)
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
    partner_form = PartnerForm()
    partner_form.society_id.choices = _orgs("society")
    evidence_form = EvidenceForm()
    evidence_form.criterion.choices = choices([(k, zh) for k, zh, *_r in ops.base_criteria()])
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
        criteria=ops.base_criteria(),
        evidence=evidence,
        reports=reports,
        evaluations=evaluations,
        grade_labels=GRADE_LABELS,
        report_labels=REPORT_LABELS,
        document_form=DocumentForm(),
        chief_form=ChiefForm(),
        expert_form=ExpertForm(),
        partner_form=partner_form,
        evidence_form=evidence_form,
        reason_form=ReasonForm(),
    )


@bp.route("/stations/<int:station_id>/documents", methods=["POST"])
@requires("stations.manage")
def upload_document(station_id):
    """Upload the management rules, the work plan or the cooperation agreement."""
    station = _station(station_id)
    form = DocumentForm()
    if form.validate_on_submit():
        try:
            upload = form.file.data
            ops.upload_document(
                station, form.kind.data, upload.stream, upload.filename, actor=current_user
            )
            return _done("stations.show_station", _("文件已上传。"), station_id=station.id)
        except DomainError as err:
            _fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/confirm-agreement", methods=["POST"])
@requires("stations.manage")
def confirm_agreement(station_id):
    """The lead society or the co-building government confirms the agreement."""
    station = _station(station_id)
    if ReasonForm().validate_on_submit():
        try:
            ops.confirm_agreement(station, actor=current_user)
            return _done("stations.show_station", _("已确认合作协议。"), station_id=station.id)
        except DomainError as err:
            _fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/team", methods=["POST"])
@requires("stations.manage")
def edit_team(station_id):
    """Name the chief expert, add an expert or a partner society."""
    station = _station(station_id)
    part = request.form.get("part")
    form = {"chief": ChiefForm, "expert": ExpertForm, "partner": PartnerForm}.get(part, ChiefForm)()
    if part == "partner":
        form.society_id.choices = _orgs("society")
    if form.validate_on_submit():
        try:
            if part == "partner":
                ops.add_partner(station, form.society_id.data, actor=current_user)
            elif part == "expert":
                ops.add_expert(station, form.data, actor=current_user)
            else:
                ops.set_chief_expert(station, form.data, actor=current_user)
            return _done("stations.show_station", _("已保存。"), station_id=station.id)
        except DomainError as err:
            _fail(err)
    for errors in form.errors.values():
        for message in errors:
            flash(message, "danger")
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/evidence", methods=["POST"])
@requires("stations.manage")
def add_evidence(station_id):
    """Upload the evidence of one demonstration-base checklist item."""
    station = _station(station_id)
    form = EvidenceForm()
    form.criterion.choices = choices([(k, zh) for k, zh, *_r in ops.base_criteria()])
    if form.validate_on_submit():
        try:
            upload = form.file.data
            ops.add_base_evidence(
                station, form.criterion.data, upload.stream, upload.filename,
                actor=current_user, note=form.note.data or "",
            )  # fmt: skip
            return _done("stations.show_station", _("佐证材料已上传。"), station_id=station.id)
        except DomainError as err:
            _fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/do/<action>", methods=["POST"])
@requires("stations.manage")
def station_action(station_id, action):
    """Establish, start, confirm as base, suspend, resume or close a station."""
    station = _station(station_id)
    form = ReasonForm()
    if action not in STATION_WORKFLOW.transitions:
        abort(404)
    if form.validate_on_submit():
        try:
            ops.advance_station(station, action, actor=current_user, reason=form.reason.data)
            return _done("stations.show_station", _("已更新服务站状态。"), station_id=station.id)
        except DomainError as err:
            _fail(err)
    return redirect(url_for("stations.show_station", station_id=station.id))


@bp.route("/stations/<int:station_id>/files/<int:file_id>")
@requires("stations.read")
def download_file(station_id, file_id):
    """A document, evidence or report file of a station (to its parties and staff)."""
    station = _station(station_id)
    row = db.session.get(StoredFile, file_id)
    if row is None or row.owner_type != "station" or row.owner_id != station.id:
        abort(404)
    staff = current_user.has_role(*rules.STAFF, "evaluator")
    if not staff and current_user.org_id not in rules.station_orgs(station):
        abort(404)
    return send_file(
        path_for(row.sha256), mimetype=row.mime, as_attachment=True, download_name=row.original_name
    )


@bp.route("/stations/<int:station_id>/reports/new", methods=["GET", "POST"])
@requires("stations.manage")
def new_report(station_id):
    """File the station's yearly report."""
    station = _station(station_id)
    if not rules.can_report(current_user, station):
        abort(403)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            files = request.files.getlist(form.evidence.name)
            evidence = [(f.stream, f.filename) for f in files if f and f.filename]
            reporting.submit_report(
                station, form.year.data, {**form.counts(), "narrative": form.narrative.data},
                evidence, actor=current_user,
            )  # fmt: skip
            return _done("stations.show_station", _("年度报告已报送。"), station_id=station.id)
        except DomainError as err:
            status = show_error(form, err)
            return render_template("stations/report.html", form=form, station=station), status
    return render_template("stations/report.html", form=form, station=station), (
        400 if form.errors else 200
    )


@bp.route("/stations/<int:station_id>/evaluate", methods=["GET", "POST"])
@requires("stations.evaluate")
def evaluate(station_id):
    """The third-party agency scores the station on the performance rubric."""
    station = _station(station_id)
    decision = rules.can_evaluate(current_user, station)
    if not decision:
        abort(403)
    _snap, rubric = reporting.load_station_rubric()
    form = ReasonForm()
    if form.validate_on_submit():
        scores = {
            c.key: (request.form.get(f"score_{c.key}") or "").strip() or None
            for c in rubric.criteria
        }
        try:
            year = int(request.form.get("year", "0"))
            reporting.evaluate_station(
                station, year, scores, actor=current_user, comment=form.reason.data or ""
            )
            return _done("stations.show_station", _("评价已提交。"), station_id=station.id)
        except ValueError:
            flash(_("请填写评价年度。"), "danger")
        except DomainError as err:
            _fail(err)
        db.session.rollback()
        return render_template(
            "stations/evaluate.html", station=station, rubric=rubric, form=form
        ), 422
    return render_template("stations/evaluate.html", station=station, rubric=rubric, form=form)


@bp.route("/stations/evaluations/<int:evaluation_id>/override", methods=["POST"])
@requires("stations.evaluate")
def override(evaluation_id):
    """The department head lifts a 差 grade's funding block with a reason."""
    row = db.session.get(StationEvaluation, evaluation_id)
    if row is None:
        abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            reporting.override_block(row, form.reason.data, actor=current_user)
            return _done("stations.show_station", _("已解除限制。"), station_id=row.station_id)
        except DomainError as err:
            _fail(err)
    return redirect(url_for("stations.show_station", station_id=row.station_id))


# --- needs -------------------------------------------------------------------------------


@bp.route("/needs")
@requires("needs.read")
def list_needs():
    """Needs searchable by industry, kind, city and state."""
    args = request.args
    stmt = need_ops.search_needs(
        industry=args.get("industry"),
        kind=args.get("kind") if args.get("kind") in NEED_KINDS else None,
        city=args.get("city") or None,
        state=args.get("state") if args.get("state") in NeedState.values() else None,
    )
    stmt = need_ops.visible_to(stmt, current_user)
    page, size = page_args(request)
    from sqlalchemy import func

    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(size).offset((page - 1) * size)).all()
    from app.stations.figures import reference

    return render_template(
        "stations/needs.html",
        needs=rows,
        page=page,
        size=size,
        total=total,
        kinds=NEED_KINDS,
        states=NeedState,
        cities=reference()["cities"],
    )


@bp.route("/stations/<int:station_id>/needs/new", methods=["GET", "POST"])
@requires("needs.post")
def new_need(station_id):
    """Post a need to a station (its government or an enterprise of its park)."""
    station = _station(station_id)
    decision = rules.can_post_need(current_user, station)
    if not decision:
        flash(decision.reason, "danger")
        return redirect(url_for("stations.show_station", station_id=station.id)), 303
    form = NeedForm()
    if form.validate_on_submit():
        try:
            need = need_ops.post_need(station, form.data, actor=current_user)
            return _done("stations.show_need", _("需求已发布。"), need_id=need.id)
        except DomainError as err:
            status = show_error(form, err)
            return render_template("stations/need_form.html", form=form, station=station), status
    return render_template("stations/need_form.html", form=form, station=station), (
        400 if form.errors else 200
    )


def _match_form(need: Need) -> MatchForm:
    from app.applications.models import Application
    from app.projects.models import Project

    form = MatchForm()
    form.project_id.choices = choices(
        [
            (p.id, f"{p.id} {title}")
            for p, title in db.session.execute(
                select(Project, Application.title)
                .join(Application, Application.id == Project.application_id)
                .where(Application.station_id == need.station_id)
                .order_by(Project.id)
            )
        ]
    )
    form.proposal_id.choices = choices(
        [(0, "—")] + [(p.id, p.society.name) for p in need.proposals]
    )
    return form


@bp.route("/needs/<int:need_id>")
@requires("needs.read")
def show_need(need_id):
    """A need, its proposals and what may be done with it now."""
    need = _need(need_id)
    return render_template(
        "stations/need.html",
        need=need,
        kinds=NEED_KINDS,
        urgencies=URGENCIES,
        actions=NEED_WORKFLOW.available(need, current_user),
        can_respond=rules.can_respond(current_user, need),
        proposal_form=ProposalForm(),
        match_form=_match_form(need),
        close_form=CloseForm(),
        reason_form=ReasonForm(),
    )


@bp.route("/needs/<int:need_id>/do/<action>", methods=["POST"])
@requires("needs.handle")
def need_action(need_id, action):
    """Screen, refuse, match, start, solve, propose for or close a need."""
    need = _need(need_id)
    try:
        if action in ("screen", "not_accept"):
            form = ReasonForm()
            if form.validate_on_submit():
                need_ops.screen_need(
                    need, action == "screen", actor=current_user, reason=form.reason.data
                )
        elif action in ("start", "solve"):
            if ReasonForm().validate_on_submit():
                need_ops.advance_need(need, action, actor=current_user)
        elif action == "propose":
            form = ProposalForm()
            if form.validate_on_submit():
                need_ops.propose(
                    need,
                    {"content": form.content.data, "experts": form.expert_rows()},
                    actor=current_user,
                )
        elif action == "match":
            form = _match_form(need)
            if form.validate_on_submit():
                need_ops.match_need(
                    need, form.project_id.data, actor=current_user,
                    proposal_id=form.proposal_id.data or None,
                )  # fmt: skip
        elif action == "close":
            form = CloseForm()
            if form.validate_on_submit():
                need_ops.close_need(
                    need, form.result.data, form.satisfaction.data, actor=current_user
                )
        else:
            abort(404)
        db.session.commit()
    except DomainError as err:
        db.session.rollback()
        _fail(err)
    return redirect(url_for("stations.show_need", need_id=need_id))


# --- pilot profiles and regions ---------------------------------------------------------


@bp.route("/pilot/applications/<int:app_id>", methods=["GET", "POST"])
@requires("pilot.read")
def pilot_profile(app_id):
    """The pilot profile of a pilot application (the applying government edits it)."""
    from app.applications.models import Application
    from app.applications.permissions import can_view_application

    app = db.session.get(Application, app_id)
    if app is None or app.call.kind != "pilot" or not can_view_application(current_user, app):
        abort(404)
    profile = ops.pilot_profile_of(app.id)
    form = PilotForm(obj=profile)
    form.park_id.choices = choices(
        [
            (p.id, p.name)
            for p in db.session.scalars(select(HighTechPark).order_by(HighTechPark.name))
        ]
    )
    form.lead_society_id.choices = choices([(0, "—")]) + _orgs("society")
    editable = rules.can_edit_pilot(current_user, app)
    if request.method == "POST":
        if not editable:
            abort(403)
        if form.validate_on_submit():
            try:
                ops.save_pilot_profile(app, form.data_for(), actor=current_user)
                return _done("stations.pilot_profile", _("试点信息已保存。"), app_id=app.id)
            except DomainError as err:
                status = show_error(form, err)
                return render_template(
                    "stations/pilot.html", form=form, app=app, editable=editable
                ), status
    return render_template("stations/pilot.html", form=form, app=app, editable=editable)


@bp.route("/pilot/regions")
@requires("stations.read")
def pilot_regions():
    """Selected pilot regions (confirmed awards of pilot calls)."""
    rows = db.session.scalars(select(PilotRegion).order_by(PilotRegion.selected_at)).all()
    return render_template("stations/regions.html", regions=rows)


# --- dashboard ---------------------------------------------------------------------------


@bp.route("/stations/dashboard")
@requires("stations.dashboard")
def dashboard():
    """Stage goals of the seed programme: measured figures beside their targets."""
    figures = stage_figures()
    chart = {
        "cities": [c["zh"] for c in figures["by_city"]],
        "bases": [c["bases"] for c in figures["by_city"]],
        "stations": [c["stations"] for c in figures["by_city"]],
        "needs_posted": [c["needs_posted"] for c in figures["by_city"]],
        "needs_solved": [c["needs_solved"] for c in figures["by_city"]],
        "years": [str(y["year"]) for y in figures["by_year"]],
        "year_pilots": [y["pilot_regions"] for y in figures["by_year"]],
        "year_bases": [y["bases"] for y in figures["by_year"]],
        "year_needs": [y["needs_posted"] for y in figures["by_year"]],
        "year_solved": [y["needs_solved"] for y in figures["by_year"]],
        "grades": [
            {"name": str(label), "value": figures["grades"][key]}
            for key, label in GRADE_LABELS.items()
        ],
        "labels": {
            "bases": _("示范基地"),
            "stations": _("服务站"),
            "posted": _("发布需求"),
            "solved": _("解决需求"),
            "pilots": _("试点地区"),
        },
    }
    return render_template(
        "stations/dashboard.html",
        f=figures,
        grade_labels=GRADE_LABELS,
        chart_json=json.dumps(chart, ensure_ascii=False).replace("</", "<\\/"),
    )


from app.stations import demo as _demo  # noqa: E402, F401  (registers the demo step)
