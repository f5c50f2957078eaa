"""Reviewer draw and assignment (专家随机抽取与分配) as a min-cost flow.

Plain data in, a frozen result out: no database, no Flask. The draw is audit
evidence, so the web app records ``seed`` and ``input_hash``; re-running with
them gives the same reviewers. Network: application (supply k) -> (application,
organisation) node of capacity 1, so one reviewer per organisation -> expert ->
sink through unit arcs of rising cost (convex load penalty).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from ortools.graph.python import min_cost_flow

HASH_VERSION = "reviewer-draw-v1"

# code -> (zh, en); params are filled with str.format.
MESSAGES: dict[str, tuple[str, str]] = {
    "too_few_candidates": (
        "申请 {application_id}：回避后可抽取的同领域专家仅 {available} 人，少于所需 {required} 人",
        "Application {application_id}: only {available} eligible experts in its fields "
        "after conflicts; {required} required",
    ),
    "too_few_organisations": (
        "申请 {application_id}：可抽取专家仅来自 {available} 个单位（同一单位至多 1 人），"
        "少于所需 {required} 人",
        "Application {application_id}: eligible experts come from only {available} "
        "organisations (one per organisation); {required} required",
    ),
    "capacity_short": (
        "专家剩余评审量合计 {capacity}，少于评审需求 {demand}",
        "Experts can take {capacity} reviews in total but {demand} are needed",
    ),
    "no_feasible_combination": (
        "申请 {application_id}：受专家评审量限制只能分配 {assigned} 人，少于所需 {required} 人",
        "Application {application_id}: load limits allow only {assigned} of {required} reviewers",
    ),
    "not_assigned": (
        "专家 {expert_id} 未被分配评审申请 {application_id}",
        "Expert {expert_id} is not assigned to application {application_id}",
    ),
    "reserve_exhausted": (
        "申请 {application_id}：备选专家中没有可替换专家 {expert_id} 的人选",
        "Application {application_id}: no eligible reserve expert to replace expert {expert_id}",
    ),
}


@dataclass(frozen=True)
class Reason:
    """Why a draw or replacement cannot be done: a code, its params and zh/en text."""

    code: str
    application_id: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def _fmt(self, lang: int) -> str:
        """Fill the message template of this code in one language."""
        return MESSAGES[self.code][lang].format(application_id=self.application_id, **self.params)

    @property
    def zh(self) -> str:
        """Chinese message."""
        return self._fmt(0)

    @property
    def en(self) -> str:
        """English message."""
        return self._fmt(1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for job results and the draw record."""
        return {**asdict(self), "params": dict(self.params), "zh": self.zh, "en": self.en}


class InfeasibleAssignment(Exception):
    """The draw or replacement cannot be done; ``reasons`` lists why."""

    def __init__(self, reasons: Iterable[Reason]):
        self.reasons: tuple[Reason, ...] = tuple(reasons)
        super().__init__("\n".join(r.zh for r in self.reasons))


def _norm_terms(values: Iterable[str], *, fold: bool) -> frozenset[str]:
    """NFKC-normalise codes or keywords so full-width and case variants match."""
    out = (unicodedata.normalize("NFKC", str(v)).strip() for v in values)
    return frozenset((v.casefold() if fold else v) for v in out if v)


@dataclass(frozen=True)
class ApplicationInput:
    """An application to review: discipline codes, keywords, applicant+partner org ids."""

    id: int
    fields: frozenset[str]
    keywords: frozenset[str] = frozenset()
    org_ids: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _norm_terms(self.fields, fold=False))
        object.__setattr__(self, "keywords", _norm_terms(self.keywords, fold=True))
        object.__setattr__(self, "org_ids", frozenset(self.org_ids))


@dataclass(frozen=True)
class ExpertInput:
    """A pool expert; ``remaining_load`` is what is left of the yearly limit."""

    id: int
    fields: frozenset[str]
    keywords: frozenset[str] = frozenset()
    org_id: int | None = None
    remaining_load: int = 10
    is_active: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _norm_terms(self.fields, fold=False))
        object.__setattr__(self, "keywords", _norm_terms(self.keywords, fold=True))


@dataclass(frozen=True)
class DrawParams:
    """Weights of the draw; part of ``input_hash``.

    score(a, e) = field_weight * shared fields + keyword_weight * shared keywords
                  + uniform integer in [0, noise) drawn from the seed.
    The j-th review of an expert in this draw costs ``load_penalty * (j - 1)``,
    so load spreads evenly unless affinity clearly wins. ``fallback`` says what
    to do when an application has fewer than k field-matched candidates:
    ``"infeasible"`` reports it, ``"any_field"`` widens to the whole pool.
    """

    field_weight: int = 100
    keyword_weight: int = 20
    noise: int = 100
    load_penalty: int = 10
    fallback: Literal["infeasible", "any_field"] = "infeasible"


@dataclass(frozen=True)
class DrawResult:
    """Outcome of :func:`draw_reviewers`; ``to_record()`` gives the JSON draw record."""

    assignments: Mapping[int, tuple[int, ...]]  # best-scored reviewer first
    reserves: Mapping[int, tuple[int, ...]]  # eligible, not drawn, best first
    excluded: Mapping[int, tuple[tuple[int, str], ...]]  # field-matched but recused
    loads: Mapping[int, int]  # reviews given to each expert by this draw
    capacities: Mapping[int, int]  # per-expert cap used in this draw
    expert_orgs: Mapping[int, int | None]
    application_orgs: Mapping[int, frozenset[int]]
    total_cost: int
    total_score: int
    k: int
    seed: int
    input_hash: str

    def to_record(self) -> dict[str, Any]:
        """JSON-able draw record (seed, hash, drawn, reserves, recusals)."""
        return {
            "seed": self.seed,
            "input_hash": self.input_hash,
            "k": self.k,
            "total_cost": self.total_cost,
            "total_score": self.total_score,
            "assignments": {str(a): list(e) for a, e in self.assignments.items()},
            "reserves": {str(a): list(e) for a, e in self.reserves.items()},
            "excluded": {str(a): [list(x) for x in e] for a, e in self.excluded.items()},
        }


@dataclass(frozen=True)
class Replacement:
    """Outcome of :func:`replace_reviewer`; only ``application_id`` changed."""

    application_id: int
    removed_expert_id: int
    expert_id: int
    reviewers: tuple[int, ...]
    assignments: Mapping[int, tuple[int, ...]]
    reserve: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...]  # reserve experts passed over, with why
    loads: Mapping[int, int]  # remaining capacity after the swap


def _norm_conflicts(
    conflicts: Mapping[tuple[int, int], str] | Iterable[Sequence[Any]],
) -> dict[tuple[int, int], str]:
    """Accept {(app, expert): reason} or an iterable of (app, expert[, reason])."""
    if isinstance(conflicts, Mapping):
        return {(a, e): str(r) for (a, e), r in conflicts.items()}
    return {(c[0], c[1]): str(c[2]) if len(c) > 2 else "declared" for c in conflicts}


def _canon(obj: ApplicationInput | ExpertInput) -> dict[str, Any]:
    """Plain dict of an input with its sets sorted, for canonical JSON."""
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(obj).items()}


def input_hash(
    applications: Iterable[ApplicationInput],
    experts: Iterable[ExpertInput],
    k: int,
    conflicts: Mapping[tuple[int, int], str],
    max_load: int | None,
    params: DrawParams,
) -> str:
    """sha256 of the canonical JSON of the draw inputs, seed excluded.

    The seed is left out on purpose: two draws with the same hash and different
    seeds show that the same pool was drawn again, which auditors want to see.
    """
    doc = {
        "version": HASH_VERSION,
        "applications": [_canon(a) for a in sorted(applications, key=lambda a: a.id)],
        "experts": [_canon(e) for e in sorted(experts, key=lambda e: e.id)],
        "k": k,
        "conflicts": sorted([a, e, r] for (a, e), r in conflicts.items()),
        "max_load": max_load,
        "params": asdict(params),
    }
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(unicodedata.normalize("NFC", raw).encode()).hexdigest()


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
