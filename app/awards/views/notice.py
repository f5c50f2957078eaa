"""The public notice (拟立项公示), its PDF, and objections filed by the public."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.awards import exports
from app.awards import operations as ops
from app.awards.models import Award, AwardNotice
from app.awards.views import bp, download, fail
from app.core.errors import DomainError
from app.core.permissions import PUBLIC, requires
from app.extensions import db, limiter


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
    return download(
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
        fail(err)
        return redirect(url_for("awards.show_notice", notice_id=notice_id))
    db.session.commit()
    if row.state == "not_accepted":
        flash(_("异议已登记，但不予受理：%(r)s", r=row.reason), "warning")
    else:
        flash(_("异议已收到（登记号 %(n)s），学会部将依规处理。", n=row.id), "success")
    return redirect(url_for("awards.show_notice", notice_id=notice_id))
