"""Award, objection, reconsideration, task agreement and amendment states (STATES.md)
and the one transition table of each."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.permissions import ALLOW, Decision, deny
from app.core.workflow import State, Transition, Workflow, labelled


class AwardState(State):
    PROPOSED = "proposed"
    APPROVED = "approved"
    IN_NOTICE = "in_notice"
    OBJECTION = "objection"
    CONFIRMED = "confirmed"
    REVOKED = "revoked"


labelled(
    AwardState,
    {
        "proposed": (_l("拟立项（待审批）"), None),
        "approved": (_l("已审批（待公示）"), None),
        "in_notice": (_l("公示中"), _l("公示中")),
        "objection": (_l("异议处理中"), _l("公示中")),
        "confirmed": (_l("已立项"), _l("已立项")),
        "revoked": (_l("已撤销"), _l("已撤销")),
    },
)
# The applicant sees nothing of an award before it is published.
UNPUBLISHED_AWARD_STATES = ("proposed", "approved")
# Past approval: the money is committed (approved_at, commit_transfer_id set). A
# revoked award may or may not have been approved (withdrawn while proposed).
APPROVED_STATES = ("approved", "in_notice", "objection", "confirmed")
# Published in a notice (notice_id set); a revoked award may or may not have been.
NOTICED_STATES = ("in_notice", "objection", "confirmed")
# Outcomes of an overturned reconsideration (改变原决定).
RECONSIDERATION_OUTCOMES = {
    "decision": _l("退回立项决定（由经办人重新拟定）"),
    "review": _l("退回评审（重新评审该申报书）"),
    "award": _l("直接拟立项（按复审决定的金额）"),
}


class ObjectionState(State):
    RECEIVED = "received"
    NOT_ACCEPTED = "not_accepted"
    ACCEPTED = "accepted"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


labelled(
    ObjectionState,
    {
        "received": (_l("已收到"), None),
        "not_accepted": (_l("不予受理"), None),
        "accepted": (_l("已受理"), None),
        "upheld": (_l("成立"), None),
        "dismissed": (_l("不成立"), None),
    },
)
OPEN_OBJECTION_STATES = ("received", "accepted")


class ReconsiderationState(State):
    SUBMITTED = "submitted"
    NOT_ACCEPTED = "not_accepted"
    UNDER_REVIEW = "under_review"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


labelled(
    ReconsiderationState,
    {
        "submitted": (_l("已申请"), None),
        "not_accepted": (_l("不予受理"), None),
        "under_review": (_l("复审中"), None),
        "upheld": (_l("维持原决定"), None),
        "overturned": (_l("改变原决定"), None),
    },
)
OPEN_RECONSIDERATION_STATES = ("submitted", "under_review")
# Grounds of a reconsideration; "academic" alone is not a ground [R].
GROUND_LABELS = {
    "procedure": _l("评审程序违反规定"),
    "conflict": _l("评审专家应回避而未回避"),
    "facts": _l("事实认定错误（材料被误读或遗漏）"),
    "academic": _l("对专家学术判断有不同意见"),
}


class AgreementState(State):
    DRAFTING = "drafting"
    AWAITING_SIGNATURE = "awaiting_signature"
    SIGNED = "signed"


labelled(
    AgreementState,
    {
        "drafting": (_l("拟定中"), None),
        "awaiting_signature": (_l("待签订"), None),
        "signed": (_l("已签订"), None),
    },
)


class AmendmentState(State):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


labelled(
    AmendmentState,
    {
        "draft": (_l("草稿"), None),
        "submitted": (_l("已提交"), None),
        "approved": (_l("已批准"), None),
        "rejected": (_l("未批准"), None),
    },
)


def _officer(user, _obj) -> Decision:
    if user is not None and user.has_role("officer"):
        return ALLOW
    return deny(_("只有学会部经办人可以执行此操作。"))


def _approver_not_preparer(user, obj) -> Decision:
    """The approver, never the officer who prepared it (four-eyes)."""
    if user is None or not user.has_role("approver"):
        return deny(_("只有学会部负责人可以审批。"))
    preparer = getattr(obj, "proposed_by_id", None) or getattr(obj, "created_by_id", None)
    if preparer == user.id:
        return deny(_("不能审批自己拟定的事项（双人复核）：请由另一位负责人审批。"))
    return ALLOW


def _approver(user, _obj) -> Decision:
    if user is not None and user.has_role("approver"):
        return ALLOW
    return deny(_("只有学会部负责人可以作出复审决定。"))


def _society_admin(user, agreement) -> Decision:
    if user is not None and user.has_role("society_admin") and user.org_id == agreement.society_id:
        return ALLOW
    return deny(_("只有项目承担学会的秘书处可以签订任务书。"))


AWARD_WORKFLOW = Workflow(
    "award",
    AwardState,
    [
        Transition("approve", ("proposed",), "approved", _approver_not_preparer),
        Transition("publish", ("approved",), "in_notice", _officer),
        # An accepted objection puts the award under objection (a cascade).
        Transition("object", ("in_notice",), "objection"),
        Transition("confirm", ("in_notice", "objection"), "confirmed", _officer),
        # An upheld objection revokes the award (a cascade).
        Transition("revoke", ("objection",), "revoked"),
        # Withdrawal (撤回) before publication: STATES.md has no "withdrawn" award
        # state, so a withdrawn award ends revoked (已撤销) without a notice. While
        # proposed the officer withdraws (no money moved); once approved the
        # approver does (DECOMMIT of the committed money).
        Transition("withdraw", ("proposed",), "revoked", _officer, needs_reason=True),
        Transition("withdraw_approved", ("approved",), "revoked", _approver, needs_reason=True),
    ],
)

OBJECTION_WORKFLOW = Workflow(
    "objection",
    ObjectionState,
    [
        Transition("not_accept", ("received",), "not_accepted", _officer, needs_reason=True),
        Transition("accept", ("received",), "accepted", _officer),
        Transition("uphold", ("accepted",), "upheld", _officer, needs_reason=True),
        Transition("dismiss", ("accepted",), "dismissed", _officer, needs_reason=True),
    ],
)

RECONSIDERATION_WORKFLOW = Workflow(
    "reconsideration",
    ReconsiderationState,
    [
        Transition("not_accept", ("submitted",), "not_accepted", _officer, needs_reason=True),
        Transition("accept", ("submitted",), "under_review", _officer),
        Transition("uphold", ("under_review",), "upheld", _approver, needs_reason=True),
        Transition("overturn", ("under_review",), "overturned", _approver, needs_reason=True),
    ],
)

AGREEMENT_WORKFLOW = Workflow(
    "task_agreement",
    AgreementState,
    [
        Transition("send", ("drafting",), "awaiting_signature", _officer),
        Transition("sign", ("awaiting_signature",), "signed", _society_admin),
    ],
)

AMENDMENT_WORKFLOW = Workflow(
    "agreement_amendment",
    AmendmentState,
    [
        Transition("submit", ("draft",), "submitted", _officer),
        Transition("approve", ("submitted",), "approved", _approver_not_preparer),
        Transition("reject", ("submitted",), "rejected", _approver_not_preparer, needs_reason=True),
    ],
)
