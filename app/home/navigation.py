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


# --- grouped menu (issue 11: the staff menu wrapped at 1280 px) ---
# Secondary entries fold into these drop-down menus when a user has many entries; the
# daily ones stay visible. A user with at most FLAT_MAX entries sees them all flat.
FLAT_MAX = 10
MENU_GROUPS: dict[str, object] = {
    "calls.list_funds": _l("资金"),
    "ledger.trial_balance": _l("资金"),
    "ledger.appropriate": _l("资金"),
    "projects.finance": _l("资金"),
    "projects.import_payments": _l("资金"),
    "accounts.list_users": _l("管理"),
    "accounts.list_orgs": _l("管理"),
    "accounts.security_users": _l("管理"),
    "audit.events": _l("管理"),
    "audit.list_downloads": _l("管理"),
    "calls.manage_calls": _l("管理"),
    "societies.staff": _l("管理"),
    "reviews.list_experts": _l("管理"),
    "stations.list_needs": _l("管理"),
    "stations.dashboard": _l("管理"),
}


def menu_for(user) -> list[tuple[str, object, object]]:
    """The header menu of ``user``: ``("link", endpoint, label)`` items and
    ``("menu", label, [(endpoint, label), ...])`` drop-downs (after the links)."""
    entries = navigation_for(user)
    if len(entries) <= FLAT_MAX:
        return [("link", endpoint, label) for endpoint, label in entries]
    links, menus = [], {}
    for endpoint, label in entries:
        group = MENU_GROUPS.get(endpoint)
        if group is None:
            links.append(("link", endpoint, label))
        else:
            menus.setdefault(str(group), (group, []))[1].append((endpoint, label))
    return links + [("menu", group, items) for group, items in menus.values()]
