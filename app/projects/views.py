"""Project pages: the list and dashboard, one project with its milestones, tranches,
reports, matching funds, changes and decisions; report editing; finance downloads."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from app.applications.models import Application
from app.audit import trail
from app.core import clock
from app.core.errors import DomainError
from app.core.permissions import requires
from app.extensions import db
from app.home import navigation
from app.home.views import TODO_SOURCES
from app.projects import exports, indicators
from app.projects import operations as ops
from app.projects.forms import change_data, expenditure_data, parse_date
from app.projects.models import (
    ChangeRequest,
    ClawbackEntry,
    Expenditure,
    MatchingReceipt,
    MidtermCheck,
    Project,
    ProjectDecision,
    ProjectReport,
    Tranche,
)
from app.projects.operations.common import (
    approved_budget,
    matching_committed_fen,
    matching_received_fen,
    planned_end,
    project_title,
)
from app.projects.permissions import (
    STAFF,
    can_export,
    can_manage,
    can_record_matching,
    can_report,
    can_view_project,
)
from app.projects.states import (
    CHANGE_KINDS,
    DECISION_KINDS,
    EXPENDITURE_SOURCES,
    MIDTERM_OUTCOMES,
    ChangeState,
    MilestoneState,
    ProjectState,
    ReportState,
    TrancheState,
)

bp = Blueprint("projects", __name__, url_prefix="/projects")
navigation.add("projects.list_projects", _l("项目管理"), "projects.read")
navigation.add("projects.finance", _l("财务报表"), "projects.export")


@bp.app_template_filter("project_label")
def project_label(value, kind: str = "project") -> str:
    """The label of a project, milestone, tranche, report or change state."""
    enum = {
        "project": ProjectState,
        "milestone": MilestoneState,
        "tranche": TrancheState,
        "report": ReportState,
        "change": ChangeState,
    }[kind]
    return str(enum(str(value)).label)


def _visible():
    """Projects the current user may see, as a query."""
    stmt = select(Project).order_by(Project.id.desc())
    if current_user.has_role(*STAFF):
        return stmt
    return stmt.join(Application, Application.id == Project.application_id).where(
        or_(
            Project.society_id == current_user.org_id,
            Application.co_government_id == current_user.org_id,
        )
    )


def _load(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or not can_view_project(current_user, project):
        abort(404)
    return project


def _fail(err: DomainError) -> None:
    db.session.rollback()
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def _back(project_id: int, message: str | None = None):
    if message:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("projects.show_project", project_id=project_id))


@bp.route("/")
@requires("projects.read")
def list_projects():
    """Projects with their state and overdue flags (``?state=`` filters)."""
    stmt = _visible()
    if request.args.get("state") in ProjectState.values():
        stmt = stmt.where(Project.state == request.args["state"])
    rows = db.session.scalars(stmt.limit(500)).unique().all()
    return render_template(
        "projects/list.html",
        rows=rows,
        title_of=project_title,
        states=ProjectState,
        indicators=indicators,
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


def _rows(model, project_id):
    return db.session.scalars(
        select(model).where(model.project_id == project_id).order_by(model.id)
    ).all()


# --- the society: reports and changes ---


@bp.route("/<int:project_id>/reports/new", methods=["POST"])
@requires("projects.report")
def new_report(project_id):
    """Open (or create) the report on a milestone, or the closing report."""
    project = _load(project_id)
    milestone = None
    if request.form.get("milestone_id"):
        milestone = next(
            (m for m in project.milestones if str(m.id) == request.form["milestone_id"]), None
        )
        if milestone is None:
            abort(404)
    try:
        report = ops.open_report(project, milestone, actor=current_user)
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    db.session.commit()
    return redirect(url_for("projects.show_report", report_id=report.id))


def _load_report(report_id: int) -> ProjectReport:
    report = db.session.get(ProjectReport, report_id)
    if report is None or not can_view_project(current_user, report.project):
        abort(404)
    return report


@bp.route("/reports/<int:report_id>")
@requires("projects.read")
def show_report(report_id):
    """A report: the draft form for the society, the submitted content for staff."""
    report = _load_report(report_id)
    project = report.project
    usage = {
        (b["line_key"], s): ops.line_usage(project, b["line_key"], s)
        for b in approved_budget(project)
        for s in EXPENDITURE_SOURCES
    }
    return render_template(
        "projects/report.html",
        report=report,
        p=project,
        budget=approved_budget(project),
        usage=usage,
        sources=EXPENDITURE_SOURCES,
        editable=report.state in ("draft", "returned") and can_report(current_user, project),
        can_manage=can_manage(current_user, project),
    )


@bp.route("/reports/<int:report_id>/<action>", methods=["POST"])
@requires("projects.report")
def report_action(report_id, action):
    """Save, add or remove an expenditure, attach a file, or submit a report."""
    report = _load_report(report_id)
    form = request.form
    message = _("已保存。")
    try:
        if action == "save":
            actual = {k[7:]: v for k, v in form.items() if k.startswith("actual-")}
            ops.save_report(
                report,
                {"narrative": form.get("narrative", ""), "actual": actual},
                actor=current_user,
                expected_version=form.get("version", type=int),
            )
        elif action == "expenditure":
            upload = request.files.get("voucher_file")
            upload = (upload.stream, upload.filename) if upload and upload.filename else None
            _row, warnings = ops.add_expenditure(
                report, expenditure_data(form), upload, actor=current_user
            )
            for warning in warnings:
                flash(warning, "warning")
        elif action == "remove":
            row = db.session.get(Expenditure, form.get("expenditure_id", type=int) or 0)
            if row is None or row.report_id != report.id:
                abort(404)
            ops.remove_expenditure(row, actor=current_user)
        elif action == "attach":
            upload = request.files.get("file")
            if not upload or not upload.filename:
                flash(_("请选择文件。"), "danger")
                return redirect(url_for("projects.show_report", report_id=report.id))
            ops.attach_file(
                report, upload.stream, upload.filename, form.get("title", ""), actor=current_user
            )
        elif action == "submit":
            revision = ops.submit_report(report, actor=current_user)
            message = _("报告已提交（第 %(n)s 版）。", n=revision.number)
        else:
            abort(404)
    except DomainError as err:
        _fail(err)
        return redirect(url_for("projects.show_report", report_id=report_id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("projects.show_report", report_id=report.id))


@bp.route("/reports/<int:report_id>/review", methods=["POST"])
@requires("projects.manage")
def review_report(report_id):
    """Accept or return a submitted progress report (the officer)."""
    report = _load_report(report_id)
    try:
        if request.form.get("decision") == "accept":
            ops.accept_report(report, actor=current_user)
        else:
            ops.return_report(report, request.form.get("comments", ""), actor=current_user)
    except DomainError as err:
        _fail(err)
    else:
        db.session.commit()
        flash(_("已处理。"), "success")
    return redirect(url_for("projects.show_report", report_id=report_id))


@bp.route("/<int:project_id>/changes", methods=["POST"])
@requires("projects.report")
def request_change(project_id):
    """Draft and submit a change request (the society)."""
    project = _load(project_id)
    try:
        row = ops.create_change(
            project,
            request.form.get("kind", ""),
            request.form.get("description", ""),
            change_data(request.form),
            actor=current_user,
        )
        ops.submit_change(row, actor=current_user)
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("变更申请已提交。"))


# --- the officer ---

_OFFICER_ACTIONS = {
    "begin_midterm": lambda p, f, u: ops.begin_midterm(p, actor=u),
    "midterm": lambda p, f, u: ops.record_midterm(
        p,
        f.get("outcome", ""),
        {
            "findings": f.get("findings"),
            "evaluation_note": f.get("evaluation_note"),
            "site_visit_on": parse_date(f.get("site_visit_on"), "site_visit_on", required=False),
            "site_visit_note": f.get("site_visit_note"),
            "rectify_by": parse_date(f.get("rectify_by"), "rectify_by", required=False),
            "rectify_items": f.get("rectify_items"),
        },
        actor=u,
        site_file=(
            (request.files["site_file"].stream, request.files["site_file"].filename)
            if request.files.get("site_file") and request.files["site_file"].filename
            else None
        ),
    ),
    "finish_rectification": lambda p, f, u: ops.finish_rectification(p, f.get("note"), actor=u),
    "propose": lambda p, f, u: ops.propose_decision(
        p,
        f.get("kind", ""),
        f.get("reason", ""),
        actor=u,
        fraud=f.get("fraud") == "1",
        ban_years=int(f["ban_years"]) if (f.get("ban_years") or "").isdigit() else None,
    ),
    "begin_acceptance": lambda p, f, u: ops.begin_acceptance(p, actor=u),
    "acceptance": lambda p, f, u: ops.record_acceptance(
        p,
        f.get("outcome", ""),
        f.get("comments", ""),
        actor=u,
        rectify_by=parse_date(f.get("rectify_by"), "rectify_by", required=False),
    ),
    "settle": lambda p, f, u: ops.settle_project(p, actor=u),
    "archive": lambda p, f, u: ops.archive_project(p, actor=u),
}


@bp.route("/<int:project_id>/manage/<action>", methods=["POST"])
@requires("projects.manage")
def manage(project_id, action):
    """The officer's acts on a project: mid-term check, proposals, acceptance, settlement."""
    project = _load(project_id)
    handler = _OFFICER_ACTIONS.get(action)
    if handler is None:
        abort(404)
    try:
        handler(project, request.form, current_user)
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("已处理。"))


@bp.route("/changes/<int:change_id>/<action>", methods=["POST"])
@requires("projects.read")
def change_action(change_id, action):
    """Forward or record a change (officer); approve or reject it (approver)."""
    row = db.get_or_404(ChangeRequest, change_id)
    _load(row.project_id)
    actions = {
        "forward": lambda: ops.forward_change(row, actor=current_user),
        "record": lambda: ops.record_change(row, actor=current_user),
        "approve": lambda: ops.decide_change(
            row, True, request.form.get("reason", ""), actor=current_user
        ),
        "reject": lambda: ops.decide_change(
            row, False, request.form.get("reason", ""), actor=current_user
        ),
    }
    if action not in actions:
        abort(404)
    try:
        actions[action]()
    except DomainError as err:
        _fail(err)
        return _back(row.project_id)
    return _back(row.project_id, _("已处理。"))


@bp.route("/tranches/<int:tranche_id>/<action>", methods=["POST"])
@requires("projects.read")
def tranche_action(tranche_id, action):
    """Release (approver), pay (finance), withhold or lift (officer), cancel (approver)."""
    tranche = db.get_or_404(Tranche, tranche_id)
    _load(tranche.project_id)
    form = request.form
    try:
        if action == "release":
            ops.release_tranche(tranche, actor=current_user)
        elif action == "pay":
            ops.pay_tranche(
                tranche,
                form.get("amount"),
                form.get("voucher_no", ""),
                parse_date(form.get("paid_on"), "paid_on"),
                actor=current_user,
            )
        elif action == "withhold":
            ops.withhold_tranche(tranche, form.get("reason", ""), actor=current_user)
        elif action == "lift":
            ops.lift_withholding(tranche, actor=current_user)
        elif action == "cancel":
            ops.cancel_tranche(tranche, form.get("reason", ""), actor=current_user)
        else:
            abort(404)
    except DomainError as err:
        _fail(err)
        return _back(tranche.project_id)
    return _back(tranche.project_id, _("已处理。"))


@bp.route("/decisions/<int:decision_id>/<action>", methods=["POST"])
@requires("projects.approve")
def decide(decision_id, action):
    """Approve or reject a proposed suspension, resumption, termination or revocation."""
    row = db.get_or_404(ProjectDecision, decision_id)
    _load(row.project_id)
    if action not in ("approve", "reject"):
        abort(404)
    try:
        ops.decide_decision(
            row, action == "approve", request.form.get("note", ""), actor=current_user
        )
    except DomainError as err:
        _fail(err)
        return _back(row.project_id)
    return _back(row.project_id, _("已处理。"))


@bp.route("/<int:project_id>/matching", methods=["POST"])
@requires("projects.matching")
def record_matching(project_id):
    """Record matching funds received (the co-building government)."""
    project = _load(project_id)
    form = request.form
    try:
        ops.record_matching_receipt(
            project,
            form.get("amount"),
            parse_date(form.get("received_on"), "received_on"),
            form.get("voucher_no", ""),
            form.get("note", ""),
            actor=current_user,
        )
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("已登记配套资金到位。"))


@bp.route("/<int:project_id>/clawback", methods=["POST"])
@requires("projects.pay")
def record_clawback(project_id):
    """Record money clawed back arriving (finance)."""
    project = _load(project_id)
    form = request.form
    try:
        ops.record_clawback_receipt(
            project,
            form.get("amount"),
            form.get("voucher_no", ""),
            parse_date(form.get("received_on"), "received_on"),
            actor=current_user,
        )
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("已登记追回款到账。"))


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


def _todo(user) -> list:
    """Work waiting for ``user``: reports to review, tranches to release or pay, changes."""
    items = []
    if user.has_role("officer"):
        n = db.session.scalar(
            select(db.func.count(ProjectReport.id)).where(
                ProjectReport.state == "submitted", ProjectReport.kind == "progress"
            )
        )
        if n:
            items.append((_("待审核的进展报告"), n, "projects.list_projects"))
        late = db.session.scalar(
            select(db.func.count()).select_from(
                select(Project.id)
                .join(Project.milestones)
                .where(
                    Project.state.in_(("in_progress", "midterm", "rectifying")),
                    db.text("milestone.overdue_at IS NOT NULL"),
                    db.text("milestone.state IN ('planned', 'due', 'returned')"),
                )
                .subquery()
            )
        )
        if late:
            items.append((_("逾期未报的进展报告"), late, "projects.list_projects"))
    if user.has_role("approver"):
        n = db.session.scalar(
            select(db.func.count(Tranche.id)).where(Tranche.state == "releasable")
        )
        if n:
            items.append((_("待批准拨付的批次"), n, "projects.list_projects"))
        n = db.session.scalar(
            select(db.func.count(ProjectDecision.id)).where(ProjectDecision.state == "proposed")
        )
        n += db.session.scalar(
            select(db.func.count(ChangeRequest.id)).where(
                ChangeRequest.state == "submitted", ChangeRequest.forwarded_at.is_not(None)
            )
        )
        if n:
            items.append((_("待审批的项目决定和变更"), n, "projects.list_projects"))
    if user.has_role("finance"):
        n = db.session.scalar(select(db.func.count(Tranche.id)).where(Tranche.state == "released"))
        if n:
            items.append((_("待支付的批次"), n, "projects.list_projects"))
    return items


TODO_SOURCES.append(_todo)

from app.projects import cli as _cli  # noqa: E402, F401  (registers the tick handlers)
from app.projects import demo as _demo  # noqa: E402, F401  (registers the demo step)
