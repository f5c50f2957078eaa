"""One transition table and one entry point per state machine.

A module's ``states.py`` declares its states (with staff and applicant
labels) and a ``Workflow`` of transitions; ``workflow.apply(obj, action,
actor=…)`` is the only way its state changes: it checks the source state,
the permission and the guards, sets the state and writes the audit event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _

from app.audit import trail
from app.core.ddl import sql_list
from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.core.permissions import Decision


class State(StrEnum):
    """A state value; subclasses give ``LABELS = {value: (staff, applicant)}``."""

    @property
    def label(self) -> str:
        return str(self.labels()[self.value][0])

    @property
    def applicant_label(self) -> str:
        staff, applicant = self.labels()[self.value]
        return str(applicant if applicant is not None else staff)

    @classmethod
    def labels(cls) -> dict:
        return cls._labels  # type: ignore[attr-defined]

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)

    @classmethod
    def check_sql(cls, column: str = "state") -> str:
        """SQL for a CHECK constraint that only these values are stored."""
        return f"{column} IN {sql_list(cls.values())}"


def labelled(enum_cls, labels: dict):
    """Attach (staff, applicant) labels to a State enum; returns the enum."""
    enum_cls._labels = labels
    return enum_cls


Guard = Callable[[object], str | None]  # returns the reason it fails, or None
Rule = Callable[[object, object], Decision]  # (user, obj) -> Decision


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    rule: Rule | None = None  # None: only the system (clock, cascade) may do it
    guards: tuple[Guard, ...] = ()
    needs_reason: bool = False


class Workflow:
    """The transition table of one entity."""

    def __init__(self, entity_type: str, state_enum: type, transitions: Iterable[Transition]):
        self.entity_type = entity_type
        self.state_enum = state_enum
        self.transitions = {t.action: t for t in transitions}
        for t in self.transitions.values():
            for value in (*t.sources, t.target):
                state_enum(value)  # a typo in a table fails at import, not in production

    def can(self, obj, action: str, user) -> Decision:
        """Whether ``user`` may do ``action`` on ``obj`` now, with the reason if not."""
        t = self.transitions.get(action)
        if t is None or str(obj.state) not in t.sources:
            return Decision(False, _("当前状态下不能执行此操作。"))
        if t.rule is None:
            return Decision(False, _("此操作由系统自动执行。"))
        decision = t.rule(user, obj)
        if not decision:
            return decision
        for guard in t.guards:
            reason = guard(obj)
            if reason:
                return Decision(False, reason)
        return decision

    def available(self, obj, user) -> list[str]:
        """Actions ``user`` may take on ``obj`` now (for buttons)."""
        return [a for a in self.transitions if self.can(obj, a, user)]

    def apply(
        self,
        obj,
        action: str,
        *,
        actor=None,
        reason: str | None = None,
        role: str | None = None,
        after: dict | None = None,
        system: bool = False,
    ):
        """Move ``obj`` by ``action``; returns the audit event.

        Raises ``InvalidTransition`` from a wrong state, ``NotAllowed`` when the
        actor's permission or a guard refuses, ``ValidationFailed`` when a
        reason is required and missing. ``system=True`` is for the clock and
        for cascades decided by another, already checked, transition.
        """
        t = self.transitions.get(action)
        current = str(obj.state)
        if t is None or current not in t.sources:
            label = self.state_enum(current).label
            raise InvalidTransition(_("当前状态“%(state)s”下不能执行此操作。", state=label))
        if not system:
            if t.rule is None:
                raise NotAllowed(_("此操作由系统自动执行。"))
            decision = t.rule(actor, obj)
            if not decision:
                raise NotAllowed(decision.reason or _("您没有执行此操作的权限。"))
        for guard in t.guards:
            failure = guard(obj)
            if failure:
                raise NotAllowed(failure)
        if t.needs_reason and not (reason and reason.strip()):
            raise ValidationFailed(_("请填写理由。"), field="reason")
        obj.state = self.state_enum(t.target)
        payload = {"state": t.target, **(after or {})}
        return trail.record(
            f"{self.entity_type}.{action}",
            self.entity_type,
            obj.id,
            actor=actor,
            role=role,
            before={"state": current},
            after=payload,
            reason=reason,
        )
