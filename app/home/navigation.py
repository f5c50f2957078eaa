"""Navigation entries per role: each module adds its own."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.permissions import has_permission

# (endpoint, label, permission), in menu order.
ENTRIES: list[tuple[str, object, str]] = [
    ("home.index", _l("工作台"), "authenticated"),
    ("home.notifications", _l("消息"), "authenticated"),
    ("accounts.list_users", _l("用户管理"), "users.manage"),
    ("accounts.list_orgs", _l("单位管理"), "orgs.manage"),
    ("accounts.security_users", _l("角色与会话"), "security.manage"),
    ("audit.events", _l("操作日志"), "audit.read"),
]


def add(endpoint: str, label, permission: str, *, before: str | None = None) -> None:
    """Add a menu entry (modules call this at import)."""
    entry = (endpoint, label, permission)
    if before:
        index = next((i for i, e in enumerate(ENTRIES) if e[0] == before), len(ENTRIES))
        ENTRIES.insert(index, entry)
    else:
        ENTRIES.append(entry)


def navigation_for(user) -> list[tuple[str, object]]:
    """The entries ``user`` may open."""
    return [(endpoint, label) for endpoint, label, perm in ENTRIES if has_permission(user, perm)]
