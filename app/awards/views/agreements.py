"""Task agreements (任务书), their amendments and PDFs."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app.awards import exports
from app.awards import operations as ops
from app.awards.models import AgreementAmendment, TaskAgreement
from app.awards.permissions import can_edit_agreement, can_view_agreement, can_view_staff
from app.awards.states import AGREEMENT_WORKFLOW
from app.awards.views import bp, done, download, fail
from app.core.errors import DomainError
from app.core.forms import page_args, page_of
from app.core.permissions import requires
from app.extensions import db


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
    # A page at a time; the list shows the agreement's own columns and society only (not
    # the award with its call and application, joined by default).
    page, size = page_args(request, default_size=20)
    rows, total = page_of(stmt.options(lazyload(TaskAgreement.award)), page, size)
    return render_template("awards/agreements.html", rows=rows, page=page, size=size, total=total)


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
        fail(err)
        return redirect(url_for("awards.show_agreement", agreement_id=agreement_id))
    return done("awards.show_agreement", _("任务书已保存。"), agreement_id=agreement_id)


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
        fail(err)
        return redirect(url_for("awards.show_agreement", agreement_id=agreement_id))
    return done("awards.show_agreement", _("已完成。"), agreement_id=agreement_id)


@bp.route("/amendments/<int:amendment_id>/<action>", methods=["POST"])
@requires("agreements.edit")
def amendment_action(amendment_id, action):
    """Submit, approve or reject an amendment (补充任务书)."""
    row = db.get_or_404(AgreementAmendment, amendment_id)
    try:
        ops.advance_amendment(row, action, actor=current_user, reason=request.form.get("reason"))
    except DomainError as err:
        db.session.rollback()
        fail(err)
    else:
        db.session.commit()
    return redirect(url_for("awards.show_agreement", agreement_id=row.agreement_id))


@bp.route("/agreements/<int:agreement_id>.pdf")
@requires("agreements.read")
def agreement_pdf(agreement_id):
    """任务书 as PDF."""
    row = _agreement(agreement_id)
    return download(
        exports.agreement_pdf(row),
        f"任务书-{row.number}.pdf",
        "application/pdf",
        "task_agreement",
        row.id,
        "agreement_pdf",
    )
