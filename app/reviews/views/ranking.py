"""The department's aggregation and ranking page, score downloads, ratings and fees."""

from __future__ import annotations

import io
import json

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.calls.models import Call
from app.core import export_jobs
from app.core.errors import DomainError
from app.core.forms import show_error
from app.core.permissions import requires
from app.core.sheets import CSV_MIME, XLSX_MIME
from app.extensions import db
from app.reviews import exports
from app.reviews import operations as ops
from app.reviews.forms import RatingForm, ReasonForm
from app.reviews.models import Expert, ExpertRating
from app.reviews.operations.common import lang
from app.reviews.operations.panel import ranking_section
from app.reviews.operations.panel.fees import fee_page
from app.reviews.scoring import FLAGS
from app.reviews.views import bp, download

FLAG_LABELS = {
    "veto": _l("一票否决"),
    "veto_hold": _l("否决待核"),
    "insufficient_reviews": _l("评审人数不足"),
    "disagreement": _l("分歧较大"),
    "tie": _l("并列"),
}
METHOD_LABELS = {
    "trimmed_mean": _l("截尾平均（评审人数达到规定人数时去掉一个最高分和一个最低分后取平均）"),
    "median": _l("中位数"),
    "mean": _l("平均"),
}
NORMALIZATION_LABELS = {
    "none": _l("不做标准化"),
    "zscore": _l("按专家标准化（消除各专家打分尺度差异）"),
    "calibrated": _l("宽严度校正（扣除各专家偏宽或偏严的幅度）"),
}


def reliability_verdict(icc) -> str:
    """A plain verdict on ICC(1): how far the experts agree on the same application."""
    if icc is None:
        return str(_l("评分不足，无法计算。"))
    if icc >= 0.75:
        return str(_l("专家评分一致性良好，排序较为可靠。"))
    if icc >= 0.5:
        return str(_l("专家评分一致性中等，排名相近的申报书宜结合评审意见判断。"))
    return str(_l("专家评分一致性较差，建议重点复核“分歧较大”的申报书。"))


def _call_or_404(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or call.state == "draft":
        abort(404)
    return call


def _sorted(rows, key: str):
    if key == "aggregate":
        return sorted(rows, key=lambda r: (r.ranked.aggregate is None, -(r.ranked.aggregate or 0)))
    if key == "n":
        return sorted(rows, key=lambda r: -r.ranked.n)
    if key == "number":
        return sorted(rows, key=lambda r: r.application.project_number or "")
    return rows  # by rank (the ranking's own order)


@bp.route("/calls/<int:call_id>/ranking")
@requires("reviews.rank")
def ranking(call_id):
    """Per application: n, each total, aggregate, band, flags; reliability and leniency."""
    call = _call_or_404(call_id)
    result = ops.rank_call(call)
    flag = request.args.get("flag", "")
    rows = [r for r in result.rows if not flag or flag in r.ranked.flags]
    rows = _sorted(rows, request.args.get("sort", "rank"))
    size = int(current_app.config.get("REVIEW_PAGE_SIZE", 100))
    show_all = request.args.get("all") == "1"  # the whole ranking on one page (to print)
    if show_all:
        size = max(len(rows), 1)
    page = 1 if show_all else max(request.args.get("page", type=int) or 1, 1)
    total_rows, rows = len(rows), rows[(page - 1) * size : page * size]
    chart_json = result.memo.get("chart_json")
    if chart_json is None:  # kept with the cached ranking
        chart_json = result.memo["chart_json"] = json.dumps(
            ops.ranking_chart(result), ensure_ascii=False
        )
    return render_template(
        "reviews/ranking.html",
        call=call,
        result=result,
        rows=rows,
        flag=flag,
        flags=FLAGS,
        flag_labels={k: str(v) for k, v in FLAG_LABELS.items()},
        lang=lang(),
        chart_json=chart_json,
        reason_form=ReasonForm(),
        page=page,
        size=size,
        total_rows=total_rows,
        show_all=show_all,
        method_label=METHOD_LABELS.get(result.rubric.aggregation) if result.rubric else None,
        normalization_label=(
            NORMALIZATION_LABELS.get(result.rubric.normalization) if result.rubric else None
        ),
        reliability=reliability_verdict(result.icc),
        expert_names=ops.expert_names(result.leniency),
        panel_section=ranking_section(call, result),  # 会议评审 (views/panel.py)
    )


@bp.route("/calls/<int:call_id>/finish", methods=["POST"])
@requires("reviews.manage")
def finish_round(call_id):
    """Close the round: applications whose reviewers all submitted move to reviewed."""
    call = _call_or_404(call_id)
    ReasonForm().validate_on_submit()
    try:
        done, waiting = ops.finish_round(call, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("reviews.ranking", call_id=call.id)), 303
    db.session.commit()
    flash(
        _(
            "%(done)s 份申报书评审完成，%(waiting)s 份尚有专家未提交。",
            done=len(done),
            waiting=len(waiting),
        ),
        "success",
    )
    return redirect(url_for("reviews.ranking", call_id=call.id))


@bp.route("/calls/<int:call_id>/ranking.xlsx")
@requires("reviews.rank")
def ranking_xlsx(call_id):
    """评审结果汇总排序表 (xlsx)."""
    call = _call_or_404(call_id)
    fh = io.BytesIO()
    exports.ranking_xlsx(fh, call, ops.rank_call(call), user=current_user)
    name = f"评审结果汇总排序表-{call.id}.xlsx"
    return download(fh.getvalue(), name, XLSX_MIME, "call", call.id, "review-ranking")


@bp.route("/calls/<int:call_id>/scores.xlsx")
@requires("reviews.rank")
def scores_xlsx(call_id):
    """专家评分明细表 (xlsx)."""
    call = _call_or_404(call_id)
    if exports.scores_detail_rows(call.id) > current_app.config["EXPORT_INLINE_MAX_ROWS"]:
        flash(_("评分明细较多，请使用“后台生成”，完成后在“我的后台任务”中下载。"), "warning")
        return redirect(url_for("reviews.ranking", call_id=call.id))
    fh = io.BytesIO()
    exports.scores_detail_xlsx(fh, call, user=current_user)
    name = f"专家评分明细表-{call.id}.xlsx"
    return download(fh.getvalue(), name, XLSX_MIME, "call", call.id, "review-scores")


@bp.route("/calls/<int:call_id>/scores/queue", methods=["POST"])
@requires("reviews.rank")
def queue_scores(call_id):
    """Generate the 专家评分明细表 in the background; it appears on "my jobs"."""
    call = _call_or_404(call_id)
    try:
        export_jobs.queue_export(exports.SCORES_EXPORT, {"call_id": call.id}, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("reviews.ranking", call_id=call.id))
    db.session.commit()
    flash(_("专家评分明细表正在后台生成，完成后在“我的后台任务”中下载。"), "info")
    return redirect(url_for("home.list_jobs"))


@bp.route("/calls/<int:call_id>/scores.csv")
@requires("reviews.rank")
def scores_csv(call_id):
    """The call's scores in the long format ``flask review rank`` reads."""
    call = _call_or_404(call_id)
    fh = io.BytesIO()
    exports.scores_csv(fh, call)
    return download(fh.getvalue(), f"scores-{call.id}.csv", CSV_MIME, "call", call.id, "scores")


@bp.route("/calls/<int:call_id>/experts", methods=["GET", "POST"])
@requires("reviews.manage")
def rate_experts(call_id):
    """Rate each expert of the round (100-point scale); a low average flags them."""
    call = _call_or_404(call_id)
    form = RatingForm()
    status = 200
    if form.validate_on_submit():
        expert = db.session.get(Expert, request.form.get("expert_id", type=int) or 0)
        if expert is None:
            abort(404)
        try:
            ops.rate_expert(
                expert,
                call,
                actor=current_user,
                timeliness=form.timeliness.data,
                quality=form.quality.data,
                score=form.score.data,
                comment=form.comment.data or "",
            )
        except DomainError as err:
            status = show_error(form, err)
        else:
            db.session.commit()
            flash(_("评价已保存。"), "success")
            back = {k: request.args[k] for k in ("page", "q") if request.args.get(k)}
            return redirect(url_for("reviews.rate_experts", call_id=call.id, **back))
    elif form.errors:
        status = 400
    # One page of the round's experts; the totals are the whole round's.
    size = int(current_app.config.get("REVIEW_PAGE_SIZE", 100))
    page = max(request.args.get("page", type=int) or 1, 1)
    q = (request.args.get("q") or "").strip()[:100]
    fees, total, totals = fee_page(call, q=q, page=page, per_page=size)
    ids = [f.expert.id for f in fees]
    ratings = {
        r.expert_id: r
        for r in db.session.scalars(
            select(ExpertRating).where(
                ExpertRating.call_id == call.id, ExpertRating.expert_id.in_(ids)
            )
        )
    }
    return render_template(
        "reviews/experts_round.html",
        call=call,
        fees=fees,
        ratings=ratings,
        form=form,
        page=page,
        size=size,
        total=total,
        totals=totals,
        q=q,
    ), status


@bp.route("/calls/<int:call_id>/fees.xlsx")
@requires("reviews.fees")
def fees_xlsx(call_id):
    """专家咨询费发放表 (xlsx) for finance."""
    call = _call_or_404(call_id)
    fh = io.BytesIO()
    exports.fees_xlsx(fh, call, user=current_user)
    name = f"专家咨询费发放表-{call.id}.xlsx"
    return download(fh.getvalue(), name, XLSX_MIME, "call", call.id, "expert-fees")
