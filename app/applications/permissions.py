"""Who sees and does what with applications. Each rule returns a Decision with its reason.

A society sees only its own applications and files; a co-building government
those it co-builds (once submitted); officers, approvers and auditors all;
reviewers nothing here (the review module shows them what they are assigned).
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.applications.states import EDITABLE_STATES
from app.calls.states import CallState
from app.core.permissions import ALLOW, Decision, deny, register_permissions

register_permissions(
    {
        "applications.read": {
            "applicant",
            "society_admin",
            "local_partner",
            "officer",
            "approver",
            "auditor",
        },
        "applications.edit": {"applicant", "society_admin"},
        "applications.endorse": {"society_admin"},
        "applications.matching": {"local_partner"},
        "applications.check": {"officer"},
        "applications.export": {"officer", "approver", "auditor"},
    }
)
STAFF = ("officer", "approver", "auditor")
APPLICANT_KIND = {"project": "society", "pilot": "local_government"}


def can_view_application(user, app) -> Decision:
    """Staff see all; the applying organisation its own; the co-builder once submitted."""
    if user is None or not user.is_authenticated:
        return deny(_("请先登录。"))
    if user.has_role(*STAFF):
        return ALLOW
    if user.has_role("applicant", "society_admin") and user.org_id == app.society_id:
        return ALLOW
    if (
        user.has_role("local_partner")
        and app.co_government_id == user.org_id
        and app.state not in ("draft", "withdrawn")
    ):
        return ALLOW
    return deny(_("页面不存在，或您无权查看。"))


def can_see_all(user) -> bool:
    """Whether ``user`` lists every organisation's applications."""
    return user.has_role(*STAFF)


def can_create_application(user, call) -> Decision:
    """Staff of a verified, unbanned organisation of the call's kind, while drafts are open."""
    if not user.has_role("applicant", "society_admin"):
        return deny(_("只有申报单位的工作人员可以申报。"))
    org = user.org
    if org.kind != APPLICANT_KIND.get(call.kind):
        if call.kind == "pilot":
            return deny(_("试点批次由市县政府或科协申报。"))
        return deny(_("本批次由省级学会申报。"))
    if not org.is_verified:
        return deny(_("贵单位的注册尚未通过审核，暂不能申报。"))
    if org.is_banned():
        return deny(
            _(
                "贵单位处于限制申报期（至 %(date)s），原因：%(reason)s",
                date=org.banned_until.isoformat(),
                reason=org.ban_reason or "",
            )
        )
    if call.state not in (CallState.PUBLISHED, CallState.OPEN):
        return deny(_("该批次当前不接受申报。"))
    return ALLOW


def can_edit_application(user, app) -> Decision:
    """The applying organisation's staff edit a draft or a returned application."""
    if not (user.has_role("applicant", "society_admin") and user.org_id == app.society_id):
        return deny(_("只有本单位的申报人员可以修改申报书。"))
    if app.state not in EDITABLE_STATES:
        return deny(_("申报书已提交，不能修改。"))
    return ALLOW


def can_confirm_matching(user, app) -> Decision:
    """A local partner of the co-building government confirms the matching commitment."""
    if not user.has_role("local_partner") or user.org_id != app.co_government_id:
        return deny(_("只有共建地方政府（科协）可以确认配套资金。"))
    if not app.call.matching_required:
        return deny(_("本批次不要求地方配套资金。"))
    if app.state not in ("submitted", "endorsed"):
        return deny(_("当前状态下不能确认配套资金。"))
    return ALLOW


def can_check(user, _app=None) -> Decision:
    """Officers run the eligibility check and the duplicate check."""
    if not user.has_role("officer"):
        return deny(_("只有学会部经办人可以进行形式审查。"))
    return ALLOW


def can_view_duplicates(user, _app=None) -> Decision:
    """Duplicate-check results are for staff only, never for applicants."""
    if not user.has_role(*STAFF):
        return deny(_("查重结果仅供学会部查看。"))
    return ALLOW


def can_export(user, _call=None) -> Decision:
    """Officers, approvers and auditors download the call's sheets."""
    if not user.has_role(*STAFF):
        return deny(_("您没有下载此表格的权限。"))
    return ALLOW
