"""The decision of a call (staff): proposals, approval, withdrawal, publishing,
confirmation, the allocation table."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.applications.models import Application
from app.awards import exports
from app.awards import operations as ops
from app.awards.models import Award, AwardNotice, NotFundedDecision
from app.awards.permissions import can_approve
from app.awards.views import bp, done, download, fail
from app.calls.models import Call
from app.core import export_jobs
from app.core.errors import DomainError
from app.core.models import Job
from app.core.money import parse_fen
from app.core.permissions import requires
from app.extensions import db


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
        withdrawn=ops.awards_of(call.id, ("revoked",)),
        can_approve=can_approve,
        letter_jobs=_letter_jobs(call.id),
        n_confirmed=len(exports.confirmed_awards(call.id)),
    )


def _letter_jobs(call_id: int) -> list[Job]:
    """The current user's latest batch-letter jobs of this call (newest first)."""
    recent = db.session.scalars(
        select(Job)
        .where(Job.created_by_id == current_user.id, Job.kind == export_jobs.JOB_KIND)
        .order_by(Job.id.desc())
        .limit(50)
    )
    return [
        j
        for j in recent
        if (j.payload or {}).get("export") == exports.LETTERS_EXPORT
        and (j.payload.get("params") or {}).get("call_id") == call_id
    ][:3]


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
        fail(err)
        return redirect(url_for("awards.show_call", call_id=call_id))
    return done("awards.show_call", _("已保存决定。"), call_id=call_id)


@bp.route("/<int:award_id>/approve", methods=["POST"])
@requires("awards.approve")
def approve(award_id):
    """Approve a proposed award (commits the money)."""
    award = db.get_or_404(Award, award_id)
    try:
        ops.approve_award(award, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=award.call_id))
    return done("awards.show_call", _("已审批，资金已占用。"), call_id=award.call_id)


@bp.route("/<int:award_id>/withdraw", methods=["POST"])
@requires("awards.withdraw")
def withdraw(award_id):
    """Withdraw an unpublished award with a reason (an approved one releases its money)."""
    award = db.get_or_404(Award, award_id)
    try:
        ops.withdraw_award(award, request.form.get("reason", ""), actor=current_user)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=award.call_id))
    return done("awards.show_call", _("立项建议已撤回。"), call_id=award.call_id)


@bp.route("/calls/<int:call_id>/publish", methods=["POST"])
@requires("awards.propose")
def publish(call_id):
    """Publish the decisions together and start the notice."""
    call = db.get_or_404(Call, call_id)
    # The call's setting decides unless the form says explicitly.
    working = request.form["working_days"] == "1" if "working_days" in request.form else None
    try:
        ops.publish_decisions(call, actor=current_user, working_days=working)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=call_id))
    return done("awards.show_call", _("立项结果已公布，公示开始。"), call_id=call_id)


@bp.route("/calls/<int:call_id>/confirm", methods=["POST"])
@requires("awards.propose")
def confirm(call_id):
    """Confirm every award whose notice is over with no open objection."""
    call = db.get_or_404(Call, call_id)
    confirmed = ops.confirm_call(call, actor=current_user)
    return done("awards.show_call", _("已确认立项 %(n)s 项。", n=len(confirmed)), call_id=call_id)


@bp.route("/calls/<int:call_id>/allocation.xlsx")
@requires("awards.export")
def allocation(call_id):
    """资金分配表 of a call."""
    call = db.get_or_404(Call, call_id)
    data = exports.allocation_xlsx(call, ops.awards_of(call.id), maker_name=current_user.name)
    return download(
        data,
        f"资金分配表-{call.id}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "call",
        call.id,
        "allocation_xlsx",
    )


@bp.route("/calls/<int:call_id>/letters", methods=["POST"])
@requires("awards.export")
def queue_letters(call_id):
    """Queue the 立项通知书 of every confirmed award of the call as one zip (a job)."""
    call = db.get_or_404(Call, call_id)
    try:
        export_jobs.queue_export(exports.LETTERS_EXPORT, {"call_id": call.id}, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=call.id))
    return done("awards.show_call", _("通知书正在后台生成，完成后可在本页下载。"), call_id=call.id)
