"""The applicant's outcome, its reconsideration request, the award letter."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.applications.models import Application
from app.awards import exports
from app.awards import operations as ops
from app.awards.models import Award, NotFundedDecision, Reconsideration, TaskAgreement
from app.awards.permissions import can_view_agreement, can_view_outcome
from app.awards.states import GROUND_LABELS, RECONSIDERATION_OUTCOMES
from app.awards.views import bp, download, fail
from app.core.errors import DomainError
from app.core.permissions import requires
from app.extensions import db


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
        # Published ones only: an award withdrawn before publication was never shown.
        .where(Award.application_id == app.id, Award.notice_id.is_not(None))
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
        outcomes=RECONSIDERATION_OUTCOMES,
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
        fail(err)
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
    return download(
        exports.letter_pdf(award),
        f"立项通知书-{award.application.project_number}.pdf",
        "application/pdf",
        "award",
        award.id,
        "award_letter_pdf",
    )
