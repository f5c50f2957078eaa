"""Score maths for review rubrics: totals, sheet validation, aggregation and ranking.

Pure functions over a loaded ``Rubric``; the web app, the CLI and the exports share
them so a ranking is computed one way everywhere. "Not applicable" is ``None`` and
never counts as zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.reviews.calibration import NORMALIZATIONS, ReviewTotal, icc1, leniency, normalise
from app.reviews.rubric_types import AGGREGATIONS, Band, Rubric
from app.reviews.texts import plain, say

__all__ = [
    "FLAGS",
    "RankedApplication",
    "ReviewTotal",
    "VetoMark",
    "aggregate",
    "icc1",
    "leniency",
    "normalise",
    "rank_applications",
    "review_total",
    "round_half_up",
    "validate_sheet",
]

# Flags in the order they are listed on a ranked application.
FLAGS = ("veto", "veto_hold", "insufficient_reviews", "disagreement", "tie")

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class VetoMark:
    """A reviewer raised veto item ``key`` on an application."""

    application: str
    reviewer: str
    key: str


@dataclass(frozen=True)
class RankedApplication:
    """One application's place in the ranking."""

    application: str
    n: int  # reviews = distinct reviewers
    aggregate: Decimal | None  # rounded half-up to 2 decimals
    band: Band | None
    flags: tuple[str, ...]
    rank: int | None  # None when excluded by a veto (or with no scored review)
    vetoes: tuple[str, ...] = ()  # veto keys triggered (exclude or hold)
    spread: Decimal | None = None  # max − min of the raw review totals

    def as_dict(self) -> dict:
        """Return the JSON shape of ``review rank --json``."""
        return {
            "application": self.application,
            "n": self.n,
            "aggregate": None if self.aggregate is None else float(self.aggregate),
            "band": None if self.band is None else self.band.label.as_dict(),
            "flags": list(self.flags),
            "rank": self.rank,
        }


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    """Round a Decimal half-up to ``places`` decimals (84.125 → 84.13)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def review_total(rubric: Rubric, scores: Mapping[str, Decimal | None]) -> Decimal | None:
    """Return a review's total on 0–100 over the answered criteria (None if none answered).

    total = 100 × Σ wᵢ·(sᵢ − minᵢ)/(maxᵢ − minᵢ) / Σ wᵢ, over criteria with a score;
    a missing key or None (not applicable) drops the criterion and its weight.
    Raises ValueError for a key that is not a criterion of the rubric.
    """
    known = set(rubric.criterion_keys)
    unknown = sorted(set(scores) - known)
    if unknown:
        raise ValueError(f"unknown criteria: {', '.join(unknown)}")
    weighted, weights = Decimal(0), Decimal(0)
    for c in rubric.criteria:
        score = scores.get(c.key)
        if score is None:
            continue
        weighted += c.weight * c.fraction(Decimal(score))
        weights += c.weight
    if weights == 0:
        return None
    return 100 * weighted / weights


def validate_sheet(
    rubric: Rubric,
    scores: Mapping[str, object],
    comments: Mapping[str, str | None] | None = None,
    vetoes: Mapping[str, str | None] | None = None,
    lang: str = "zh",
) -> list[str]:
    """Return every problem with a reviewer's score sheet (empty when it can be submitted).

    ``scores`` maps criterion key → score (Decimal, int or numeric string) or None for
    not applicable; a criterion absent from it has not been scored. ``comments`` maps
    criterion key → comment; ``vetoes`` maps each raised veto key → the reason given.
    """
    comments = comments or {}
    problems = [say(lang, "sheet_unknown", key=k) for k in scores if k not in rubric.criterion_keys]
    for c in rubric.criteria:
        title = c.title.get(lang)
        if c.key not in scores:
            problems.append(say(lang, "sheet_missing", title=title))
            continue
        raw = scores[c.key]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if c.required:
                problems.append(say(lang, "sheet_na_required", title=title))
            continue
        score = _as_decimal(raw)
        if score is None:
            problems.append(say(lang, "sheet_number", title=title, value=raw))
            continue
        bounds = {"min": plain(c.min), "max": plain(c.max)}
        if not c.min <= score <= c.max:
            problems.append(say(lang, "sheet_range", title=title, value=plain(score), **bounds))
        elif not c.is_on_step(score):
            step = plain(c.step)
            problems.append(
                say(
                    lang,
                    "sheet_step",
                    title=title,
                    value=plain(score),
                    step=step,
                    min=bounds["min"],
                )
            )
        elif _needs_comment(c.comment_required_below, score, comments.get(c.key)):
            threshold = plain(c.comment_required_below)
            problems.append(say(lang, "sheet_comment", title=title, threshold=threshold))
    for key, reason in (vetoes or {}).items():
        if key not in rubric.veto_keys:
            problems.append(say(lang, "sheet_veto_unknown", key=key))
        elif not (reason or "").strip():
            problems.append(say(lang, "sheet_veto_comment", title=rubric.veto(key).title.get(lang)))
    return problems


def _needs_comment(threshold: Decimal | None, score: Decimal, comment: str | None) -> bool:
    """Return whether a score below the criterion's threshold still lacks a comment."""
    return threshold is not None and score < threshold and not (comment or "").strip()


def _as_decimal(value: object) -> Decimal | None:
    """Return a finite Decimal for a number or numeric string, None otherwise."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def aggregate(values: Iterable[Decimal], method: str, trim_min_n: int = 5) -> Decimal | None:
    """Combine review totals by ``method`` (mean, median, trimmed_mean); None if empty.

    trimmed_mean drops one highest and one lowest total when there are at least
    ``trim_min_n`` of them, and is the plain mean otherwise.
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {method!r}")
    ordered = sorted(values)
    if not ordered:
        return None
    if method == "median":
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2
    if method == "trimmed_mean" and len(ordered) >= trim_min_n:
        ordered = ordered[1:-1]
    return sum(ordered, Decimal(0)) / len(ordered)


def rank_applications(
    rubric: Rubric,
    reviews: Iterable[ReviewTotal],
    vetoes: Iterable[VetoMark] = (),
    method: str | None = None,
    normalization: str | None = None,
) -> list[RankedApplication]:
    """Rank applications by their aggregated review totals.

    Totals are normalised across all reviews given (``normalization``, default the
    rubric's), then aggregated per application (``method``, default the rubric's) and
    rounded half-up to 2 decimals. Competition ranking (1, 2, 2, 4) covers every
    application not excluded by a veto; equal rounded aggregates are flagged ``tie``.
    ``n`` counts distinct reviewers in reviews and veto marks. Returned in output
    order: by rank, then unranked ones, each by application string.
    Raises ValueError on an unknown method, normalization or veto key.
    """
    method = method or rubric.aggregation
    normalization = normalization or rubric.normalization
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {normalization!r}")
    reviews = list(reviews)
    adjusted = normalise(reviews, normalization)
    reviewers: dict[str, set[str]] = defaultdict(set)
    raw: dict[str, list[Decimal]] = defaultdict(list)
    used: dict[str, list[Decimal]] = defaultdict(list)
    for r in reviews:
        reviewers[r.application].add(r.reviewer)
        if r.total is not None:
            raw[r.application].append(r.total)
            used[r.application].append(adjusted[(r.application, r.reviewer)])
    raised: dict[tuple[str, str], set[str]] = defaultdict(set)
    for mark in vetoes:
        if mark.key not in rubric.veto_keys:
            raise ValueError(f"unknown veto item {mark.key!r}")
        reviewers[mark.application].add(mark.reviewer)
        raised[(mark.application, mark.key)].add(mark.reviewer)

    rows = []
    for application in sorted(reviewers):
        n = len(reviewers[application])
        value = aggregate(used[application], method, rubric.trim_min_n)
        value = None if value is None else round_half_up(value)
        triggered = tuple(
            v.key
            for v in rubric.vetoes
            if _triggered(v.trigger, len(raised.get((application, v.key), ())), n)
        )
        effects = {rubric.veto(k).effect for k in triggered}
        totals = raw[application]
        spread = max(totals) - min(totals) if totals else None
        flags = {
            "veto": "exclude" in effects,
            "veto_hold": "hold" in effects,
            "insufficient_reviews": n < rubric.min_reviews,
            "disagreement": spread is not None and spread > rubric.disagreement_range,
        }
        rows.append(
            {
                "application": application,
                "n": n,
                "aggregate": value,
                "band": rubric.band_for(value),
                "flags": flags,
                "vetoes": triggered,
                "spread": spread,
            }
        )
    return _assign_ranks(rows)


def _triggered(trigger: str, raised_by: int, n: int) -> bool:
    """Return whether a veto raised by ``raised_by`` of ``n`` reviewers takes effect."""
    if trigger == "any":
        return raised_by >= 1
    return 2 * raised_by > n  # a strict majority of the application's reviewers


def _assign_ranks(rows: list[dict]) -> list[RankedApplication]:
    """Give competition ranks by rounded aggregate and flag ties; return output order."""
    ranked = [r for r in rows if not r["flags"]["veto"] and r["aggregate"] is not None]
    ranked.sort(key=lambda r: (-r["aggregate"], r["application"]))
    counts: dict[Decimal, int] = defaultdict(int)
    for r in ranked:
        counts[r["aggregate"]] += 1
    previous, rank = None, 0
    for position, r in enumerate(ranked, 1):
        if r["aggregate"] != previous:
            rank, previous = position, r["aggregate"]
        r["rank"] = rank
        r["flags"]["tie"] = counts[r["aggregate"]] > 1
    rows.sort(key=lambda r: (r.get("rank") is None, r.get("rank") or 0, r["application"]))
    return [
        RankedApplication(
            application=r["application"],
            n=r["n"],
            aggregate=r["aggregate"],
            band=r["band"],
            flags=tuple(f for f in FLAGS if r["flags"].get(f)),
            rank=r.get("rank"),
            vetoes=r["vetoes"],
            spread=r["spread"],
        )
        for r in rows
    ]
