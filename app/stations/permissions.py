"""Who sees and does what with stations, pilot profiles, needs, reports and evaluations.

Each rule returns a Decision with its reason; views and templates call the same rules.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.permissions import ALLOW, Decision, deny, register_permissions
from app.extensions import db

register_permissions(
    {
        "stations.read": {
            "applicant",
            "society_admin",
            "local_partner",
            "officer",
            "approver",
            "auditor",
            "evaluator",
            "enterprise",
            "finance",
        },
        "stations.manage": {"officer", "approver", "applicant", "society_admin", "local_partner"},
        "stations.evaluate": {"evaluator", "officer", "approver"},
        "stations.dashboard": {"officer", "approver", "auditor", "finance"},
        "needs.read": {
            "applicant",
            "society_admin",
            "local_partner",
            "officer",
            "approver",
            "auditor",
            "enterprise",
        },
        "needs.post": {"enterprise", "local_partner", "officer"},
        "needs.handle": {"officer", "applicant", "society_admin", "enterprise", "local_partner"},
        "pilot.edit": {"applicant", "society_admin"},
        "pilot.read": {"officer", "approver", "auditor", "applicant", "society_admin"},
    }
)
STAFF = ("officer", "approver", "auditor")
SOCIETY_STAFF = ("applicant", "society_admin")


def is_department(user) -> bool:
    """学会部 staff (officers and approvers)."""
    return user is not None and user.has_role("officer", "approver")


def is_lead_society(user, station) -> bool:
    """Staff of the station's lead society."""
    return user.has_role(*SOCIETY_STAFF) and user.org_id == station.society_id


def is_co_government(user, station) -> bool:
    """Staff of the station's co-building government."""
    return user.has_role("local_partner", *SOCIETY_STAFF) and user.org_id == station.government_id


def station_orgs(station) -> set[int]:
    """Organisations taking part in a station: government, lead and partner societies."""
    return {station.government_id, station.society_id, *(p.society_id for p in station.partners)}


def enterprise_park_id(user) -> int | None:
    """The park of ``user``'s enterprise (``None`` for anyone else)."""
    from app.stations.models import EnterprisePark

    if not (user.has_role("enterprise") and user.org is not None and user.org.kind == "enterprise"):
        return None
    return db.session.scalar(
        select(EnterprisePark.park_id).where(EnterprisePark.org_id == user.org_id)
    )


def engaged_agency(user, station) -> bool:
    """Whether ``user`` is an evaluator of an agency the department engaged on ``station``."""
    from app.stations.models import StationEngagement

    if not user.has_role("evaluator") or user.org_id is None:
        return False
    return bool(
        db.session.scalar(
            select(StationEngagement.id).where(
                StationEngagement.station_id == station.id,
                StationEngagement.agency_id == user.org_id,
            )
        )
    )


# The department's own staff see every station (finance too: it pays station projects).
STATION_STAFF = (*STAFF, "finance")


def can_view_station(user, station) -> Decision:
    """Who sees a station (everyone else gets a 404): the department's staff and auditors;
    the staff of its lead and partner societies and of its co-building government;
    enterprises of its park; evaluators of an agency engaged on it."""
    if user.has_role(*STATION_STAFF):
        return ALLOW
    if user.has_role(*SOCIETY_STAFF, "local_partner") and user.org_id in station_orgs(station):
        return ALLOW
    park_id = enterprise_park_id(user)
    if park_id is not None and park_id == station.park_id:
        return ALLOW
    if engaged_agency(user, station):
        return ALLOW
    return deny(_("页面不存在，或您无权查看。"))


def can_see_station_files(user, station) -> Decision:
    """Documents, evidence and reports: staff, the station's parties, engaged evaluators."""
    if user.has_role(*STATION_STAFF) or engaged_agency(user, station):
        return ALLOW
    if user.has_role(*SOCIETY_STAFF, "local_partner") and user.org_id in station_orgs(station):
        return ALLOW
    return deny(_("页面不存在，或您无权查看。"))


def visible_stations(stmt, user):
    """Narrow a select of ``Station`` to what ``user`` may see (``can_view_station`` as SQL)."""
    from sqlalchemy import false, or_

    from app.stations.models import Station, StationEngagement, StationPartner

    if user.has_role(*STATION_STAFF):
        return stmt
    conditions = []
    if user.has_role(*SOCIETY_STAFF, "local_partner") and user.org_id is not None:
        partner = select(StationPartner.station_id).where(StationPartner.society_id == user.org_id)
        conditions += [
            Station.society_id == user.org_id,
            Station.government_id == user.org_id,
            Station.id.in_(partner),
        ]
    park_id = enterprise_park_id(user)
    if park_id is not None:
        conditions.append(Station.park_id == park_id)
    if user.has_role("evaluator") and user.org_id is not None:
        engaged = select(StationEngagement.station_id).where(
            StationEngagement.agency_id == user.org_id
        )
        conditions.append(Station.id.in_(engaged))
    return stmt.where(or_(*conditions) if conditions else false())


def can_engage_agency(user, _station=None) -> Decision:
    """Officers engage a third-party evaluation agency on a station."""
    if not user.has_role("officer"):
        return deny(_("只有学会部经办人可以委托评估机构。"))
    return ALLOW


def can_edit_station(user, station) -> Decision:
    """Officers and the lead society keep a station's team, partners and documents."""
    if user.has_role("officer") or is_lead_society(user, station):
        if station.state == "closed":
            return deny(_("服务站已撤销，不能修改。"))
        return ALLOW
    return deny(_("只有学会部经办人或牵头学会可以维护服务站信息。"))


def can_confirm_agreement(user, station) -> Decision:
    """The lead society's secretariat and the government's staff each confirm the agreement."""
    if station.agreement_file_id is None:
        return deny(_("请先上传合作协议。"))
    if station.state != "planned":
        return deny(_("服务站已建立，合作协议不能再确认。"))
    if user.has_role("society_admin") and user.org_id == station.society_id:
        return ALLOW
    if is_co_government(user, station):
        return ALLOW
    return deny(_("只有牵头学会秘书处或共建政府可以确认合作协议。"))


def confirming_party(user, station) -> str | None:
    """``"society"`` or ``"government"``: the side of the agreement ``user`` confirms for."""
    if user.has_role("society_admin") and user.org_id == station.society_id:
        return "society"
    if is_co_government(user, station):
        return "government"
    return None


def can_post_need(user, station) -> Decision:
    """The co-building government, an enterprise of the station's park, or an officer."""
    if station.state not in ("established", "operating", "base"):
        return deny(_("该服务站当前不接收需求。"))
    if user.has_role("officer"):
        return ALLOW
    if user.has_role("local_partner") and user.org_id == station.government_id:
        return ALLOW
    if user.has_role("enterprise") and user.org.kind == "enterprise":
        park_id = enterprise_park_id(user)
        if park_id is not None and park_id == station.park_id:
            return ALLOW
        return deny(_("贵企业不在该服务站所在园区，不能向其发布需求。"))
    return deny(_("只有共建政府或该园区企业可以向本服务站发布需求。"))


def can_view_need(user, need) -> Decision:
    """Staff and the station's parties see every need; requesters their own; every
    society sees screened needs (so it can respond)."""
    if user.has_role(*STAFF) or user.org_id == need.org_id:
        return ALLOW
    if user.org_id in station_orgs(need.station):
        return ALLOW
    society = user.has_role(*SOCIETY_STAFF) and user.org.kind == "society"
    if society and need.state not in ("posted", "not_accepted"):
        return ALLOW
    return deny(_("页面不存在，或您无权查看。"))


def can_respond(user, need) -> Decision:
    """Any society's staff propose how to serve a screened need."""
    if not (user.has_role(*SOCIETY_STAFF) and user.org.kind == "society"):
        return deny(_("只有省级学会可以提交对接方案。"))
    if need.state != "screened":
        return deny(_("只有已审核、尚未对接的需求可以提交方案。"))
    return ALLOW


def can_edit_pilot(user, app) -> Decision:
    """The applying government's staff fill the pilot profile of a draft or returned application."""
    from app.applications.permissions import can_edit_application

    if app.call.kind != "pilot":
        return deny(_("只有试点批次的申报书有试点信息。"))
    return can_edit_application(user, app)


def can_report(user, station) -> Decision:
    """The lead society's staff (or an officer) file the station's yearly report."""
    if not (user.has_role("officer") or is_lead_society(user, station)):
        return deny(_("只有牵头学会可以报送服务站年度报告。"))
    if station.state not in ("established", "operating", "base", "suspended"):
        return deny(_("服务站尚未建立或已撤销，不能报送年度报告。"))
    return ALLOW


def can_evaluate(user, station) -> Decision:
    """An evaluator of an evaluation agency independent of the station's parties."""
    if not user.has_role("evaluator"):
        return deny(_("只有第三方评估机构的评估人员可以评价服务站。"))
    if user.org.kind != "evaluation_agency":
        return deny(_("评估人员须属于第三方评估机构。"))
    if user.org_id in station_orgs(station):
        return deny(_("评估机构与服务站的牵头学会或共建政府存在关联，须回避。"))
    if not engaged_agency(user, station):
        return deny(_("贵机构未受学会部委托评价该服务站。"))
    return ALLOW


def can_override_block(user, _evaluation=None) -> Decision:
    """The department head (approver) lifts a 差 grade's funding block with a reason."""
    if not user.has_role("approver"):
        return deny(_("只有学会部负责人可以解除限制。"))
    return ALLOW
