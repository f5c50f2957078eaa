"""Evaluation and rectification item states (STATES.md) and their transition tables.

Evaluation (绩效评价委托): engaged → self_evaluating → evaluating → submitted →
accepted | returned. Rectification item: open → submitted → closed | reopened;
reopened → submitted.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.permissions import ALLOW, Decision, deny
from app.core.workflow import State, Transition, Workflow, labelled

KINDS = ("midterm", "acceptance", "follow_up")
KIND_LABELS = {
    "midterm": _l("中期评价"),
    "acceptance": _l("验收评价"),
    "follow_up": _l("跟踪评价"),
}
# Grades by the performance rubric's band labels (DOMAIN.md): 优 ≥90, 良 80–89, 中 60–79, 差 <60.
GRADES = ("excellent", "good", "fair", "poor")
GRADE_BY_BAND = {"优": "excellent", "良": "good", "中": "fair", "差": "poor"}
GRADE_LABELS = {
    "excellent": _l("优"),
    "good": _l("良"),
    "fair": _l("中"),
    "poor": _l("差"),
}
GRADE_ZH = {"excellent": "优", "good": "良", "fair": "中", "poor": "差"}
FAILING_GRADES = ("poor",)
# What the department decides to do about a failing grade, through the projects workflow.
FOLLOW_UPS = ("none", "rectify", "suspend")
FOLLOW_UP_LABELS = {
    "none": _l("不采取措施"),
    "rectify": _l("限期整改"),
    "suspend": _l("暂停（暂缓拨付）"),
}
SHEETS = ("self", "agency")
# Independence check outcomes and why a tie exists (the review conflict reasons, reused).
CHECK_SUBJECTS = ("agency", "evaluator")
CHECK_OUTCOMES = ("clear", "tie")


class EvaluationState(State):
    ENGAGED = "engaged"
    SELF_EVALUATING = "self_evaluating"
    EVALUATING = "evaluating"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


labelled(
    EvaluationState,
    {
        "engaged": (_l("已委托"), None),
        "self_evaluating": (_l("自评中"), None),
        "evaluating": (_l("评价中"), None),
        "submitted": (_l("已提交"), None),
        "accepted": (_l("已采纳"), None),
        "returned": (_l("退回"), None),
    },
)
# The third party has handed in its evaluation (submitted_at, total and grade set).
SUBMITTED_STATES = ("submitted", "accepted", "returned")
# The society has handed in its self-evaluation.
SELF_DONE_STATES = ("evaluating", "submitted", "accepted", "returned")


class RectificationState(State):
    OPEN = "open"
    SUBMITTED = "submitted"
    CLOSED = "closed"
    REOPENED = "reopened"


labelled(
    RectificationState,
    {
        "open": (_l("待整改"), None),
        "submitted": (_l("已提交整改"), None),
        "closed": (_l("已销号"), None),
        "reopened": (_l("重新整改"), None),
    },
)


def _department(user, _obj) -> Decision:
    if user is not None and user.has_role("officer", "approver"):
        return ALLOW
    return deny(_("只有学会部可以执行此操作。"))


def _officer(user, _obj) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以执行此操作。"))


def _society(user, evaluation) -> Decision:
    if (
        user is not None
        and user.has_role("applicant", "society_admin")
        and user.org_id == evaluation.project.society_id
    ):
        return ALLOW
    return deny(_("只有项目承担学会可以提交自评。"))


def _lead(user, evaluation) -> Decision:
    member = evaluation.engagement.member_for(user)
    if member is not None and member.is_lead and member.may_access:
        return ALLOW
    return deny(_("只有本次委托的牵头评价人员可以提交评价。"))


def _item_society(user, item) -> Decision:
    if (
        user is not None
        and user.has_role("applicant", "society_admin")
        and user.org_id == item.evaluation.project.society_id
    ):
        return ALLOW
    return deny(_("只有项目承担学会可以提交整改。"))


def _item_confirmer(user, item) -> Decision:
    """The agency's lead evaluator or the department confirms a rectification."""
    if user is not None and user.has_role("officer", "approver"):
        return ALLOW
    member = item.evaluation.engagement.member_for(user)
    if member is not None and member.is_lead and member.may_access:
        return ALLOW
    return deny(_("只有评价机构牵头人员或学会部可以确认整改。"))


def _evaluation_accepted(item) -> str | None:
    if str(item.evaluation.state) != "accepted":
        return _("评价报告被采纳后才能提交整改。")
    return None


def _has_evidence(item) -> str | None:
    return None if item.evidence_count > 0 else _("没有整改佐证材料，不能销号。")


EVALUATION_WORKFLOW = Workflow(
    "evaluation",
    EvaluationState,
    [
        Transition("request_self_evaluation", ("engaged",), "self_evaluating", _officer),
        Transition("submit_self_evaluation", ("self_evaluating",), "evaluating", _society),
        Transition("submit", ("evaluating",), "submitted", _lead),
        Transition("accept", ("submitted",), "accepted", _department),
        Transition("return", ("submitted",), "returned", _department, needs_reason=True),
    ],
)

RECTIFICATION_WORKFLOW = Workflow(
    "rectification",
    RectificationState,
    [
        Transition(
            "submit",
            ("open", "reopened"),
            "submitted",
            _item_society,
            guards=(_evaluation_accepted,),
        ),
        Transition("close", ("submitted",), "closed", _item_confirmer, guards=(_has_evidence,)),
        Transition("reopen", ("submitted",), "reopened", _item_confirmer, needs_reason=True),
    ],
)
