"""Award pages: the decision of a call, the public notice with objections, the
applicant's outcome and reconsideration, task agreements, downloads."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.applications.models import Application
from app.audit import trail
from app.awards import exports
from app.awards import operations as ops
from app.awards.models import (
    AgreementAmendment,
    Award,
    AwardNotice,
    NotFundedDecision,
    Objection,
    Reconsideration,
    TaskAgreement,
)
from app.awards.permissions import (
    can_approve,
    can_edit_agreement,
    can_view_agreement,
    can_view_outcome,
    can_view_staff,
)
from app.awards.states import (
    AGREEMENT_WORKFLOW,
    GROUND_LABELS,
    AgreementState,
    AmendmentState,
    AwardState,
    ObjectionState,
    ReconsiderationState,
)
from app.calls.models import Call
from app.core.errors import DomainError
from app.core.money import parse_fen
from app.core.permissions import PUBLIC, requires
from app.extensions import db, limiter
from app.home import navigation
from app.home.views import TODO_SOURCES
from app.projects import models as _project_models  # noqa: F401  (tables the awards create)

bp = Blueprint("awards", __name__, url_prefix="/awards")
navigation.add("awards.list_calls", _l("立项"), "awards.read")
navigation.add("awards.list_agreements", _l("任务书"), "agreements.read")


@bp.app_template_filter("award_label")
def award_label(value, kind: str = "award") -> str:
    """The staff label of an award, objection, reconsideration or agreement state."""
    enum = {
        "award": AwardState,
        "objection": ObjectionState,
        "amendment": AmendmentState,
        "reconsideration": ReconsiderationState,
        "agreement": AgreementState,
    }[kind]
    return str(enum(str(value)).label)


def _fail(err: DomainError) -> None:
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def _done(target: str, message: str, **values):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(target, **values))


def _download(data: bytes, name: str, mime: str, entity_type: str, entity_id, kind: str):
    from urllib.parse import quote

    trail.record(
        "export.download",
        entity_type,
        entity_id,
        actor=current_user if current_user.is_authenticated else None,
        after={"document": kind, "bytes": len(data)},
    )
    db.session.commit()
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{kind}.{name.rsplit('.', 1)[-1]}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


def _staff_only():
    if not can_view_staff(current_user):
        abort(404)


# --- the decision of a call (staff) ---


@bp.route("/calls")
@requires("awards.read")
def list_calls():
    """Calls in review, notice or decided, with their award counts."""
    calls = db.session.scalars(
        select(Call)
        .where(Call.state.in_(("reviewing", "notice", "decided", "archived")))
        .order_by(Call.id.desc())
    ).all()
    return render_template("awards/calls.html", calls=calls)


@bp.route("/calls/<int:call_id>")
@requires("awards.read")
def show_call(call_id):
    """The decision page: the ranking with each application's proposal or decision."""
    call = db.get_or_404(Call, call_id)
    apps = db.session.scalars(
        select(Application).where(
            Application.call_id == call.id,
            Application.state.in_(("in_review", "reviewed", "proposed", "not_funded", "awarded")),
        )
    ).all()
    ranking = ops.ranking_of(call)
    apps = sorted(apps, key=lambda a: ((ranking.get(a.id) or (None,))[0] or 10**9, a.id))
    awards = {a.application_id: a for a in ops.awards_of(call.id) if a.state != "revoked"}
    not_funded = {
        d.application_id: d
        for d in db.session.scalars(
            select(NotFundedDecision).where(
                NotFundedDecision.call_id == call.id, NotFundedDecision.overturned_at.is_(None)
            )
        )
    }
    notices = db.session.scalars(
        select(AwardNotice).where(AwardNotice.call_id == call.id).order_by(AwardNotice.id)
    ).all()
    return render_template(
        "awards/call.html",
        call=call,
        apps=apps,
        ranking=ranking,
        awards=awards,
        not_funded=not_funded,
        notices=notices,
        committed=ops.committed_fen(call.id),
        can_approve=can_approve,
    )


@bp.route("/applications/<int:app_id>/propose", methods=["POST"])
@requires("awards.propose")
def propose(app_id):
    """Propose an award (amount, note) or a not-funded decision for one application."""
    app = db.get_or_404(Application, app_id)
    call_id = app.call_id
    try:
        if request.form.get("outcome") == "not_funded":
            ops.mark_not_funded(app, request.form.get("note", ""), actor=current_user)
        else:
            ops.propose_award(
                app,
                parse_fen(request.form.get("amount")),
                request.form.get("note", ""),
                actor=current_user,
            )
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.show_call", call_id=call_id))
    return _done("awards.show_call", _("已保存决定。"), call_id=call_id)


@bp.route("/<int:award_id>/approve", methods=["POST"])
@requires("awards.approve")
def approve(award_id):
    """Approve a proposed award (commits the money)."""
    award = db.get_or_404(Award, award_id)
    try:
        ops.approve_award(award, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.show_call", call_id=award.call_id))
    return _done("awards.show_call", _("已审批，资金已占用。"), call_id=award.call_id)


@bp.route("/calls/<int:call_id>/publish", methods=["POST"])
@requires("awards.propose")
def publish(call_id):
    """Publish the decisions together and start the notice."""
    call = db.get_or_404(Call, call_id)
    working = request.form.get("working_days") == "1" or None
    try:
        ops.publish_decisions(call, actor=current_user, working_days=working)
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.show_call", call_id=call_id))
    return _done("awards.show_call", _("立项结果已公布，公示开始。"), call_id=call_id)


@bp.route("/calls/<int:call_id>/confirm", methods=["POST"])
@requires("awards.propose")
def confirm(call_id):
    """Confirm every award whose notice is over with no open objection."""
    call = db.get_or_404(Call, call_id)
    done = ops.confirm_call(call, actor=current_user)
    return _done("awards.show_call", _("已确认立项 %(n)s 项。", n=len(done)), call_id=call_id)


@bp.route("/calls/<int:call_id>/allocation.xlsx")
@requires("awards.export")
def allocation(call_id):
    """资金分配表 of a call."""
    call = db.get_or_404(Call, call_id)
    data = exports.allocation_xlsx(call, ops.awards_of(call.id), maker_name=current_user.name)
    return _download(
        data,
        f"资金分配表-{call.id}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "call",
        call.id,
        "allocation_xlsx",
    )


# --- the public notice and objections ---


@bp.route("/notices")
@requires(PUBLIC)
def list_notices():
    """Every award notice, newest first (public)."""
    rows = db.session.scalars(select(AwardNotice).order_by(AwardNotice.id.desc())).all()
    return render_template("awards/notices.html", notices=rows)


@bp.route("/notices/<int:notice_id>")
@requires(PUBLIC)
def show_notice(notice_id):
    """拟立项公示: the list of proposed awards and the objection form (public)."""
    notice = db.get_or_404(AwardNotice, notice_id)
    return render_template("awards/notice.html", notice=notice)


@bp.route("/notices/<int:notice_id>.pdf")
@requires(PUBLIC)
def notice_pdf(notice_id):
    """拟立项公示名单 as PDF (public)."""
    notice = db.get_or_404(AwardNotice, notice_id)
    return _download(
        exports.notice_pdf(notice),
        f"拟立项公示名单-{notice.call_id}-{notice.number}.pdf",
        "application/pdf",
        "award_notice",
        notice.id,
        "notice_pdf",
    )


@bp.route("/notices/<int:notice_id>/objections", methods=["POST"])
@requires(PUBLIC)
@limiter.limit("20 per hour", methods=["POST"])
def file_objection(notice_id):
    """Receive an objection to an award of the notice (public)."""
    notice = db.get_or_404(AwardNotice, notice_id)
    award = db.session.get(Award, request.form.get("award_id", type=int) or 0)
    if award is None or award.notice_id != notice.id:
        abort(404)
    try:
        row = ops.file_objection(award, request.form.to_dict())
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.show_notice", notice_id=notice_id))
    db.session.commit()
    if row.state == "not_accepted":
        flash(_("异议已登记，但不予受理：%(r)s", r=row.reason), "warning")
    else:
        flash(_("异议已收到（登记号 %(n)s），学会部将依规处理。", n=row.id), "success")
    return redirect(url_for("awards.show_notice", notice_id=notice_id))


@bp.route("/objections")
@requires("awards.handle")
def list_objections():
    """Objections and reconsiderations to handle (staff)."""
    objections = db.session.scalars(select(Objection).order_by(Objection.id.desc())).all()
    requests_ = db.session.scalars(
        select(Reconsideration).order_by(Reconsideration.id.desc())
    ).all()
    return render_template(
        "awards/objections.html",
        objections=objections,
        reconsiderations=requests_,
        grounds=GROUND_LABELS,
    )


@bp.route("/objections/<int:objection_id>/<action>", methods=["POST"])
@requires("awards.handle")
def handle_objection(objection_id, action):
    """Accept / not accept, then uphold / dismiss an objection."""
    row = db.get_or_404(Objection, objection_id)
    text = request.form.get("reason", "")
    try:
        if action in ("accept", "not_accept"):
            ops.screen_objection(row, action == "accept", actor=current_user, reason=text)
        elif action in ("uphold", "dismiss"):
            ops.handle_objection(row, action == "uphold", text, actor=current_user)
        else:
            abort(404)
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.list_objections"))
    return _done("awards.list_objections", _("已处理。"))


@bp.route("/reconsiderations/<int:rec_id>/<action>", methods=["POST"])
@requires("awards.handle")
def handle_reconsideration(rec_id, action):
    """Screen (officer) or decide (approver) a reconsideration."""
    row = db.get_or_404(Reconsideration, rec_id)
    text = request.form.get("reason", "")
    try:
        if action in ("accept", "not_accept"):
            ops.screen_reconsideration(row, action == "accept", actor=current_user, reason=text)
        elif action in ("uphold", "overturn"):
            ops.decide_reconsideration(row, action == "overturn", text, actor=current_user)
        else:
            abort(404)
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.list_objections"))
    return _done("awards.list_objections", _("已处理。"))


# --- the applicant's outcome and reconsideration ---


@bp.route("/applications/<int:app_id>/outcome")
@requires("awards.outcome")
def outcome(app_id):
    """The published outcome of an application, with the reconsideration form."""
    app = db.get_or_404(Application, app_id)
    if not can_view_outcome(current_user, app):
        abort(404)
    decision = db.session.scalar(
        select(NotFundedDecision)
        .where(
            NotFundedDecision.application_id == app.id, NotFundedDecision.published_at.is_not(None)
        )
        .order_by(NotFundedDecision.id.desc())
    )
    award = db.session.scalar(
        select(Award)
        .where(Award.application_id == app.id, Award.state.notin_(("proposed", "approved")))
        .order_by(Award.id.desc())
    )
    requests_ = db.session.scalars(
        select(Reconsideration)
        .where(Reconsideration.application_id == app.id)
        .order_by(Reconsideration.id)
    ).all()
    return render_template(
        "awards/outcome.html",
        app=app,
        decision=decision,
        award=award,
        reconsiderations=requests_,
        grounds=GROUND_LABELS,
    )


@bp.route("/applications/<int:app_id>/reconsideration", methods=["POST"])
@requires("awards.reconsider")
def reconsider(app_id):
    """Ask for reconsideration of a not-funded decision."""
    app = db.get_or_404(Application, app_id)
    if not can_view_outcome(current_user, app):
        abort(404)
    try:
        row = ops.file_reconsideration(
            app, request.form.get("ground", ""), request.form.get("grounds", ""), actor=current_user
        )
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.outcome", app_id=app_id))
    db.session.commit()
    if row.state == "not_accepted":
        flash(row.screen_reason, "warning")
    else:
        flash(_("复审申请已提交。"), "success")
    return redirect(url_for("awards.outcome", app_id=app_id))


@bp.route("/<int:award_id>/letter.pdf")
@requires("agreements.read")
def letter_pdf(award_id):
    """立项通知书 of a confirmed award."""
    award = db.get_or_404(Award, award_id)
    agreement = db.session.scalar(select(TaskAgreement).where(TaskAgreement.award_id == award.id))
    if (
        award.state != "confirmed"
        or agreement is None
        or not can_view_agreement(current_user, agreement)
    ):
        abort(404)
    return _download(
        exports.letter_pdf(award),
        f"立项通知书-{award.application.project_number}.pdf",
        "application/pdf",
        "award",
        award.id,
        "award_letter_pdf",
    )


# --- task agreements ---


@bp.route("/agreements")
@requires("agreements.read")
def list_agreements():
    """Task agreements: all for staff (overdue ones flagged), the own society's otherwise."""
    stmt = select(TaskAgreement).order_by(TaskAgreement.id.desc())
    if not can_view_staff(current_user):
        stmt = stmt.where(TaskAgreement.society_id == current_user.org_id)
    if request.args.get("overdue"):
        stmt = stmt.where(
            TaskAgreement.overdue_at.is_not(None), TaskAgreement.state == "awaiting_signature"
        )
    return render_template("awards/agreements.html", rows=db.session.scalars(stmt).all())


def _agreement(agreement_id: int) -> TaskAgreement:
    row = db.session.get(TaskAgreement, agreement_id)
    if row is None or not can_view_agreement(current_user, row):
        abort(404)
    return row


@bp.route("/agreements/<int:agreement_id>")
@requires("agreements.read")
def show_agreement(agreement_id):
    """A task agreement, editable by the officer while drafting."""
    row = _agreement(agreement_id)
    return render_template(
        "awards/agreement.html",
        row=row,
        problems=ops.problems(row),
        can_edit=can_edit_agreement(current_user, row),
        actions=AGREEMENT_WORKFLOW.available(row, current_user),
    )


@bp.route("/agreements/<int:agreement_id>/edit", methods=["POST"])
@requires("agreements.edit")
def edit_agreement(agreement_id):
    """Save the officer's edits of the fund column and the tranches."""
    row = _agreement(agreement_id)
    form = request.form
    data = {
        "fund": {k[5:]: v for k, v in form.items() if k.startswith("fund-")},
        "tranche": {k[8:]: v for k, v in form.items() if k.startswith("tranche-")},
        "due_on": {k[4:]: v for k, v in form.items() if k.startswith("due-")},
    }
    try:
        ops.update_agreement(row, data, actor=current_user, expected_version=form.get("version"))
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.show_agreement", agreement_id=agreement_id))
    return _done("awards.show_agreement", _("任务书已保存。"), agreement_id=agreement_id)


@bp.route("/agreements/<int:agreement_id>/<action>", methods=["POST"])
@requires("agreements.read")
def agreement_action(agreement_id, action):
    """Send (officer) or sign (the society's secretariat) a task agreement."""
    row = _agreement(agreement_id)
    try:
        if action == "send":
            ops.send_agreement(row, actor=current_user)
        elif action == "sign":
            ops.sign_agreement(row, actor=current_user)
        elif action == "amend":
            ops.create_amendment(
                row,
                request.form.get("title", ""),
                request.form.get("content", ""),
                actor=current_user,
            )
        else:
            abort(404)
    except DomainError as err:
        db.session.rollback()
        _fail(err)
        return redirect(url_for("awards.show_agreement", agreement_id=agreement_id))
    return _done("awards.show_agreement", _("已完成。"), agreement_id=agreement_id)


@bp.route("/amendments/<int:amendment_id>/<action>", methods=["POST"])
@requires("agreements.edit")
def amendment_action(amendment_id, action):
    """Submit, approve or reject an amendment (补充任务书)."""
    row = db.get_or_404(AgreementAmendment, amendment_id)
    try:
        ops.advance_amendment(row, action, actor=current_user, reason=request.form.get("reason"))
    except DomainError as err:
        db.session.rollback()
        _fail(err)
    else:
        db.session.commit()
    return redirect(url_for("awards.show_agreement", agreement_id=row.agreement_id))


@bp.route("/agreements/<int:agreement_id>.pdf")
@requires("agreements.read")
def agreement_pdf(agreement_id):
    """任务书 as PDF."""
    row = _agreement(agreement_id)
    return _download(
        exports.agreement_pdf(row),
        f"任务书-{row.number}.pdf",
        "application/pdf",
        "task_agreement",
        row.id,
        "agreement_pdf",
    )


def _todo(user):
    """Awards to approve, objections and reconsiderations to handle, agreements to sign."""
    out = []
    if user.has_role("approver"):
        n = db.session.scalar(select(db.func.count(Award.id)).where(Award.state == "proposed"))
        if n:
            out.append((_("待审批的立项建议"), n, "awards.list_calls"))
    if user.has_role("officer"):
        n = db.session.scalar(
            select(db.func.count(Objection.id)).where(Objection.state.in_(("received", "accepted")))
        )
        if n:
            out.append((_("待处理的异议"), n, "awards.list_objections"))
        n = db.session.scalar(
            select(db.func.count(TaskAgreement.id)).where(
                TaskAgreement.overdue_at.is_not(None), TaskAgreement.state == "awaiting_signature"
            )
        )
        if n:
            out.append((_("逾期未签的任务书"), n, "awards.list_agreements"))
    if user.has_role("society_admin"):
        n = db.session.scalar(
            select(db.func.count(TaskAgreement.id)).where(
                TaskAgreement.society_id == user.org_id, TaskAgreement.state == "awaiting_signature"
            )
        )
        if n:
            out.append((_("待签订的任务书"), n, "awards.list_agreements"))
    return out


TODO_SOURCES.append(_todo)

from app.awards import demo as _demo  # noqa: E402, F401  (registers the demo step)
