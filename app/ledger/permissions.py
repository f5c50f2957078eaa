"""Who may move and read the fund's money."""

from __future__ import annotations

from flask_babel import gettext as _

from app.core.permissions import ALLOW, Decision, deny, register_permissions

register_permissions(
    {
        "ledger.appropriate": {"finance"},
        "ledger.read": {"finance", "auditor", "officer", "approver"},
        "ledger.export": {"finance", "auditor"},
    }
)


def can_appropriate(user, fund_id=None) -> Decision:
    """Finance appropriates money to a fund."""
    if not user.has_role("finance"):
        return deny(_("只有财务人员可以拨付资金。"))
    return ALLOW


def can_read_ledger(user, obj=None) -> Decision:
    """Finance, audit, officers and approvers read the ledger."""
    if not user.has_role("finance", "auditor", "officer", "approver"):
        return deny(_("无权查看资金账簿。"))
    return ALLOW


def can_export_ledger(user, obj=None) -> Decision:
    """Finance and auditors download the ledger."""
    if not user.has_role("finance", "auditor"):
        return deny(_("只有财务和审计人员可以下载资金账簿。"))
    return ALLOW
