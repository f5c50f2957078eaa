"""Review assignment states (STATES.md) and the one transition table of an assignment.

invited → accepted | declined | recused; accepted → submitted → reopened → submitted.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.permissions import ALLOW, Decision, deny
from app.core.workflow import State, Transition, Workflow, labelled


class AssignmentState(State):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    RECUSED = "recused"
    SUBMITTED = "submitted"
    REOPENED = "reopened"


labelled(
    AssignmentState,
    {
        "invited": (_l("已通知"), None),
        "accepted": (_l("已接受（已声明无利益冲突）"), None),
        "declined": (_l("已谢绝"), None),
        "recused": (_l("已回避"), None),
        "submitted": (_l("已提交评分"), None),
        "reopened": (_l("退回重评"), None),
    },
)

# The expert has declared no conflict and may see the application.
DECLARED_STATES = ("accepted", "submitted", "reopened")
# The expert still owes a score sheet.
SCORING_STATES = ("accepted", "reopened")
# Out of the round: a replacement was (or is to be) invited.
LEFT_STATES = ("declined", "recused")
# Still counted against the application's k reviewers.
ACTIVE_STATES = ("invited", "accepted", "submitted", "reopened")

RELATION_KINDS = ("relative", "employment", "directorship", "collaboration")
RELATION_LABELS = {
    "relative": _l("近亲属"),
    "employment": _l("雇佣/任职"),
    "directorship": _l("董事/高管"),
    "collaboration": _l("合作关系"),
}
# Why an expert may not review an application (ConflictRecord.reason).
CONFLICT_REASONS = (
    "same_organisation",
    "co_government",
    "team_member",
    "own_application",
    "excluded_by_applicant",
    "relative",
    "employment",
    "directorship",
    "collaboration",
    "self_declared",
)
CONFLICT_LABELS = {
    "same_organisation": _l("与申报单位为同一单位"),
    "co_government": _l("与共建地方政府为同一单位"),
    "team_member": _l("与项目团队成员为同一单位"),
    "own_application": _l("本人所在单位在同一批次申报"),
    "excluded_by_applicant": _l("申报单位申请回避"),
    "relative": _l("近亲属关系"),
    "employment": _l("三年内雇佣/任职关系"),
    "directorship": _l("三年内董事/高管关系"),
    "collaboration": _l("近年合作关系"),
    "self_declared": _l("专家自行申报回避"),
}


def _the_expert(user, assignment) -> Decision:
    expert = assignment.expert
    if user is not None and user.has_role("reviewer") and expert.user_id == user.id:
        return ALLOW
    return deny(_("只有被邀请的专家本人可以执行此操作。"))


def _officer(user, _assignment) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以执行此操作。"))


ASSIGNMENT_WORKFLOW = Workflow(
    "review_assignment",
    AssignmentState,
    [
        Transition("accept", ("invited",), "accepted", _the_expert),
        Transition("decline", ("invited",), "declined", _the_expert),
        Transition("recuse", ("invited",), "recused", _the_expert, needs_reason=True),
        Transition("submit", ("accepted", "reopened"), "submitted", _the_expert),
        Transition("reopen", ("submitted",), "reopened", _officer, needs_reason=True),
    ],
)


# --- panel review (会议评审/答辩): the panel of a call and its meeting ---


class PanelState(State):
    FORMING = "forming"
    SCORING = "scoring"
    DISCUSSION = "discussion"
    SIGNING = "signing"
    CONCLUDED = "concluded"


labelled(
    PanelState,
    {
        "forming": (_l("组建中"), None),
        "scoring": (_l("独立评分中"), None),
        "discussion": (_l("评分已封存，讨论中"), None),
        "signing": (_l("意见签署中"), None),
        "concluded": (_l("会议评审完成"), None),
    },
)

PANEL_MODES = ("replace", "combine")
PANEL_MODE_LABELS = {
    "replace": _l("会评结果替代通讯评审得分"),
    "combine": _l("会评结果与通讯评审得分加权合成"),
}
PANEL_METHODS = ("score", "vote")
PANEL_METHOD_LABELS = {"score": _l("打分（0–100）"), "vote": _l("投票（赞成/反对/弃权）")}
ATTENDANCE = ("present", "half_day", "absent")
ATTENDANCE_LABELS = {"present": _l("全天出席"), "half_day": _l("半天出席"), "absent": _l("缺席")}
VOTES = ("support", "oppose", "abstain")
VOTE_LABELS = {"support": _l("赞成"), "oppose": _l("反对"), "abstain": _l("弃权")}
PANEL_MIN, PANEL_MAX = 5, 9


def _panel_officer(user, _panel) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以执行此操作。"))


def _officer_or_chair(user, panel) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    if (
        user is not None
        and user.has_role("reviewer")
        and any(m.is_chair and m.expert.user_id == user.id for m in panel.members)
    ):
        return ALLOW
    return deny(_("只有学会部经办人或评审组组长可以结束评分。"))


PANEL_WORKFLOW = Workflow(
    "review_panel",
    PanelState,
    [
        # Opening checks size, organisations and conflicts (operations.panel.open_panel).
        Transition("open", ("forming",), "scoring", _panel_officer),
        # Also applied by the system when every attending member has submitted.
        Transition("close_scoring", ("scoring",), "discussion", _officer_or_chair),
        Transition("propose_opinion", ("discussion",), "signing", _panel_officer),
        Transition("conclude", ("signing",), "concluded", _panel_officer),
    ],
)
