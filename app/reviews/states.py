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
