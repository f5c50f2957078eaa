"""Who may manage whom. Each rule returns a Decision with its reason."""

from __future__ import annotations

from flask_babel import gettext as _

from app.core.permissions import ALLOW, EXCLUSIVE_ROLES, Decision, deny


def can_manage_users(user, target=None) -> Decision:
    """Admins create, disable and enable accounts (not their own)."""
    if not user.has_role("admin"):
        return deny(_("只有系统管理员可以管理用户。"))
    if target is not None and target.id == user.id:
        return deny(_("不能停用或修改自己的账号。"))
    return ALLOW


def can_assign_roles(user, target, roles) -> Decision:
    """Security admins assign roles; admins only the ordinary ones, at creation."""
    if target is not None and target.id == user.id:
        return deny(_("不能修改自己的角色。"))
    if user.has_role("security_admin"):
        return ALLOW
    if user.has_role("admin") and not (set(roles) & (EXCLUSIVE_ROLES | {"auditor"})):
        return ALLOW
    return deny(_("三员分立：该角色只能由安全保密管理员分配。"))


def can_manage_sessions(user, target) -> Decision:
    """Security admins unlock accounts and end sessions."""
    if not user.has_role("security_admin"):
        return deny(_("只有安全保密管理员可以管理会话和锁定。"))
    return ALLOW


def check_role_set(roles) -> str | None:
    """三员分立: a user holds at most one of admin, security_admin, audit_admin."""
    if len(set(roles) & EXCLUSIVE_ROLES) > 1:
        return _("三员分立：系统管理员、安全保密管理员和安全审计员必须由不同人员担任。")
    return None
