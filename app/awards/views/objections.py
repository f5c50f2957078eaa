"""Handling objections and reconsiderations (staff)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.awards import operations as ops
from app.awards.models import Objection, Reconsideration
from app.awards.states import GROUND_LABELS, RECONSIDERATION_OUTCOMES
from app.awards.views import bp, done, fail
from app.core.errors import DomainError
from app.core.money import parse_fen
from app.core.permissions import requires
from app.extensions import db


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
        outcomes=RECONSIDERATION_OUTCOMES,
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
        fail(err)
        return redirect(url_for("awards.list_objections"))
    return done("awards.list_objections", _("已处理。"))


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
            outcome = request.form.get("outcome") or "decision"
            amount = parse_fen(request.form.get("amount")) if outcome == "award" else None
            ops.decide_reconsideration(
                row,
                action == "overturn",
                text,
                actor=current_user,
                outcome=outcome,
                amount_fen=amount,
            )
        else:
            abort(404)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.list_objections"))
    return done("awards.list_objections", _("已处理。"))
