"""Inputs, results, reasons and the input hash of the reviewer draw."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from app.reviews.texts import N_, translate

HASH_VERSION = "reviewer-draw-v1"

# code -> Chinese msgid (Babel, extracted via N_), rendered by app.reviews.texts in zh or en;
# params fill the %(name)s placeholders.
MESSAGES: dict[str, str] = {
    "too_few_candidates": N_(
        "申请 %(application_id)s：回避后可抽取的同领域专家仅 %(available)s 人，"
        "少于所需 %(required)s 人"
    ),
    "too_few_organisations": N_(
        "申请 %(application_id)s：可抽取专家仅来自 %(available)s 个单位（同一单位至多 1 人），"
        "少于所需 %(required)s 人"
    ),
    "capacity_short": N_("专家剩余评审量合计 %(capacity)s，少于评审需求 %(demand)s"),
    "no_feasible_combination": N_(
        "申请 %(application_id)s：受专家评审量限制只能分配 %(assigned)s 人，"
        "少于所需 %(required)s 人"
    ),
    "not_assigned": N_("专家 %(expert_id)s 未被分配评审申请 %(application_id)s"),
    "reserve_exhausted": N_(
        "申请 %(application_id)s：备选专家中没有可替换专家 %(expert_id)s 的人选"
    ),
}


@dataclass(frozen=True)
class Reason:
    """Why a draw or replacement cannot be done: a code, its params and zh/en text."""

    code: str
    application_id: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "zh") -> str:
        """The message of this code in ``lang`` ("zh" default, "en"), params filled in."""
        kw = {"application_id": self.application_id, **self.params}
        return translate(lang, MESSAGES[self.code], kw)

    @property
    def zh(self) -> str:
        """Chinese message."""
        return self.text("zh")

    @property
    def en(self) -> str:
        """English message."""
        return self.text("en")

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
