"""Station and need states (STATES.md), their transition tables, and the fixed
vocabularies of the module (need kinds, urgency, evaluation grades)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.permissions import ALLOW, Decision, deny
from app.core.workflow import State, Transition, Workflow, labelled


class StationState(State):
    PLANNED = "planned"
    ESTABLISHED = "established"
    OPERATING = "operating"
    BASE = "base"
    SUSPENDED = "suspended"
    CLOSED = "closed"


labelled(
    StationState,
    {
        "planned": (_l("筹建中"), None),
        "established": (_l("已建立"), None),
        "operating": (_l("运行中"), None),
        "base": (_l("示范基地"), None),
        "suspended": (_l("暂停"), None),
        "closed": (_l("已撤销"), None),
    },
)
# A station "supports" its park from establishment until it is closed (dashboard).
ACTIVE_STATION_STATES = ("established", "operating", "base", "suspended")


class NeedState(State):
    POSTED = "posted"
    SCREENED = "screened"
    NOT_ACCEPTED = "not_accepted"
    MATCHED = "matched"
    IN_PROGRESS = "in_progress"
    SOLVED = "solved"
    CLOSED = "closed"


labelled(
    NeedState,
    {
        "posted": (_l("已发布"), None),
        "screened": (_l("已审核"), None),
        "not_accepted": (_l("不予受理"), None),
        "matched": (_l("已对接"), None),
        "in_progress": (_l("实施中"), None),
        "solved": (_l("已解决"), None),
        "closed": (_l("已关闭"), None),
    },
)
# States in which a need is linked to the project that serves it (project_id set).
MATCHED_STATES = ("matched", "in_progress", "solved", "closed")
SOLVED_STATES = ("solved", "closed")

NEED_KINDS = {
    "strategy": _l("发展战略与规划咨询"),
    "tech_route": _l("技术路线设计"),
    "key_tech": _l("关键共性技术难题"),
    "talent": _l("人才引进"),
    "training": _l("技术培训"),
    "outreach": _l("科普服务"),
}
URGENCIES = {
    "low": _l("一般"),
    "normal": _l("较急"),
    "high": _l("紧急"),
}
# Evaluation grades: the rubric's bands (优/良/中/差) stored by a stable key.
GRADES = {"优": "excellent", "良": "good", "中": "fair", "差": "poor"}
GRADE_LABELS = {
    "excellent": _l("优"),
    "good": _l("良"),
    "fair": _l("中"),
    "poor": _l("差"),
}
# Default checklist a station must evidence to become a demonstration base (示范基地);
# override with the STATION_BASE_CRITERIA config key: [(key, 中文, English), …].
DEFAULT_BASE_CRITERIA = (
    ("premises", "有固定办公场所和必要设施", "Permanent premises and facilities"),
    ("staff", "有专职工作人员", "Dedicated staff"),
    ("rules", "管理制度健全并落实", "Management rules in force"),
    ("experts", "首席科技专家和专家团队进站服务", "Chief expert and team stationed"),
    ("results", "取得标志性服务成果", "Landmark service results"),
    ("evaluation", "最近一次绩效评价为良及以上", "Latest evaluation good or better"),
)


# --- rules: who moves a station or a need -------------------------------------------------


def _department(user, _obj=None) -> Decision:
    if user is not None and user.has_role("officer", "approver"):
        return ALLOW
    return deny(_("只有学会部可以执行此操作。"))


def _officer(user, _obj=None) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以执行此操作。"))


def _screener(user, need) -> Decision:
    """The department, or staff of the lead society of the need's station."""
    if user is None:
        return deny(_("请先登录。"))
    if user.has_role("officer"):
        return ALLOW
    if user.has_role("applicant", "society_admin") and user.org_id == need.station.society_id:
        return ALLOW
    return deny(_("只有学会部或服务站牵头学会可以处理需求。"))


def _requester(user, need) -> Decision:
    """The organisation that posted the need (or an officer on its behalf)."""
    if user is None:
        return deny(_("请先登录。"))
    if user.has_role("officer") or user.org_id == need.org_id:
        return ALLOW
    return deny(_("只有需求发布单位可以关闭需求并评价。"))


def _agreement_signed(station) -> str | None:
    if station.agreement_file_id is None:
        return _("请先上传牵头学会与地方政府签订的合作协议。")
    if station.society_confirmed_at is None or station.government_confirmed_at is None:
        return _("合作协议须经牵头学会和共建政府双方确认。")
    return None


def _ready_to_operate(station) -> str | None:
    if station.rules_file_id is None or station.plan_file_id is None:
        return _("请先上传服务站管理办法和年度工作计划。")
    if not (station.chief_expert or {}).get("name"):
        return _("请先确定首席科技专家。")
    return None


STATION_WORKFLOW = Workflow(
    "station",
    StationState,
    [
        Transition("establish", ("planned",), "established", _officer, (_agreement_signed,)),
        Transition("start", ("established",), "operating", _officer, (_ready_to_operate,)),
        # Becoming a base is checked by confirm_base (the evidence of every criterion).
        Transition("confirm_base", ("operating",), "base", _department),
        Transition("suspend", ("operating", "base"), "suspended", _officer, needs_reason=True),
        Transition("resume", ("suspended",), "operating", _officer),
        Transition(
            "close",
            ("planned", "established", "operating", "base", "suspended"),
            "closed",
            _department,
            needs_reason=True,
        ),
    ],
)

NEED_WORKFLOW = Workflow(
    "need",
    NeedState,
    [
        Transition("screen", ("posted",), "screened", _screener),
        Transition("not_accept", ("posted",), "not_accepted", _screener, needs_reason=True),
        # The project link is set by match_need before this transition.
        Transition("match", ("screened",), "matched", _screener),
        Transition("start", ("matched",), "in_progress", _screener),
        Transition("solve", ("in_progress",), "solved", _screener),
        Transition("close", ("solved",), "closed", _requester),
    ],
)
