"""The needs board: search, export, post, a need's page and its actions; and the page
where an enterprise (or a co-building government) sees the stations it may post to."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.core.errors import DomainError
from app.core.forms import page_args, page_of, show_error
from app.core.permissions import requires
from app.extensions import db
from app.stations import exports
from app.stations import needs as need_ops
from app.stations import permissions as rules
from app.stations.figures import reference
from app.stations.forms import CloseForm, MatchForm, NeedForm, ProposalForm, ReasonForm, choices
from app.stations.models import HighTechPark, Need, Station
from app.stations.states import NEED_KINDS, NEED_WORKFLOW, URGENCIES, NeedState
from app.stations.views.common import bp, done, fail, load_need, load_station, xlsx_response


def _filters() -> dict:
    args = request.values
    return {
        "industry": (args.get("industry") or "").strip() or None,
        "kind": args.get("kind") if args.get("kind") in NEED_KINDS else None,
        "city": args.get("city") if args.get("city", "").isdigit() else None,
        "state": args.get("state") if args.get("state") in NeedState.values() else None,
    }


def _filtered():
    return need_ops.visible_to(need_ops.search_needs(**_filters()), current_user)


@bp.route("/needs")
@requires("needs.read")
def list_needs():
    """Needs searchable by industry, kind, city and state."""
    stmt = _filtered()
    page, size = page_args(request)
    rows, total = page_of(stmt, page, size)
    return render_template(
        "stations/needs.html",
        needs=rows,
        page=page,
        size=size,
        total=total,
        kinds=NEED_KINDS,
        states=NeedState,
        cities=reference()["cities"],
        filters={k: v for k, v in _filters().items() if v},
    )


@bp.route("/needs/export.xlsx", methods=["POST"])
@requires("needs.read")
def export_needs():
    """The needs board with the same filters as the page, as xlsx."""
    if not ReasonForm().validate_on_submit():
        abort(400)
    filters = {k: v for k, v in _filters().items() if v}
    rows = db.session.scalars(_filtered()).all()
    cities = {c["code"]: c["zh"] for c in reference()["cities"]}
    parts = [
        filters.get("industry"),
        str(NEED_KINDS[filters["kind"]]) if "kind" in filters else None,
        cities.get(filters.get("city"), filters.get("city")),
        str(NeedState(filters["state"]).label) if "state" in filters else None,
    ]
    scope = "、".join(p for p in parts if p) or "全部"
    data = exports.needs_xlsx(rows, user=current_user, scope=scope)
    return xlsx_response(
        data,
        document="needs",
        name="需求对接台账.xlsx",
        ascii_name="needs.xlsx",
        rows=len(rows),
        filters=filters,
    )


@bp.route("/my/park")
@requires("needs.post")
def my_park():
    """The stations the user may post needs to: an enterprise sees its park and the park's
    stations, a co-building government its stations, an officer every station."""
    park = None
    stmt = select(Station).order_by(Station.name)
    park_id = rules.enterprise_park_id(current_user)
    if current_user.has_role("officer"):
        pass
    elif park_id is not None:
        park = db.session.get(HighTechPark, park_id)
        stmt = stmt.where(Station.park_id == park_id)
    elif current_user.has_role("local_partner"):
        stmt = stmt.where(Station.government_id == current_user.org_id)
    else:
        stmt = stmt.where(Station.id.is_(None))
    stations = db.session.scalars(stmt).all()
    return render_template(
        "stations/my_park.html",
        park=park,
        stations=[(s, rules.can_post_need(current_user, s)) for s in stations],
    )


@bp.route("/stations/<int:station_id>/needs/new", methods=["GET", "POST"])
@requires("needs.post")
def new_need(station_id):
    """Post a need to a station (its government or an enterprise of its park)."""
    station = load_station(station_id)
    decision = rules.can_post_need(current_user, station)
    if not decision:
        flash(decision.reason, "danger")
        return redirect(url_for("stations.show_station", station_id=station.id)), 303
    form = NeedForm()
    if form.validate_on_submit():
        try:
            need = need_ops.post_need(station, form.data, actor=current_user)
            return done("stations.show_need", _("需求已发布。"), need_id=need.id)
        except DomainError as err:
            db.session.rollback()
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
    need = load_need(need_id)
    return render_template(
        "stations/need.html",
        need=need,
        kinds=NEED_KINDS,
        urgencies=URGENCIES,
        actions=NEED_WORKFLOW.available(need, current_user),
        can_respond=rules.can_respond(current_user, need),
        can_see_station=rules.can_view_station(current_user, need.station),
        proposal_form=ProposalForm(),
        match_form=_match_form(need),
        close_form=CloseForm(),
        reason_form=ReasonForm(),
    )


@bp.route("/needs/<int:need_id>/do/<action>", methods=["POST"])
@requires("needs.handle")
def need_action(need_id, action):
    """Screen, refuse, match, start, solve, propose for or close a need."""
    need = load_need(need_id)
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
        fail(err)
    return redirect(url_for("stations.show_need", need_id=need_id))
