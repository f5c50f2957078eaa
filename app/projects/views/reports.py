"""The society's reports (drafts, expenditures, files, submission), sign-off and review."""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.audit import trail
from app.core.errors import DomainError
from app.core.files import path_for
from app.core.permissions import requires
from app.extensions import db
from app.projects import operations as ops
from app.projects.forms import expenditure_data
from app.projects.models import (
    Expenditure,
    ProjectReport,
    ReportAttachment,
)
from app.projects.operations.common import (
    approved_budget,
)
from app.projects.permissions import (
    can_download_file,
    can_endorse,
    can_manage,
    can_report,
    can_view_project,
)
from app.projects.states import (
    EXPENDITURE_SOURCES,
)
from app.projects.views import _back, _fail, _load, bp

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
        line_names={b["line_key"]: b["name"] for b in approved_budget(project)},
        usage=usage,
        sources=EXPENDITURE_SOURCES,
        editable=report.state in ("draft", "returned") and can_report(current_user, project),
        can_manage=can_manage(current_user, project),
        can_endorse=can_endorse(current_user, project),
        can_files=can_download_file(current_user, project),
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


@bp.route("/reports/<int:report_id>/signoff", methods=["POST"])
@requires("projects.endorse")
def endorse_report(report_id):
    """Sign off (学会负责人审核) or send back a submitted report (the society admin)."""
    report = _load_report(report_id)
    try:
        if request.form.get("decision") == "endorse":
            ops.endorse_report(report, actor=current_user)
            message = _("已审核通过，报告已送学会部审核。")
        else:
            ops.send_back_report(report, request.form.get("comments", ""), actor=current_user)
            message = _("已退回修改。")
    except DomainError as err:
        _fail(err)
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("projects.show_report", report_id=report_id))


def _file_of_report(report_id: int, model, row_id: int):
    """The report (visible, and its files downloadable by the user) and its row, or 404."""
    report = db.session.get(ProjectReport, report_id)
    if report is None or not can_download_file(current_user, report.project):
        abort(404)
    row = db.session.get(model, row_id)
    if row is None or row.report_id != report.id or row.file is None:
        abort(404)
    return report, row


def _send(report, row, document: str):
    stored = row.file
    trail.record(
        "export.download",
        "stored_file",
        stored.id,
        actor=current_user,
        after={
            "document": document,
            "report_id": report.id,
            "project_id": report.project_id,
            "sha256": stored.sha256,
            "bytes": int(stored.size),
        },
    )
    db.session.commit()
    response = send_file(
        path_for(stored.sha256),
        mimetype=stored.mime,
        as_attachment=True,
        download_name=stored.original_name,
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{document}-{stored.id}"; '
        f"filename*=UTF-8''{quote(stored.original_name)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/reports/<int:report_id>/vouchers/<int:expenditure_id>")
@requires("projects.files")
def download_voucher(report_id, expenditure_id):
    """An expenditure's voucher scan, as an attachment; audited (``export.download``)."""
    report, row = _file_of_report(report_id, Expenditure, expenditure_id)
    return _send(report, row, "voucher")


@bp.route("/reports/<int:report_id>/attachments/<int:attachment_id>")
@requires("projects.files")
def download_attachment(report_id, attachment_id):
    """A report attachment, as an attachment; audited (``export.download``)."""
    report, row = _file_of_report(report_id, ReportAttachment, attachment_id)
    return _send(report, row, "report_attachment")
