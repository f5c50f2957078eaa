"""Stations' yearly reports, their third-party evaluations, the override of a 差
grade's funding block, and the reports as xlsx."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.forms import show_error
from app.core.permissions import requires
from app.extensions import db
from app.stations import exports, reporting
from app.stations import permissions as rules
from app.stations.forms import ReasonForm, ReportForm
from app.stations.models import Station, StationEvaluation, StationReport
from app.stations.views.common import bp, done, fail, load_station, xlsx_response


@bp.route("/stations/<int:station_id>/reports/new", methods=["GET", "POST"])
@requires("stations.manage")
def new_report(station_id):
    """File the station's yearly report."""
    station = load_station(station_id)
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
            return done("stations.show_station", _("年度报告已报送。"), station_id=station.id)
        except DomainError as err:
            db.session.rollback()
            status = show_error(form, err)
            return render_template("stations/report.html", form=form, station=station), status
    return render_template("stations/report.html", form=form, station=station), (
        400 if form.errors else 200
    )


@bp.route("/stations/reports/export.xlsx", methods=["POST"])
@requires("stations.read")
def export_reports():
    """The yearly reports of the stations the user may see, with their grades, as xlsx."""
    if not ReasonForm().validate_on_submit():
        abort(400)
    stmt = (
        select(StationReport, Station, StationEvaluation)
        .join(Station, Station.id == StationReport.station_id)
        .outerjoin(
            StationEvaluation,
            (StationEvaluation.station_id == StationReport.station_id)
            & (StationEvaluation.year == StationReport.year),
        )
        .order_by(StationReport.year, Station.id)
    )
    year = request.values.get("year", "")
    if year.isdigit():
        stmt = stmt.where(StationReport.year == int(year))
    rows = db.session.execute(rules.visible_stations(stmt, current_user)).all()
    data = exports.reports_xlsx(rows, user=current_user)
    return xlsx_response(
        data,
        document="station_reports",
        name="服务站年度报告.xlsx",
        ascii_name="station-reports.xlsx",
        rows=len(rows),
        year=int(year) if year.isdigit() else None,
    )


@bp.route("/stations/<int:station_id>/evaluate", methods=["GET", "POST"])
@requires("stations.evaluate")
def evaluate(station_id):
    """The third-party agency scores the station on the performance rubric."""
    station = load_station(station_id)
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
            return done("stations.show_station", _("评价已提交。"), station_id=station.id)
        except ValueError:
            flash(_("请填写评价年度。"), "danger")
        except DomainError as err:
            fail(err)
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
    if row is None or not rules.can_view_station(current_user, row.station):
        abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            reporting.override_block(row, form.reason.data, actor=current_user)
            return done("stations.show_station", _("已解除限制。"), station_id=row.station_id)
        except DomainError as err:
            db.session.rollback()
            fail(err)
    return redirect(url_for("stations.show_station", station_id=row.station_id))
