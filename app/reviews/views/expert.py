"""The reviewer's pages: invitations, declaring no conflict, the application, the score sheet."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import undefer

from app.accounts.models import Organisation
from app.core.errors import DomainError
from app.core.files import path_for
from app.core.permissions import requires
from app.extensions import db
from app.reviews import exports
from app.reviews import operations as ops
from app.reviews.forms import RespondForm, SheetForm, sheet_data
from app.reviews.models import Expert, ReviewAssignment
from app.reviews.operations.common import lang
from app.reviews.operations.scoring import load_for_save, own_user_lazily
from app.reviews.permissions import can_respond, can_score, can_view_assigned
from app.reviews.scoring import review_total
from app.reviews.states import AssignmentState
from app.reviews.views import bp, download


def _own_or_404(assignment_id: int, *, for_save: bool = False) -> ReviewAssignment:
    """The current expert's assignment; anyone else's is a 404, not a 403.

    The expert's user is not joined in: it is the signed-in user, already loaded with
    their roles for this request (joining it again re-read the roles each time).
    """
    if for_save:  # read under its row lock once, for the save in this request
        row = load_for_save(assignment_id)
    else:
        row = db.session.scalar(
            select(ReviewAssignment)
            .where(ReviewAssignment.id == assignment_id)
            .options(own_user_lazily(), undefer(ReviewAssignment.sheet_rubric_digest))
        )
    if row is None or row.expert.user_id != current_user.id:
        abort(404)
    return row


@bp.route("/mine")
@requires("reviews.score")
def my_assignments():
    """The signed-in expert's invitations and score sheets."""
    expert = db.session.scalar(select(Expert).where(Expert.user_id == current_user.id))
    rows = []
    if expert is not None:
        rows = db.session.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.expert_id == expert.id)
            .order_by(ReviewAssignment.id.desc())
        ).all()
    return render_template(
        "reviews/mine.html",
        rows=rows,
        expert=expert,
        state_label=lambda s: AssignmentState(str(s)).label,
    )


@bp.route("/assignments/<int:assignment_id>", methods=["GET", "POST"])
@requires("reviews.score")
def my_assignment(assignment_id):
    """An invitation: accept (declaring no conflict and pledging confidentiality), decline
    or recuse; once accepted, links to the application and the score sheet."""
    row = _own_or_404(assignment_id)
    form = RespondForm()
    if request.method == "POST":
        action = request.form.get("action", "")
        if not (form.validate_on_submit() and can_respond(current_user, row)):
            abort(404 if not can_respond(current_user, row) else 400)
        try:
            ops.respond(
                row,
                action,
                actor=current_user,
                reason=form.reason.data,
                no_conflict=form.no_conflict.data,
                pledge=form.pledge.data,
            )
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "danger")
            return redirect(url_for("reviews.my_assignment", assignment_id=row.id)), 303
        db.session.commit()
        flash(
            _("已确认，可以查看申报材料并评分。") if action == "accept" else _("已记录您的答复。"),
            "success",
        )
        return redirect(url_for("reviews.my_assignment", assignment_id=row.id))
    app = row.application
    anonymous = ops.identity_hidden(row)
    parties = []
    if not anonymous:  # 匿名评审: conflicts are checked by the system, names stay hidden
        parties = [app.society.name]
        if app.co_government_id:
            parties.append(db.session.get(Organisation, app.co_government_id).name)
        members = [app.chief_expert or {}, *(app.team or [])]
        parties += [m["organisation"] for m in members if m.get("organisation")]
    return render_template(
        "reviews/assignment.html",
        row=row,
        form=form,
        parties=list(dict.fromkeys(parties)),
        anonymous=anonymous,
        code=ops.neutral_code(row),
        state_label=AssignmentState(str(row.state)).label,
    )


@bp.route("/assignments/<int:assignment_id>/application")
@requires("reviews.score")
def assigned_application(assignment_id):
    """The application as submitted (its latest revision), once no conflict was declared."""
    row = _own_or_404(assignment_id)
    if not can_view_assigned(current_user, row):
        abort(404)
    revision = ops.reviewed_revision(row)
    return render_template(
        "reviews/application.html",
        row=row,
        revision=revision,
        anonymous=ops.identity_hidden(row),
        code=ops.neutral_code(row),
    )


@bp.route("/assignments/<int:assignment_id>/attachments/<int:index>")
@requires("reviews.score")
def assigned_attachment(assignment_id, index):
    """An attachment of the revision under review (assigned, accepted and declared only;
    every download audited)."""
    row = _own_or_404(assignment_id)
    if not can_view_assigned(current_user, row):
        abort(404)
    found = ops.open_attachment(row, index, actor=current_user)
    if found is None:
        abort(404)
    stored, name = found
    db.session.commit()
    return send_file(
        path_for(stored.sha256), mimetype=stored.mime, as_attachment=True, download_name=name
    )


@bp.route("/assignments/<int:assignment_id>/sheet.pdf")
@requires("reviews.score")
def sheet_pdf(assignment_id):
    """评分表 (PDF): the expert's own submitted score sheet."""
    row = _own_or_404(assignment_id)
    if row.state != "submitted":
        abort(404)
    data = exports.sheet_pdf(row, ops.sheet_rubric(row), anonymous=ops.identity_hidden(row))
    name = f"评分表-{ops.neutral_code(row)}.pdf"
    return download(data, name, "application/pdf", "review_assignment", row.id, "score-sheet")


@bp.route("/assignments/<int:assignment_id>/declaration.pdf")
@requires("reviews.score")
def declaration_pdf(assignment_id):
    """回避及保密承诺书 (PDF): the expert's declaration and pledge, once accepted."""
    row = _own_or_404(assignment_id)
    if not can_view_assigned(current_user, row):
        abort(404)
    data = exports.declaration_pdf(row, anonymous=ops.identity_hidden(row))
    name = f"回避及保密承诺书-{ops.neutral_code(row)}.pdf"
    return download(data, name, "application/pdf", "review_assignment", row.id, "declaration")


def _sheet_values(row: ReviewAssignment, rubric, posted: dict | None) -> dict:
    """What the sheet shows: what was just posted, else what is saved."""
    if posted is not None:
        return posted
    return {
        "scores": row.score_map(),
        "comments": {s.criterion_key: s.comment for s in row.scores},
        "vetoes": {v.veto_key: v.reason for v in row.vetoes},
        "overall_comment": row.overall_comment,
    }


@bp.route("/assignments/<int:assignment_id>/sheet", methods=["GET", "POST"])
@requires("reviews.score")
def score_sheet(assignment_id):
    """The score sheet generated from the call's rubric snapshot: save a draft or submit."""
    row = _own_or_404(assignment_id, for_save=request.method == "POST")
    if not can_view_assigned(current_user, row):
        abort(404)
    rubric = ops.sheet_rubric(row)
    form = SheetForm()
    posted = None
    status = 200
    if request.method == "POST":
        if not can_score(current_user, row):
            flash(can_score(current_user, row).reason, "danger")
            return redirect(url_for("reviews.score_sheet", assignment_id=row.id)), 303
        posted = sheet_data(request.form, rubric)
        if form.validate_on_submit():
            submit = request.form.get("action") == "submit"
            try:
                (ops.submit_sheet if submit else ops.save_sheet)(row, posted, actor=current_user)
            except DomainError as err:
                db.session.rollback()
                flash(err.message, "danger")
                for detail in err.details:
                    flash(detail, "danger")
                status = err.status
            else:
                db.session.commit()
                flash(_("评分已提交并锁定。") if submit else _("草稿已保存。"), "success")
                # assignment_id, not row.id: the committed row would be reloaded to say it.
                return redirect(url_for("reviews.score_sheet", assignment_id=assignment_id))
        else:
            status = 400
    values = _sheet_values(row, rubric, posted)
    saved = row.score_map()
    try:
        total = review_total(
            rubric, {k: None if v is None else Decimal(v) for k, v in saved.items()}
        )
    except (ValueError, ArithmeticError):
        total = None
    return render_template(
        "reviews/sheet.html",
        row=row,
        rubric=rubric,
        form=form,
        values=values,
        lang=lang(),
        editable=bool(can_score(current_user, row)),
        total=total,
        code=ops.neutral_code(row),
        state_label=AssignmentState(str(row.state)).label,
    ), status
