"""Replacing a reviewer who declines or recuses, without disturbing the others."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from app.reviews.assignment.draw import _org_key
from app.reviews.assignment.types import (
    DrawResult,
    InfeasibleAssignment,
    Reason,
    Replacement,
    _norm_conflicts,
)


def replace_reviewer(
    current: DrawResult | Mapping[int, Sequence[int]],
    application_id: int,
    expert_id: int,
    reserve: Sequence[int] | None = None,
    conflicts: Mapping[tuple[int, int], str] | Iterable[Sequence[Any]] = (),
    loads: Mapping[int, int] | None = None,
    *,
    expert_orgs: Mapping[int, int | None] | None = None,
    application_orgs: Collection[int] | None = None,
) -> Replacement:
    """Replace one reviewer by the first eligible reserve expert, touching nothing else.

    Args:
        current: a DrawResult, or the current ``{application_id: [expert_id, ...]}``.
        application_id, expert_id: the reviewer who declined or was recused.
        reserve: ranked reserve ids for this application (default: the result's).
        conflicts: recusals known now, in any form :func:`draw_reviewers` accepts.
        loads: ``expert_id -> remaining capacity`` (how many more reviews the
            expert may take now); default from a DrawResult: cap minus drawn load.
        expert_orgs: ``expert_id -> org id``; default from a DrawResult.
        application_orgs: the application's applicant and partner org ids.

    Returns Replacement: the new reviewer in the removed one's position, the reserve
    without the chosen expert, the skipped experts with why. Chain replacements by
    passing its plain data back. Raises InfeasibleAssignment (``not_assigned``,
    ``reserve_exhausted``); ValueError when org data or loads are missing.
    """
    result = current if isinstance(current, DrawResult) else None
    assignments = result.assignments if result else current
    if result:
        reserve = result.reserves.get(application_id, ()) if reserve is None else reserve
        if loads is None:
            loads = {x: c - result.loads.get(x, 0) for x, c in result.capacities.items()}
        expert_orgs = result.expert_orgs if expert_orgs is None else expert_orgs
        if application_orgs is None:
            application_orgs = result.application_orgs.get(application_id, frozenset())
    if expert_orgs is None or application_orgs is None or loads is None:
        raise ValueError("expert_orgs, application_orgs and loads are required")
    reviewers = tuple(assignments.get(application_id, ()))
    if expert_id not in reviewers:
        raise InfeasibleAssignment(
            [Reason("not_assigned", application_id, {"expert_id": expert_id})]
        )
    conf = _norm_conflicts(conflicts)
    stay = [x for x in reviewers if x != expert_id]
    taken = {_org_key(x, expert_orgs.get(x)) for x in stay}
    skipped: list[tuple[int, str]] = []
    new = None
    for x in reserve or ():
        org = expert_orgs.get(x)
        if x in stay or x == expert_id:
            why = "already_assigned"
        elif org is not None and org in application_orgs:
            why = "same_organisation"
        elif (application_id, x) in conf:
            why = conf[(application_id, x)]
        elif loads.get(x, 0) <= 0:
            why = "no_load_left"
        elif _org_key(x, org) in taken:
            why = "organisation_taken"
        else:
            new = x
            break
        skipped.append((x, why))
    if new is None:
        p = {"expert_id": expert_id}
        raise InfeasibleAssignment([Reason("reserve_exhausted", application_id, p)])
    now = tuple(new if x == expert_id else x for x in reviewers)
    new_assignments = {**assignments, application_id: now}
    new_loads = {**loads, new: loads.get(new, 0) - 1, expert_id: loads.get(expert_id, 0) + 1}
    return Replacement(
        application_id=application_id,
        removed_expert_id=expert_id,
        expert_id=new,
        reviewers=now,
        assignments=MappingProxyType(new_assignments),
        reserve=tuple(x for x in reserve or () if x != new),
        skipped=tuple(skipped),
        loads=MappingProxyType(new_loads),
    )
