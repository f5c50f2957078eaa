"""The draw itself: eligibility, then the min-cost flow solve."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from app.reviews.assignment.types import (
    ApplicationInput,
    DrawParams,
    DrawResult,
    ExpertInput,
    InfeasibleAssignment,
    Reason,
    _norm_conflicts,
    input_hash,
)


def _org_key(expert_id: int, org_id: int | None) -> tuple[int, Any]:
    """An expert without an organisation is an organisation of their own."""
    return (1, org_id) if org_id is not None else (0, expert_id)


def _eligibility(apps, experts, k, conflicts, caps, params):
    """Per application: eligible expert ids (sorted), recusals, and pre-solve reasons."""
    by_field: dict[str, list[int]] = {}
    for e in experts.values():
        if e.is_active:
            for f in e.fields:
                by_field.setdefault(f, []).append(e.id)
    active = sorted(e.id for e in experts.values() if e.is_active)
    eligible: dict[int, list[int]] = {}
    excluded: dict[int, tuple[tuple[int, str], ...]] = {}
    reasons: list[Reason] = []
    for a in apps:
        pool = sorted({x for f in a.fields for x in by_field.get(f, ())})
        for attempt in range(2):
            ok, out = [], []
            for x in pool:
                org = experts[x].org_id
                if org is not None and org in a.org_ids:
                    out.append((x, "same_organisation"))
                elif (a.id, x) in conflicts:
                    out.append((x, conflicts[(a.id, x)]))
                elif caps[x] <= 0:
                    out.append((x, "no_load_left"))
                else:
                    ok.append(x)
            if len(ok) >= k or params.fallback != "any_field" or attempt:
                break
            pool = active  # widen once: field match becomes a preference only
        eligible[a.id], excluded[a.id] = ok, tuple(out)
        n_orgs = len({_org_key(x, experts[x].org_id) for x in ok})
        if len(ok) < k:
            p = {"available": len(ok), "required": k}
            reasons.append(Reason("too_few_candidates", a.id, p))
        elif n_orgs < k:
            p = {"available": n_orgs, "required": k}
            reasons.append(Reason("too_few_organisations", a.id, p))
    return eligible, excluded, reasons


def _solve(pa, pe, po, scores, k, n_apps, unit_arcs, penalty):
    """Min-cost flow over the eligible pairs; returns (optimal?, pair chosen mask, cost).

    Nodes: 0 sink, then applications, experts, and one node per (application,
    organisation) with two or more candidates. When the exact problem is
    infeasible the mask is that of a maximum flow, to name the short applications.
    """
    if not len(pa):
        return True, np.zeros(0, dtype=bool), 0
    n_exp, width = len(unit_arcs), int(po.max()) + 1
    groups, inv, counts = np.unique(pa * width + po, return_inverse=True, return_counts=True)
    multi = counts > 1
    group_node = np.full(len(groups), -1, dtype=np.int64)
    group_node[multi] = 1 + n_apps + n_exp + np.arange(int(multi.sum()))
    n_nodes = 1 + n_apps + n_exp + int(multi.sum())
    # Expert i gets unit_arcs[i] unit arcs to the sink costing penalty * (0, 1, 2, ...).
    owner = np.repeat(np.arange(n_exp), unit_arcs)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(unit_arcs) - unit_arcs, unit_arcs)
    n_group_arcs = int(multi.sum())
    tails = np.concatenate(
        [
            1 + groups[multi] // width,
            np.where(multi[inv], group_node[inv], 1 + pa),
            1 + n_apps + owner,
        ]
    )
    heads = np.concatenate(
        [group_node[multi], 1 + n_apps + pe, np.zeros(len(owner), dtype=np.int64)]
    )
    costs = np.concatenate([np.zeros(n_group_arcs, dtype=np.int64), -scores, penalty * rank])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), np.ones(len(tails), np.int64), costs
    )
    supplies = np.zeros(n_nodes, dtype=np.int64)
    supplies[0] = -n_apps * k
    supplies[1 : 1 + n_apps] = k
    flow.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), supplies)
    pair_arcs = n_group_arcs + np.arange(len(pa), dtype=np.int64)
    if flow.solve() == flow.OPTIMAL:
        return True, flow.flows(pair_arcs) > 0, int(flow.optimal_cost())
    flow.solve_max_flow_with_min_cost()
    return False, flow.flows(pair_arcs) > 0, 0


def draw_reviewers(
    applications: Iterable[ApplicationInput],
    experts: Iterable[ExpertInput],
    k: int,
    *,
    seed: int,
    conflicts: Mapping[tuple[int, int], str] | Iterable[Sequence[Any]] = (),
    max_load: int | None = None,
    params: DrawParams | None = None,
    reserve_size: int | None = None,
) -> DrawResult:
    """Draw ``k`` reviewers for every application at random, weighted by affinity.

    Args:
        applications, experts: the inputs; inactive or fully loaded experts are skipped.
        k: reviewers per application.
        seed: seed of the random perturbation; record it with the draw.
        conflicts: caller-computed recusals, ``{(application_id, expert_id): reason}``
            or ``(application_id, expert_id[, reason])`` tuples; same-organisation
            conflicts (expert org in the application's org ids) are added here.
        max_load: cap on reviews per expert in this draw, on top of remaining_load.
        params: weights and fallback policy (DrawParams).
        reserve_size: keep at most this many reserve experts per application.

    Returns DrawResult; same inputs and seed give the identical result in any input
    order. Raises InfeasibleAssignment with one Reason per short application (and
    ``capacity_short``) before solving, or ``no_feasible_combination`` when load
    limits make the set impossible; ValueError when k < 1.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    params = params or DrawParams()
    apps = sorted(applications, key=lambda a: a.id)
    pool = {e.id: e for e in experts}
    conf = _norm_conflicts(conflicts)
    cap_limit = max_load if max_load is not None else 1 << 30
    caps = {x: max(0, min(e.remaining_load, cap_limit)) for x, e in pool.items()}
    digest = input_hash(apps, pool.values(), k, conf, max_load, params)
    eligible, excluded, reasons = _eligibility(apps, pool, k, conf, caps, params)

    demand = len(apps) * k
    wanted: dict[int, int] = {}
    for ok in eligible.values():
        for x in ok:
            wanted[x] = wanted.get(x, 0) + 1
    capacity = sum(min(caps[x], n) for x, n in wanted.items())
    if capacity < demand:
        reasons.append(Reason("capacity_short", None, {"capacity": capacity, "demand": demand}))
    if reasons:
        raise InfeasibleAssignment(reasons)

    # Pair scores in a canonical order so the seed alone fixes the perturbation.
    used = sorted(wanted)
    e_idx = {x: i for i, x in enumerate(used)}
    org_idx: dict[tuple[int, Any], int] = {}
    e_org = [org_idx.setdefault(_org_key(x, pool[x].org_id), len(org_idx)) for x in used]
    p_app, p_exp, p_aff = [], [], []
    for ai, a in enumerate(apps):
        for x in eligible[a.id]:
            e = pool[x]
            p_app.append(ai)
            p_exp.append(e_idx[x])
            p_aff.append(
                params.field_weight * len(a.fields & e.fields)
                + params.keyword_weight * len(a.keywords & e.keywords)
            )
    pa, pe = np.asarray(p_app, dtype=np.int64), np.asarray(p_exp, dtype=np.int64)
    scores = np.asarray(p_aff, dtype=np.int64)
    if params.noise > 0:
        scores += np.random.default_rng(seed).integers(0, params.noise, len(scores), np.int64)
    unit_arcs = np.asarray([min(caps[x], wanted[x]) for x in used], dtype=np.int64)
    po = np.asarray(e_org, dtype=np.int64)[pe]
    ok, chosen, cost = _solve(pa, pe, po, scores, k, len(apps), unit_arcs, params.load_penalty)
    if not ok:
        got = np.bincount(pa[chosen], minlength=len(apps)).tolist()
        raise InfeasibleAssignment(
            Reason("no_feasible_combination", apps[i].id, {"assigned": n, "required": k})
            for i, n in enumerate(got)
            if n < k
        )

    assigned: dict[int, list[tuple[int, int]]] = {a.id: [] for a in apps}
    spare: dict[int, list[tuple[int, int]]] = {a.id: [] for a in apps}
    loads: dict[int, int] = {}
    for ai, ei, s, c in zip(p_app, p_exp, scores.tolist(), chosen.tolist(), strict=True):
        x = used[ei]
        (assigned if c else spare)[apps[ai].id].append((-s, x))
        if c:
            loads[x] = loads.get(x, 0) + 1
    return DrawResult(
        assignments=MappingProxyType(
            {a: tuple(x for _, x in sorted(v)) for a, v in assigned.items()}
        ),
        reserves=MappingProxyType(
            {a: tuple(x for _, x in sorted(v)[:reserve_size]) for a, v in spare.items()}
        ),
        excluded=MappingProxyType(excluded),
        loads=MappingProxyType(loads),
        capacities=MappingProxyType(caps),
        expert_orgs=MappingProxyType({x: e.org_id for x, e in pool.items()}),
        application_orgs=MappingProxyType({a.id: a.org_ids for a in apps}),
        total_cost=cost,
        total_score=int(scores[chosen].sum()),
        k=k,
        seed=seed,
        input_hash=digest,
    )
