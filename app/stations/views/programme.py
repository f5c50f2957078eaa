"""Pilot profiles of pilot applications, the selected pilot regions, and the
stage-goals dashboard of the seed programme."""

from __future__ import annotations

import json

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.forms import show_error
from app.core.permissions import requires
from app.extensions import db
from app.stations import operations as ops
from app.stations import permissions as rules
from app.stations.choices import application_choices
from app.stations.figures import stage_figures
from app.stations.forms import PilotForm, choices
from app.stations.models import PilotRegion
from app.stations.states import GRADE_LABELS
from app.stations.views.common import bp, done, orgs


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
    # The parks of the applying government's city (the same rule as save_pilot_profile).
    form.park_id.choices = choices([(p.id, p.name) for p in application_choices(app)["parks"]])
    form.lead_society_id.choices = choices([(0, "—")]) + orgs("society")
    editable = rules.can_edit_pilot(current_user, app)
    if request.method == "POST":
        if not editable:
            abort(403)
        if form.validate_on_submit():
            try:
                ops.save_pilot_profile(app, form.data_for(), actor=current_user)
                return done("stations.pilot_profile", _("试点信息已保存。"), app_id=app.id)
            except DomainError as err:
                db.session.rollback()
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
