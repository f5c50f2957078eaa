"""Notifications of the stations module, through the outbox (in-app always, mail when
the user chose it): a need screened, answered, matched and closed; a demonstration base
confirmed; a yearly report due and its evaluation returned to the station.

Called by the operations inside their transaction, so a rolled-back change sends nothing.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.notify import SOCIETY_ROLES, org_users, send
from app.core import clock
from app.core.tick import on_tick
from app.extensions import db

REQUESTER_ROLES = ("enterprise", "local_partner", "applicant", "society_admin")
# A station's report for last year is due from this day of the year (month, day) on.
REPORT_DUE_FROM = (1, 15)


def _requesters(need) -> list[User]:
    return org_users(need.org_id, REQUESTER_ROLES)


def need_screened(need) -> int:
    """The requester learns whether the need was accepted (and why not)."""
    if need.state == "screened":
        subject = _("您发布的需求已通过审核")
        body = _("需求“%(title)s”已通过审核，学会可以提交对接方案。", title=need.title)
    else:
        subject = _("您发布的需求不予受理")
        body = _(
            "需求“%(title)s”不予受理，理由：%(reason)s",
            title=need.title,
            reason=need.screen_reason or "",
        )
    return send(_requesters(need), subject, body, link=f"/needs/{need.id}")


def need_answered(need, proposal) -> int:
    """The requester and the station's lead society learn a society proposed."""
    users = _requesters(need) + org_users(need.station.society_id, SOCIETY_ROLES)
    return send(
        users,
        _("需求收到对接方案"),
        _(
            "%(society)s 对需求“%(title)s”提交了对接方案。",
            society=proposal.society.name,
            title=need.title,
        ),
        link=f"/needs/{need.id}",
    )


def _chosen_societies(need) -> list[User]:
    return [
        u for p in need.proposals if p.is_selected for u in org_users(p.society_id, SOCIETY_ROLES)
    ]


def need_matched(need) -> int:
    """The requester, the lead society and the chosen society learn the match."""
    users = _requesters(need) + org_users(need.station.society_id, SOCIETY_ROLES)
    users += _chosen_societies(need)
    return send(
        users,
        _("需求已对接项目"),
        _("需求“%(title)s”已对接项目 %(project)s。", title=need.title, project=need.project_id),
        link=f"/needs/{need.id}",
    )


def need_closed(need) -> int:
    """The lead society and the chosen society learn the result and the score."""
    users = org_users(need.station.society_id, SOCIETY_ROLES)
    users += _chosen_societies(need)
    return send(
        users,
        _("需求已关闭"),
        _(
            "需求“%(title)s”已由需求方关闭，满意度评分 %(score)s 分（满分5分）。",
            title=need.title,
            score=need.satisfaction,
        ),
        link=f"/needs/{need.id}",
    )


def base_confirmed(station) -> int:
    """The lead society and the co-building government learn the base is confirmed."""
    users = org_users(station.society_id, SOCIETY_ROLES) + org_users(
        station.government_id, ("local_partner", *SOCIETY_ROLES)
    )
    return send(
        users,
        _("服务站已认定为示范基地"),
        _("服务站“%(name)s”已由学会部认定为示范基地。", name=station.name),
        link=f"/stations/{station.id}",
    )


def evaluation_returned(evaluation) -> int:
    """The lead society receives the third party's grade of its yearly report."""
    from app.stations.states import GRADE_LABELS

    station = evaluation.station
    return send(
        org_users(station.society_id, SOCIETY_ROLES),
        _("服务站年度绩效评价结果"),
        _(
            "服务站“%(name)s”%(year)s年度报告的绩效评价已完成：%(total)s 分，等级“%(grade)s”。",
            name=station.name,
            year=evaluation.year,
            total=evaluation.total,
            grade=GRADE_LABELS[evaluation.grade],
        ),
        link=f"/stations/{station.id}",
    )


@on_tick("station_reports_due")
def remind_reports_due() -> int:
    """From January 15, remind the lead society of every station that supported its park
    last year and has not filed last year's report (once per station and year)."""
    from app.stations.models import Station, StationReport
    from app.stations.states import ACTIVE_STATION_STATES

    today = clock.today()
    if (today.month, today.day) < REPORT_DUE_FROM:
        return 0
    year = today.year - 1
    filed = select(StationReport.station_id).where(StationReport.year == year)
    stations = db.session.scalars(
        select(Station)
        .where(Station.state.in_(ACTIVE_STATION_STATES), Station.id.notin_(filed))
        .order_by(Station.id)
    ).all()
    sent = 0
    for station in stations:
        if station.established_at is None or clock.local(station.established_at).year > year:
            continue
        sent += send(
            org_users(station.society_id, SOCIETY_ROLES),
            _("请报送服务站年度报告"),
            _(
                "服务站“%(name)s”%(year)s年度工作报告尚未报送，请尽快报送。",
                name=station.name,
                year=year,
            ),
            link=f"/stations/{station.id}/reports/new",
            key=f"station-report-due:{station.id}:{year}",
        )
    return sent


def agency_engaged(station, agency_id: int) -> int:
    """The engaged agency's evaluators learn they may evaluate the station."""
    return send(
        org_users(agency_id, ("evaluator",)),
        _("委托评价服务站"),
        _("学会部委托贵机构对服务站“%(name)s”开展年度绩效评价。", name=station.name),
        link=f"/stations/{station.id}",
    )
