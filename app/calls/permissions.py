"""Who may run funds and calls, and who sees which call. Each rule returns a Decision."""

from __future__ import annotations

from flask_babel import gettext as _

from app.calls.states import CallState
from app.core.permissions import ALLOW, Decision, deny, register_permissions

register_permissions(
    {
        "calls.manage": {"officer"},
        "calls.staff_read": {"officer", "approver", "finance", "auditor"},
        "funds.manage": {"officer", "finance"},
        "funds.appropriate": {"finance"},
        "societies.verify": {"officer"},
        "societies.staff": {"society_admin"},
    }
)
STAFF = ("officer", "approver", "finance", "auditor")


def can_view_call(user, call) -> Decision:
    """Everyone sees a published call; drafts only staff."""
    if call.state != CallState.DRAFT:
        return ALLOW
    if user is not None and user.is_authenticated and user.has_role(*STAFF):
        return ALLOW
    return deny(_("该申报批次尚未发布。"))


def can_edit_call(user, call) -> Decision:
    """Officers edit drafts freely; published rules change only by amendment."""
    if not (user is not None and user.has_role("officer")):
        return deny(_("只有学会部经办人可以编辑申报批次。"))
    if call is not None and call.state != CallState.DRAFT:
        return deny(_("已发布的申报批次只能通过变更公告修改。"))
    return ALLOW


def can_amend_call(user, call) -> Decision:
    """Officers amend a published call until its review starts."""
    if not user.has_role("officer"):
        return deny(_("只有学会部经办人可以变更申报批次。"))
    if call.state not in (CallState.PUBLISHED, CallState.OPEN, CallState.CLOSED):
        return deny(_("当前状态下不能变更申报规则。"))
    return ALLOW


def can_appropriate(user, fund) -> Decision:
    """Only finance records appropriations."""
    if not user.has_role("finance"):
        return deny(_("只有财务人员可以登记拨款。"))
    return ALLOW


def can_verify_society(user, org) -> Decision:
    """Officers verify self-registered societies."""
    if not user.has_role("officer"):
        return deny(_("只有学会部经办人可以审核学会注册。"))
    if org.kind != "society":
        return deny(_("只能审核省级学会。"))
    return ALLOW


def can_manage_staff(user, org) -> Decision:
    """A society's secretariat manages the accounts of its own society only."""
    if not user.has_role("society_admin") or user.org_id != getattr(org, "id", None):
        return deny(_("只能管理本学会的账号。"))
    if not user.org.is_verified:
        return deny(_("学会注册尚未通过审核。"))
    return ALLOW
