"""Who may download what the auditors download."""

from __future__ import annotations

from flask_babel import gettext as _

from app.core.permissions import ALLOW, Decision, deny, register_permissions

# audit.read (auditor, audit_admin) covers the trail and the bundle; finance also
# downloads the ledger sheets, so the downloads page needs this wider permission.
register_permissions({"audit.download": {"auditor", "audit_admin", "finance"}})

TRAIL_ROLES = ("auditor", "audit_admin")
LEDGER_ROLES = ("auditor", "audit_admin", "finance")


def can_download(user, kind: str) -> Decision:
    """The trail and the bundle are for audit; the ledger sheets for audit and finance."""
    roles = LEDGER_ROLES if kind in ("trial_balance", "register") else TRAIL_ROLES
    if not user.has_role(*roles):
        return deny(_("您无权下载此文件。"))
    return ALLOW


def can_fetch_bundle(user, job) -> Decision:
    """A finished bundle goes to whoever asked for it, or to any auditor."""
    if job.created_by_id == user.id and user.has_role(*TRAIL_ROLES):
        return ALLOW
    if user.has_role("auditor"):
        return ALLOW
    return deny(_("只有审计包的生成人或审计人员可以下载。"))
