"""The programme dashboard: charts of the figures, filtered by year and call, and their xlsx."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import quote

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.audit import trail
from app.calls.models import Call, Fund
from app.core.permissions import has_permission, requires
from app.core.sheets import XLSX_MIME
from app.dashboard import exports
from app.dashboard import permissions as _permissions  # noqa: F401  (registers dashboard.read)
from app.dashboard.figures import Filters, all_figures
from app.evaluation.states import GRADE_LABELS, GRADES
from app.extensions import db
from app.home import navigation
from app.reviews.operations.common import lang

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
navigation.add("dashboard.index", _l("项目看板"), "dashboard.read")

STAGE_LABELS = {
    "reserved": _l("预留"),
    "committed": _l("已立项承诺"),
    "released": _l("已批准拨付"),
    "paid": _l("已支付"),
    "clawback_demanded": _l("已追缴"),
    "clawed_back": _l("已追回"),
}


def _filters() -> Filters:
    year = request.args.get("year", type=int)
    call_id = request.args.get("call", type=int)
    return Filters(year=year, call_id=call_id)


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def station_chart(stations: dict, language: str) -> dict:
    """The stations' stage figures as dashboard.js draws them (by city, needs, grades, years)."""
    name = "en" if language == "en" else "zh"
    return {
        "cities": [c[name] for c in stations["by_city"]],
        "stations": [c["stations"] for c in stations["by_city"]],
        "bases": [c["bases"] for c in stations["by_city"]],
        "needs_posted": [c["needs_posted"] for c in stations["by_city"]],
        "needs_solved": [c["needs_solved"] for c in stations["by_city"]],
        "needs": [
            {"label": _("已发布"), "count": stations["needs"]["posted"]},
            {"label": _("已对接"), "count": stations["needs"]["matched"]},
            {"label": _("已解决"), "count": stations["needs"]["solved"]},
        ],
        "grades": [
            {"label": str(GRADE_LABELS.get(k, k)), "count": n}
            for k, n in stations["grades"].items()
        ],
        "text": {
            "stations": _("服务站"),
            "bases": _("示范基地"),
            "needs_posted": _("发布需求"),
            "needs_solved": _("解决需求"),
            "needs": _("需求数"),
        },
    }


def chart_data(figures: dict, language: str = "zh") -> dict:
    """What dashboard.js draws: labels translated here, numbers as computed."""
    return {
        "by_category": figures["by_category"],
        "by_city": figures["by_city"],
        "money": {
            **figures["money"],
            "labels": {k: str(v) for k, v in STAGE_LABELS.items()},
        },
        "grades": [{"label": str(GRADE_LABELS[g]), "count": figures["grades"][g]} for g in GRADES],
        "scores": figures["scores"],
        "participation": figures["participation"],
        "participation_target": figures["participation_target"],
        "stations": station_chart(figures["stations"], language),
        "text": {
            "projects": _("项目数"),
            "fen_to_wan": _("万元"),
            "evaluation": _("绩效评价得分"),
            "review": _("专家评审得分"),
            "participating": _("参与学会"),
            "not_participating": _("未参与学会"),
        },
    }


@bp.route("/")
@requires("dashboard.read")
def index():
    """Charts: projects by task type and city, money over time, grades, scores, participation,
    and the stations' stage goals."""
    filters = _filters()
    language = lang()
    figures = all_figures(filters, language)
    payload = json.dumps(_jsonable(chart_data(figures, language)), ensure_ascii=False)
    # The JSON sits in a <script type="application/json"> block: keep "</" out of it.
    payload = payload.replace("<", "\\u003c")
    years = sorted(set(db.session.scalars(select(Fund.year))), reverse=True)
    calls = db.session.scalars(
        select(Call).where(Call.state != "draft").order_by(Call.id.desc())
    ).all()
    return render_template(
        "dashboard/index.html",
        figures=figures,
        chart_json=payload,
        years=years,
        calls=calls,
        filters=filters,
        stage_labels=STAGE_LABELS,
        may_see_stations=has_permission(current_user, "stations.dashboard"),
        lang=language,
    )


@bp.route("/export.xlsx")
@requires("dashboard.read")
def export_xlsx():
    """The same figures as an xlsx (汇总 and 明细 sheets)."""
    filters = _filters()
    figures = all_figures(filters, "zh")
    scope = (
        "、".join(
            part
            for part in (
                f"{filters.year}年度" if filters.year else "",
                f"批次{filters.call_id}" if filters.call_id else "",
            )
            if part
        )
        or "全部"
    )
    data = exports.figures_xlsx(
        figures, scope=scope, unit=current_user.org.name, preparer=current_user.name
    )
    trail.record(
        "export.download",
        "dashboard",
        None,
        actor=current_user,
        after={
            "document": "dashboard",
            "bytes": len(data),
            "year": filters.year,
            "call_id": filters.call_id,
        },
    )
    db.session.commit()
    response = Response(data, mimetype=XLSX_MIME)
    name = "项目看板.xlsx"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"dashboard.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response
