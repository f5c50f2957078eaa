"""The project list, one project's page and the finance sheets."""

from __future__ import annotations

from collections import defaultdict

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.accounts.models import Organisation
from app.applications.models import Application
from app.audit import trail
from app.awards.models import TaskAgreement
from app.core import clock, export_jobs
from app.core.errors import DomainError
from app.core.forms import page_args
from app.core.permissions import requires
from app.extensions import db
from app.projects import exports, indicators
from app.projects import operations as ops
from app.projects.models import (
    ChangeRequest,
    ClawbackEntry,
    Expenditure,
    MatchingReceipt,
    MidtermCheck,
    Project,
    ProjectDecision,
    ProjectReport,
)
from app.projects.operations.common import (
    COUNTED_REPORT_STATES,
    approved_budget,
    budget_lines,
    matching_committed_fen,
    matching_received_fen,
    planned_end,
    project_leader,
    project_title,
    title_in_force,
)
from app.projects.operations.deadlines import closing_due_on
from app.projects.permissions import (
    can_export,
    can_manage,
    can_record_matching,
    can_report,
)
from app.projects.states import (
    CHANGE_KINDS,
    DECISION_KINDS,
    MIDTERM_OUTCOMES,
    ProjectState,
)
from app.projects.views import _load, _rows, _visible, bp


def _search(stmt, q: str):
    """Narrow the projects to those whose number, name (applied for or agreed) or society
    contains ``q`` (or whose id is ``q``)."""
    like = or_(
        Project.application_id.in_(
            select(Application.id).where(
                or_(Application.title.contains(q), Application.project_number.contains(q))
            )
        ),
        Project.id.in_(select(TaskAgreement.award_id).where(TaskAgreement.title.contains(q))),
        Project.society_id.in_(select(Organisation.id).where(Organisation.name.contains(q))),
    )
    if q.isdigit():
        like = or_(like, Project.id == int(q))
    return stmt.where(like)


def _list_facts(rows: list[Project]) -> tuple[dict, dict]:
    """The name in force and the budget execution rate of each listed project, read for
    the whole page at once (agreements, approved name changes and reallocations, spending
    by GROUP BY): a fixed number of queries however many projects are listed."""
    ids = [p.id for p in rows]
    if not ids:
        return {}, {}
    agreements = {
        a.award_id: a
        for a in db.session.execute(
            select(TaskAgreement.award_id, TaskAgreement.title, TaskAgreement.budget).where(
                TaskAgreement.award_id.in_(ids)
            )
        )
    }
    changes: dict[tuple[int, str], list] = defaultdict(list)
    for c in db.session.execute(
        select(ChangeRequest.project_id, ChangeRequest.kind, ChangeRequest.payload)
        .where(
            ChangeRequest.project_id.in_(ids),
            ChangeRequest.kind.in_(("name", "reallocation")),
            ChangeRequest.state == "approved",
        )
        .order_by(ChangeRequest.id)
    ):
        changes[(c.project_id, c.kind)].append(c)
    spent = dict(
        db.session.execute(
            select(Expenditure.project_id, func.coalesce(func.sum(Expenditure.amount_fen), 0))
            .join(ProjectReport, ProjectReport.id == Expenditure.report_id)
            .where(
                Expenditure.project_id.in_(ids),
                Expenditure.source == "fund",
                ProjectReport.state.in_(COUNTED_REPORT_STATES),
            )
            .group_by(Expenditure.project_id)
        ).all()
    )
    titles, rates = {}, {}
    for p in rows:
        agreement = agreements.get(p.id)
        titles[p.id] = title_in_force(p, agreement, changes[(p.id, "name")])
        lines = budget_lines(agreement, changes[(p.id, "reallocation")])
        rates[p.id] = indicators.execution_rate(lines, p.amount_fen, int(spent.get(p.id, 0)))
    return titles, rates


@bp.route("/")
@requires("projects.read")
def list_projects():
    """Projects with their state and overdue flags, a page at a time (``?state=`` and
    ``?q=`` — number, name or society — filter)."""
    page, size = page_args(
        request, default_size=int(current_app.config.get("PROJECT_PAGE_SIZE", 20))
    )
    stmt = _visible()
    state = request.args.get("state")
    if state in ProjectState.values():
        stmt = stmt.where(Project.state == state)
    q = (request.args.get("q") or "").strip()[:100]
    if q:
        stmt = _search(stmt, q)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(
        stmt.options(selectinload(Project.milestones)).limit(size).offset((page - 1) * size)
    ).all()
    titles, rates = _list_facts(rows)
    return render_template(
        "projects/list.html",
        rows=rows,
        title_of=lambda p: titles[p.id],
        rates=rates,
        states=ProjectState,
        indicators=indicators,
        q=q,
        page=page,
        size=size,
        total=total,
    )


@bp.route("/<int:project_id>")
@requires("projects.read")
def show_project(project_id):
    """One project: milestones, tranches, reports, matching funds, changes, decisions."""
    project = _load(project_id)
    reports = db.session.scalars(
        select(ProjectReport)
        .where(ProjectReport.project_id == project.id)
        .order_by(ProjectReport.id)
    ).all()
    by_milestone = {r.milestone_id: r for r in reports if r.milestone_id}
    return render_template(
        "projects/show.html",
        p=project,
        title=project_title(project),
        end_on=planned_end(project),
        leader=project_leader(project),
        closing_due=closing_due_on(project),
        closing_days=int(current_app.config.get("CLOSING_REPORT_DAYS", 60)),
        reports=reports,
        by_milestone=by_milestone,
        closing=next((r for r in reports if r.kind == "closing"), None),
        budget=approved_budget(project),
        receipts=_rows(MatchingReceipt, project.id),
        changes=_rows(ChangeRequest, project.id),
        decisions=_rows(ProjectDecision, project.id),
        checks=_rows(MidtermCheck, project.id),
        clawbacks=_rows(ClawbackEntry, project.id),
        committed=matching_committed_fen(project),
        received=matching_received_fen(project.id),
        conditions={t.id: ops.release_conditions(t, project) for t in project.tranches},
        rates={
            "budget": indicators.budget_execution_rate(project),
            "funds": indicators.funds_in_place_rate(project),
            "on_time": indicators.on_time_milestone_rate(project),
            "targets": indicators.target_achievement_rate(project),
        },
        can_report=can_report(current_user, project),
        can_manage=can_manage(current_user, project),
        can_matching=can_record_matching(current_user, project),
        change_kinds=CHANGE_KINDS,
        decision_kinds=DECISION_KINDS,
        midterm_outcomes=MIDTERM_OUTCOMES,
        today=clock.today(),
    )


# --- finance ---


@bp.route("/finance")
@requires("projects.export")
def finance():
    """The finance downloads, with the register of payments on screen."""
    return render_template("projects/finance.html", sheets=exports.SHEETS)


@bp.route("/exports/<kind>.xlsx")
@requires("projects.export")
def download(kind):
    """One finance sheet as xlsx; every download is audited (``export.download``)."""
    from urllib.parse import quote

    if kind not in exports.SHEETS or not can_export(current_user):
        abort(404)
    call_id = request.args.get("call", type=int)
    if exports.row_count(call_id) > current_app.config["EXPORT_INLINE_MAX_ROWS"]:
        flash(_("数据量较大，请使用“后台生成”，完成后在“我的后台任务”中下载。"), "warning")
        return redirect(url_for("projects.finance"))
    data = exports.build(kind, maker_name=current_user.name, call_id=call_id)
    trail.record(
        "export.download",
        "project_sheet",
        kind,
        actor=current_user,
        after={"document": kind, "call_id": call_id, "bytes": len(data)},
    )
    db.session.commit()
    name = f"{exports.SHEETS[kind]}.xlsx"
    response = Response(
        data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{kind}.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response


@bp.route("/exports/<kind>/queue", methods=["POST"])
@requires("projects.export")
def queue_sheet(kind):
    """Generate one finance sheet in the background; it appears on "my jobs"."""
    if kind not in exports.SHEETS or not can_export(current_user):
        abort(404)
    params = {"kind": kind, "call_id": request.form.get("call", type=int)}
    try:
        export_jobs.queue_export("projects.sheet", params, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("projects.finance"))
    db.session.commit()
    flash(
        _("%(name)s正在后台生成，完成后在“我的后台任务”中下载。", name=exports.SHEETS[kind]), "info"
    )
    return redirect(url_for("home.list_jobs"))
