"""Roles, permission declarations and decisions.

Every view declares the permission it needs with ``@requires(name)``; a
``before_request`` hook denies by default. Object-level rules are
``can_<verb>(user, obj) -> Decision`` functions in each module's
``permissions.py``, used by views and templates alike.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = (
    "applicant",
    "society_admin",
    "local_partner",
    "officer",
    "approver",
    "reviewer",
    "evaluator",
    "finance",
    "auditor",
    "admin",
    "security_admin",
    "audit_admin",
    "enterprise",
)
# 三员分立: these three are held by different people.
EXCLUSIVE_ROLES = frozenset({"admin", "security_admin", "audit_admin"})

PUBLIC = "public"
AUTHENTICATED = "authenticated"

# One table: permission → roles that hold it. Object rules narrow it further.
PERMISSIONS: dict[str, frozenset[str]] = {
    "users.manage": frozenset({"admin"}),
    "orgs.manage": frozenset({"admin", "officer"}),
    "security.manage": frozenset({"security_admin"}),
    "audit.read": frozenset({"auditor", "audit_admin"}),
    "jobs.read": frozenset(ROLES),
}


def register_permissions(table: dict[str, set[str] | frozenset[str]]) -> None:
    """Add a module's permissions to the one table (call from its permissions.py)."""
    for name, roles in table.items():
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise KeyError(f"unknown roles {unknown} for permission {name!r}")
        PERMISSIONS[name] = frozenset(roles)


@dataclass(frozen=True)
class Decision:
    """Whether something is allowed, and why not when it is not."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def deny(reason: str) -> Decision:
    """A refusal with its reason (already translated)."""
    return Decision(False, reason)


def requires(name: str):
    """Declare the permission a view needs; undeclared views are refused."""
    if name not in (PUBLIC, AUTHENTICATED) and name not in PERMISSIONS:
        raise KeyError(f"unknown permission {name!r}")

    def decorate(view):
        view.permission = name
        return view

    return decorate


def roles_for(name: str) -> frozenset[str]:
    """Roles that hold permission ``name``."""
    return PERMISSIONS.get(name, frozenset())


def has_permission(user, name: str) -> bool:
    """Whether ``user`` (maybe anonymous) holds permission ``name``."""
    if name == PUBLIC:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    if name == AUTHENTICATED:
        return True
    return bool(set(user.role_names) & roles_for(name))
