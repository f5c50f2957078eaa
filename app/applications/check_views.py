"""Endorsement, matching confirmation, the eligibility check (single and batch),
the duplicate check, and the documents (PDF, xlsx) with their download audit."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.applications import exports
from app.applications import operations as ops
from app.applications.forms import ReasonForm
from app.applications.models import Application, Decision
from app.applications.permissions import can_export
from app.applications.states import SUBMITTED_STATES
from app.applications.views import load_application, show_application
from app.audit import trail
from app.calls.models import Call
from app.core.errors import DomainError, NotAllowed, ValidationFailed
from app.core.money import parse_fen
from app.core.permissions import requires
from app.extensions import db

bp = Blueprint("eligibility", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _back(app_id: int, err: DomainError | None = None):
    if err is not None:
        db.session.rollback()
        flash(err.message, "danger")
        for detail in err.details:
            flash(detail, "danger")
        return redirect(url_for("applications.show_application", app_id=app_id)), 303
    db.session.commit()
    return redirect(url_for("applications.show_application", app_id=app_id))


def _refused(app_id: int, err: DomainError, form: str, value: str = ""):
    """A form on the application page refused as invalid: the page again, answering 422,
    with the message beside the field of ``form`` and what was typed kept (the template
    reads ``g.refused``). Other refusals (not allowed, moved on) go back with a banner."""
    if not isinstance(err, ValidationFailed):
        return _back(app_id, err)
    db.session.rollback()
    for detail in err.details:
        flash(detail, "danger")
    g.refused = {"form": form, "message": err.message, "value": value}
    return show_application(app_id), 422


@bp.route("/applications/<int:app_id>/endorse", methods=["POST"])
@requires("applications.endorse")
def endorse(app_id):
    """The society's secretariat endorses with the sealed scan."""
    app = load_application(app_id)
    upload = request.files.get("sealed_scan")
    try:
        ops.endorse_application(
            app,
            upload.stream if upload else None,
            upload.filename if upload else "",
            actor=current_user,
        )
    except DomainError as err:
        return _refused(app_id, err, "endorse")
    flash(_("单位审核已通过，申报书已报送学会部。"), "success")
    return _back(app_id)


@bp.route("/applications/<int:app_id>/society-return", methods=["POST"])
@requires("applications.endorse")
def society_return(app_id):
    """The society's secretariat returns the application to its staff."""
    app = load_application(app_id)
    form = ReasonForm()
    form.validate_on_submit()
    try:
        ops.society_return_application(app, actor=current_user, reason=form.reason.data or "")
    except DomainError as err:
        return _refused(app_id, err, "society_return", request.form.get("reason", ""))
    flash(_("已退回申报人修改。"), "success")
    return _back(app_id)


@bp.route("/applications/<int:app_id>/matching", methods=["POST"])
@requires("applications.matching")
def confirm_matching(app_id):
    """The co-building government confirms its matching commitment."""
    app = load_application(app_id)
    try:
        ops.confirm_matching(app, parse_fen(request.form.get("amount")), actor=current_user)
    except DomainError as err:
        return _refused(app_id, err, "matching", request.form.get("amount", ""))
    flash(_("配套资金承诺已确认。"), "success")
    return _back(app_id)


@bp.route("/applications/<int:app_id>/check/<action>", methods=["POST"])
@requires("applications.check")
def check(app_id, action):
    """Accept, return (with reasons) or reject (with reasons) one application."""
    app = load_application(app_id)
    form = ReasonForm()
    form.validate_on_submit()
    try:
        ops.check_application(app, action, actor=current_user, reason=form.reason.data)
    except DomainError as err:
        return _refused(app_id, err, f"check-{action}", request.form.get("reason", ""))
    flash(_("形式审查结论已记录。"), "success")
    return _back(app_id)


@bp.route("/applications/batch", methods=["POST"])
@requires("applications.check")
def batch():
    """One eligibility decision with one reason for the selected applications."""
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    try:
        done, skipped = ops.batch_check(
            ids,
            request.form.get("action", ""),
            actor=current_user,
            reason=request.form.get("reason"),
        )
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(request.referrer or url_for("applications.list_applications")), 303
    db.session.commit()
    flash(_("已处理 %(n)s 份申报书。", n=len(done)), "success")
    for app, message in skipped:
        flash(_("未处理 %(no)s：%(why)s", no=app.project_number or app.id, why=message), "warning")
    return redirect(url_for("applications.list_applications", call=request.form.get("call")))


@bp.route("/calls/<int:call_id>/duplicate-check", methods=["POST"])
@requires("applications.check")
def duplicate_check(call_id):
    """Run the duplicate check over the call's submitted applications."""
    call = db.get_or_404(Call, call_id)
    flags = ops.check_call(call, actor=current_user)
    db.session.commit()
    flash(_("查重完成，发现 %(n)s 对相似申报书。", n=len(flags)), "info")
    return redirect(url_for("eligibility.duplicates", call_id=call.id))


@bp.route("/calls/<int:call_id>/duplicates")
@requires("applications.export")
def duplicates(call_id):
    """The flagged pairs of a call with their overlapping passages."""
    call = db.get_or_404(Call, call_id)
    return render_template(
        "applications/duplicates.html", call=call, flags=ops.flags_for_call(call.id)
    )


def _download(data: bytes, name: str, mime: str, entity_type: str, entity_id, kind: str):
    trail.record(
        "export.download",
        entity_type,
        entity_id,
        actor=current_user,
        after={"document": kind, "bytes": len(data)},
    )
    db.session.commit()
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{kind}.{name.rsplit(".", 1)[-1]}"; '
        f"filename*=UTF-8''{_quote(name)}"
    )
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


@bp.route("/applications/<int:app_id>/pdf")
@requires("applications.read")
def application_pdf(app_id):
    """The application as a PDF for printing and sealing."""
    app = load_application(app_id)
    data = exports.application_pdf(app)
    name = f"申报书-{app.project_number or app.id}.pdf"
    return _download(data, name, "application/pdf", "application", app.id, "application_pdf")


def _call_for_export(call_id: int) -> tuple[Call, list[Application]]:
    call = db.get_or_404(Call, call_id)
    decision = can_export(current_user, call)
    if not decision:
        raise NotAllowed(decision.reason)
    apps = db.session.scalars(
        select(Application)
        .where(Application.call_id == call.id, Application.state.in_(SUBMITTED_STATES))
        .order_by(Application.project_number)
    ).all()
    return call, list(apps)


@bp.route("/calls/<int:call_id>/exports/summary.xlsx")
@requires("applications.export")
def summary_sheet(call_id):
    """申报汇总表 of a call."""
    call, apps = _call_for_export(call_id)
    data = exports.summary_xlsx(call, apps, maker_name=current_user.name)
    return _download(data, f"申报汇总表-{call.id}.xlsx", XLSX, "call", call.id, "summary_xlsx")


@bp.route("/calls/<int:call_id>/exports/eligibility.xlsx")
@requires("applications.export")
def eligibility_sheet(call_id):
    """形式审查结果表 of a call."""
    call, apps = _call_for_export(call_id)
    if not apps:
        raise ValidationFailed(_("该批次还没有已提交的申报书。"))
    decisions = db.session.scalars(
        select(Decision)
        .where(Decision.application_id.in_([a.id for a in apps]))
        .order_by(Decision.id)
    ).all()
    data = exports.eligibility_xlsx(call, apps, decisions, maker_name=current_user.name)
    return _download(
        data, f"形式审查结果表-{call.id}.xlsx", XLSX, "call", call.id, "eligibility_xlsx"
    )


@bp.route("/applications/<int:app_id>/revisions/<int:number>")
@requires("applications.read")
def revision(app_id, number):
    """One immutable submitted revision, as its JSON snapshot and digest."""
    app = load_application(app_id)
    row = next((r for r in ops.revisions_of(app) if r.number == number), None)
    if row is None:
        abort(404)
    return {"number": row.number, "sha256": row.sha256, "snapshot": row.snapshot}
