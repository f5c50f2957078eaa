"""Who sees and does what with awards, objections, reconsiderations and agreements.

Each rule returns a Decision with its reason; views and templates use the same ones.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.core.permissions import ALLOW, Decision, deny, register_permissions

register_permissions(
    {
        "awards.read": {"officer", "approver", "auditor"},
        "awards.propose": {"officer"},
        "awards.approve": {"approver"},
        "awards.export": {"officer", "approver", "auditor"},
        "awards.outcome": {"applicant", "society_admin"},
        "awards.reconsider": {"applicant", "society_admin"},
        "awards.handle": {"officer", "approver"},
        # Withdrawal before publication: the officer while proposed, the approver once
        # approved (the transition table in states.py decides which).
        "awards.withdraw": {"officer", "approver"},
        "agreements.read": {"officer", "approver", "auditor", "applicant", "society_admin"},
        "agreements.edit": {"officer", "approver"},
        "agreements.sign": {"society_admin"},
    }
)
STAFF = ("officer", "approver", "auditor")


def can_propose(user, call) -> Decision:
    """Officers propose awards and not-funded decisions while the call is in review."""
    if user is None or not user.has_role("officer"):
        return deny(_("只有学会部经办人可以拟定立项建议。"))
    return ALLOW


def can_approve(user, award) -> Decision:
    """An approver approves, never the officer who proposed (four-eyes)."""
    if user is None or not user.has_role("approver"):
        return deny(_("只有学会部负责人可以审批立项。"))
    if award is not None and award.proposed_by_id == user.id:
        return deny(_("不能审批自己拟定的立项建议（双人复核）：请由另一位负责人审批。"))
    return ALLOW


def can_view_staff(user) -> Decision:
    """Staff pages of the award decision."""
    if user is None or not user.has_role(*STAFF):
        return deny(_("页面不存在，或您无权查看。"))
    return ALLOW


def can_view_outcome(user, application) -> Decision:
    """The applying society sees its own application's outcome."""
    if user is None or not getattr(user, "is_authenticated", False):
        return deny(_("请先登录。"))
    if user.has_role(*STAFF):
        return ALLOW
    if user.has_role("applicant", "society_admin") and user.org_id == application.society_id:
        return ALLOW
    return deny(_("页面不存在，或您无权查看。"))


def can_request_reconsideration(user, application) -> Decision:
    """The applying society's staff ask for reconsideration of a not-funded decision."""
    if not (user.has_role("applicant", "society_admin") and user.org_id == application.society_id):
        return deny(_("只有本学会的申报人员可以申请复审。"))
    if application.state != "not_funded":
        return deny(_("只有未立项的申报可以申请复审。"))
    return ALLOW


def can_view_agreement(user, agreement) -> Decision:
    """Staff see every agreement; a society its own."""
    if user is None or not getattr(user, "is_authenticated", False):
        return deny(_("请先登录。"))
    if user.has_role(*STAFF):
        return ALLOW
    if user.has_role("applicant", "society_admin") and user.org_id == agreement.society_id:
        return ALLOW
    return deny(_("页面不存在，或您无权查看。"))


def can_edit_agreement(user, agreement) -> Decision:
    """The officer edits an agreement only while it is being drafted."""
    if user is None or not user.has_role("officer"):
        return deny(_("只有学会部经办人可以修改任务书。"))
    if agreement.state != "drafting":
        return deny(_("任务书已发送或已签订，不能再修改；签订后的变更请通过补充任务书。"))
    return ALLOW
