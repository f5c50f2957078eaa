"""Officers' pages: calls under review, the draw, overrides, confirmation, reopening."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select

from app.applications.models import Application
from app.calls.models import Call
from app.core.errors import DomainError
from app.core.models import Job
from app.core.permissions import requires
from app.core.sheets import XLSX_MIME
from app.extensions import db
from app.reviews import exports
from app.reviews import operations as ops
from app.reviews.forms import DrawForm, OverrideForm, ReasonForm
from app.reviews.models import Expert, ReviewAssignment, ReviewDraw
from app.reviews.operations.common import split_terms
from app.reviews.states import AssignmentState
from app.reviews.views import bp, download


def _call_or_404(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or call.state == "draft":
        abort(404)
    return call


def _flash_error(err: DomainError) -> None:
    db.session.rollback()
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


@bp.route("/calls")
@requires("reviews.rank")
def list_calls():
    """Calls with applications to review, with their review progress."""
    calls = db.session.scalars(
        select(Call).where(Call.state != "draft").order_by(Call.id.desc())
    ).all()
    # (submitted, all) assignments per call, counted by the database in one query.
    counts = {call.id: (0, 0) for call in calls}
    for call_id, submitted, total in db.session.execute(
        select(
            ReviewAssignment.call_id,
            func.coalesce(func.sum(case((ReviewAssignment.state == "submitted", 1), else_=0)), 0),
            func.count(ReviewAssignment.id),
        )
        .where(ReviewAssignment.call_id.in_([call.id for call in calls]))
        .group_by(ReviewAssignment.call_id)
    ):
        counts[call_id] = (int(submitted), int(total))
    return render_template("reviews/calls.html", calls=calls, counts=counts)


def _page_arg(name: str) -> int:
    value = request.args.get(name, type=int) or 1
    return max(value, 1)


def _draw_context(call: Call) -> dict:
    """The draw page: a fixed number of queries whatever the size of the call (the
    assignments and a pending draw's rows are paged)."""
    size = int(current_app.config.get("REVIEW_PAGE_SIZE", 100))
    draws = db.session.scalars(
        select(ReviewDraw).where(ReviewDraw.call_id == call.id).order_by(ReviewDraw.id.desc())
    ).all()
    q = (request.args.get("q") or "").strip()[:100]
    state = request.args.get("state") or ""
    if state not in {s.value for s in AssignmentState}:
        state = ""
    page = _page_arg("page")
    assignments, total = ops.list_assignments(call.id, q=q, state=state, page=page, per_page=size)
    pending = next((d for d in draws if d.confirmed_at is None), None)
    pending_rows, pending_page, pending_pages = [], _page_arg("pp"), 0
    if pending is not None:
        drawn = sorted(pending.assignments().items())
        pending_pages = max((len(drawn) + size - 1) // size, 1)
        pending_page = min(pending_page, pending_pages)
        pending_rows = [
            (app_id, ids, pending.reserves(app_id)[:5])
            for app_id, ids in drawn[(pending_page - 1) * size : pending_page * size]
        ]
    wanted = {x for _a, ids, spare in pending_rows for x in (*ids, *spare)}
    experts = (
        {e.id: e for e in db.session.scalars(select(Expert).where(Expert.id.in_(wanted)))}
        if wanted
        else {}
    )
    app_ids = {a for a, _i, _s in pending_rows}
    apps = (
        {
            a.id: a
            for a in db.session.scalars(select(Application).where(Application.id.in_(app_ids)))
        }
        if app_ids
        else {}
    )
    job = db.session.scalar(
        select(Job)
        .where(Job.kind == "reviews.draw", Job.created_by_id == current_user.id)
        .order_by(Job.id.desc())
        .limit(1)
    )
    if job is not None and (job.payload or {}).get("call_id") != call.id:
        job = None
    return {
        "call": call,
        "draws": draws,
        "pending": pending,
        "pending_rows": pending_rows,
        "pending_page": pending_page,
        "pending_pages": pending_pages,
        "assignments": assignments,
        "total": total,
        "page": page,
        "size": size,
        "q": q,
        "state": state,
        "states": list(AssignmentState),
        "experts": experts,
        "apps": apps,
        "undrawn": ops.undrawn_count(call),
        "pool_size": ops.pool_size(),
        "conflict_count": ops.conflict_count(call.id),
        "state_label": lambda s: AssignmentState(str(s)).label,
        "job": job,
        "form": DrawForm(),
        "override_form": OverrideForm(),
        "reason_form": ReasonForm(),
    }


@bp.route("/calls/<int:call_id>/draw")
@requires("reviews.manage")
def draw_page(call_id):
    """The call's draw: applications waiting, the pool, draws, assignments and their states."""
    call = _call_or_404(call_id)
    return render_template("reviews/draw.html", **_draw_context(call))


@bp.route("/calls/<int:call_id>/draw", methods=["POST"])
@requires("reviews.manage")
def run_draw(call_id):
    """Run a draw (inline for a small call, as a job for a big one)."""
    call = _call_or_404(call_id)
    form = DrawForm()
    if not form.validate_on_submit():
        flash(_("随机种子必须是非负整数。"), "danger")
        return redirect(url_for("reviews.draw_page", call_id=call.id)), 303
    fields = split_terms(form.fields.data)
    try:
        if ops.should_queue(call, fields):
            ops.queue_draw(call, actor=current_user, seed=form.seed.data, fields=fields)
            message = _("专家较多，抽取已转入后台执行，请稍候查看进度。")
        else:
            draw = ops.run_draw(call, actor=current_user, seed=form.seed.data, fields=fields)
            message = _("抽取完成（随机种子 %(seed)s），请核对后确认。", seed=draw.seed)
    except DomainError as err:
        _flash_error(err)
        return redirect(url_for("reviews.draw_page", call_id=call.id)), 303
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("reviews.draw_page", call_id=call.id))


def _draw_or_404(draw_id: int) -> ReviewDraw:
    draw = db.session.get(ReviewDraw, draw_id)
    if draw is None:
        abort(404)
    return draw


@bp.route("/draws/<int:draw_id>/override", methods=["POST"])
@requires("reviews.manage")
def override_draw(draw_id):
    """Swap one drawn expert for another, with a reason (audited)."""
    draw = _draw_or_404(draw_id)
    form = OverrideForm()
    if not form.validate_on_submit():
        flash(_("请填写申报书、原专家、替换专家和调整理由。"), "danger")
    else:
        try:
            ops.override_assignment(
                draw,
                form.application_id.data,
                form.remove.data,
                form.add.data,
                actor=current_user,
                reason=form.reason.data,
            )
        except DomainError as err:
            _flash_error(err)
        else:
            db.session.commit()
            flash(_("已调整并记录理由。"), "success")
    return redirect(url_for("reviews.draw_page", call_id=draw.call_id)), 303


@bp.route("/draws/<int:draw_id>/confirm", methods=["POST"])
@requires("reviews.manage")
def confirm_draw(draw_id):
    """Confirm the draw: invitations go out, applications move to review."""
    draw = _draw_or_404(draw_id)
    ReasonForm().validate_on_submit()
    try:
        created = ops.confirm_draw(draw, actor=current_user)
    except DomainError as err:
        _flash_error(err)
        return redirect(url_for("reviews.draw_page", call_id=draw.call_id)), 303
    db.session.commit()
    flash(_("已确认抽取结果并向 %(n)s 位次专家发出评审邀请。", n=len(created)), "success")
    return redirect(url_for("reviews.draw_page", call_id=draw.call_id))


@bp.route("/draws/<int:draw_id>/record.xlsx")
@requires("reviews.manage")
def draw_record(draw_id):
    """专家抽取记录表 (xlsx): the draw as audit evidence."""
    draw = _draw_or_404(draw_id)
    call = db.session.get(Call, draw.call_id)
    fh = io.BytesIO()
    exports.draw_xlsx(fh, draw, call, user=current_user)
    name = f"专家抽取记录表-{call.id}-{draw.id}.xlsx"
    return download(fh.getvalue(), name, XLSX_MIME, "review_draw", draw.id, "draw-record")


@bp.route("/assignments/<int:assignment_id>/reopen", methods=["POST"])
@requires("reviews.manage")
def reopen_assignment(assignment_id):
    """Send a submitted score sheet back to its expert, with a reason (audited)."""
    row = db.session.get(ReviewAssignment, assignment_id)
    if row is None:
        abort(404)
    form = ReasonForm()
    form.validate_on_submit()
    try:
        ops.reopen_sheet(row, actor=current_user, reason=form.reason.data or "")
    except DomainError as err:
        _flash_error(err)
        return redirect(url_for("reviews.draw_page", call_id=row.call_id)), 303
    db.session.commit()
    flash(_("已退回专家重新评分。"), "success")
    return redirect(url_for("reviews.draw_page", call_id=row.call_id))
