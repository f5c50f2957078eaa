"""Who and where, for the audit writer, without touching ``request``.

A ``before_request`` hook fills it for web requests; CLI commands and tests
use ``audit_context(...)``. Operations stay free of request objects.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None = None
    actor_role: str | None = None
    org_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


_current: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "audit_context",
    default=AuditContext(user_agent="cli", request_id=None),  # noqa: B039 - frozen, so safe to share
)


def current() -> AuditContext:
    """The context of the running request or command."""
    return _current.get()


def set_context(ctx: AuditContext):
    """Replace the context; returns a token for ``reset``."""
    return _current.set(ctx)


def reset(token) -> None:
    """Restore the context that ``set_context`` replaced."""
    _current.reset(token)


def update(**fields) -> None:
    """Change some fields of the current context (e.g. after login)."""
    _current.set(replace(_current.get(), **fields))


def new_request_id() -> str:
    """A short random id that ties together a request's events."""
    return uuid.uuid4().hex[:16]


@contextlib.contextmanager
def audit_context(**fields):
    """Run a block (CLI command, test, job) with its own who and where."""
    fields.setdefault("user_agent", "cli")
    fields.setdefault("request_id", new_request_id())
    token = _current.set(AuditContext(**fields))
    try:
        yield
    finally:
        _current.reset(token)
