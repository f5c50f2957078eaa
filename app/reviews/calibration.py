"""Normalisation of review totals, reviewer leniency and inter-rater reliability.

All functions take a list of ``ReviewTotal`` (one per application × reviewer, on the
0–100 scale) and are pure: no database, deterministic for the same input.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve

NORMALIZATIONS = ("none", "zscore", "calibrated")

# Huber threshold = 1.345 robust sigmas (95% efficiency under normal errors); the floor
# keeps a near-perfect fit from down-weighting every small residual.
_HUBER_C = 1.345
_MIN_SCALE = 1.0
_MAX_ITERATIONS = 100
_TOLERANCE = 1e-9
_PLACES = Decimal("1e-8")


@dataclass(frozen=True)
class ReviewTotal:
    """One reviewer's total (0–100) for one application; None when nothing was scored."""

    application: str
    reviewer: str
    total: Decimal | None


def normalise(reviews: list[ReviewTotal], method: str) -> dict[tuple[str, str], Decimal | None]:
    """Return each review's total after ``method`` ("none", "zscore", "calibrated").

    Keys are ``(application, reviewer)``; totals that are None stay None.
    """
    _check_unique(reviews)
    if method == "none":
        return {(r.application, r.reviewer): r.total for r in reviews}
    if method == "zscore":
        return _zscore(reviews)
    if method == "calibrated":
        shift = leniency(reviews)
        return {
            (r.application, r.reviewer): None if r.total is None else r.total - shift[r.reviewer]
            for r in reviews
        }
    raise ValueError(f"unknown normalization {method!r}")


def _check_unique(reviews: list[ReviewTotal]) -> None:
    """Raise ValueError if a reviewer has two totals for one application."""
    seen = set()
    for r in reviews:
        pair = (r.application, r.reviewer)
        if pair in seen:
            raise ValueError(
                f"two totals for application {r.application!r}, reviewer {r.reviewer!r}"
            )
        seen.add(pair)


def _mean_sd(values: list[Decimal]) -> tuple[Decimal, Decimal]:
    """Return the mean and population standard deviation."""
    mean = sum(values, Decimal(0)) / len(values)
    variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values)
    return mean, variance.sqrt()


def _zscore(reviews: list[ReviewTotal]) -> dict[tuple[str, str], Decimal | None]:
    """Standardise each reviewer's totals and map them onto the call's mean and spread."""
    out = {(r.application, r.reviewer): r.total for r in reviews}
    scored = [r for r in reviews if r.total is not None]
    if not scored:
        return out
    with localcontext() as ctx:
        ctx.prec = 28  # fixed precision: the result must not depend on the caller's context
        grand_mean, grand_sd = _mean_sd([r.total for r in scored])
        by_reviewer: dict[str, list[ReviewTotal]] = defaultdict(list)
        for r in scored:
            by_reviewer[r.reviewer].append(r)
        for own in by_reviewer.values():
            mean, sd = _mean_sd([r.total for r in own])
            # One review, or all alike: there is no scale to standardise by.
            if len(own) < 2 or sd == 0:
                continue
            for r in own:
                out[(r.application, r.reviewer)] = grand_mean + grand_sd * (r.total - mean) / sd
    return out


def _components(reviews: list[ReviewTotal]) -> list[tuple[list[str], list[str]]]:
    """Split reviewers and applications into connected groups (shared applications)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for r in reviews:
        a, b = find(("a", r.application)), find(("r", r.reviewer))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for node in sorted(parent):
        apps, reviewers = groups.setdefault(find(node), ([], []))
        (apps if node[0] == "a" else reviewers).append(node[1])
    return [groups[root] for root in sorted(groups)]


def leniency(reviews: list[ReviewTotal]) -> dict[str, Decimal]:
    """Return each reviewer's leniency: points they give above an average reviewer.

    Fits ``total = quality[application] + leniency[reviewer]`` by Huber-weighted least
    squares (IRLS on the sparse application × reviewer design); leniencies sum to zero
    within each connected group of reviewers and applications. Reviewers with no scored
    review get 0.
    """
    _check_unique(reviews)
    scored = [r for r in reviews if r.total is not None]
    result = {r.reviewer: Decimal(0) for r in reviews}
    if not scored:
        return result
    components = _components(scored)
    apps = {a: i for i, a in enumerate(sorted({r.application for r in scored}))}
    # The model fixes leniencies only up to a constant per group (quality + c, leniency − c):
    # fit with each group's last reviewer as reference (leniency 0, no unknown), then
    # centre each group on zero afterwards.
    free = {name: j for j, name in enumerate(n for _a, rs in components for n in rs[:-1])}
    design = _Design(
        apps=np.array([apps[r.application] for r in scored]),
        reviewers=np.array([free.get(r.reviewer, -1) for r in scored]),
        n_apps=len(apps),
        n_reviewers=len(free),
    )
    target = np.array([float(r.total) for r in scored])
    fitted = _huber_irls(design, target)
    for _apps, reviewers in components:
        values = [float(fitted[free[n]]) if n in free else 0.0 for n in reviewers]
        centre = sum(values) / len(values)
        for name, value in zip(reviewers[:-1], values, strict=False):
            result[name] = Decimal(value - centre).quantize(_PLACES)
        # From the rounded values, so each group sums to exactly zero.
        others = sum((result[n] for n in reviewers[:-1]), Decimal(0))
        result[reviewers[-1]] = Decimal(0) - others
    return result


@dataclass(frozen=True)
class _Design:
    """Row → application index and row → free-reviewer index (−1: reference reviewer)."""

    apps: np.ndarray
    reviewers: np.ndarray
    n_apps: int
    n_reviewers: int

    def predict(self, quality: np.ndarray, lenient: np.ndarray) -> np.ndarray:
        """Return quality + leniency for every row."""
        if self.n_reviewers == 0:  # one reviewer per group: all are references (leniency 0)
            return quality[self.apps]
        shift = np.where(self.reviewers >= 0, lenient[np.maximum(self.reviewers, 0)], 0.0)
        return quality[self.apps] + shift


def _huber_irls(design: _Design, target: np.ndarray) -> np.ndarray:
    """Return the free reviewers' leniencies by iteratively reweighted least squares."""
    quality, lenient = _weighted_solve(design, target, np.ones(len(target)))
    residuals = target - design.predict(quality, lenient)
    # Scale from the ordinary fit (MAD), fixed afterwards so the iteration converges.
    scale = max(1.4826 * float(np.median(np.abs(residuals))), _MIN_SCALE)
    threshold = _HUBER_C * scale
    for _ in range(_MAX_ITERATIONS):
        weights = threshold / np.maximum(np.abs(residuals), threshold)  # 1 inside
        quality, updated = _weighted_solve(design, target, weights)
        converged = len(lenient) == 0 or float(np.max(np.abs(updated - lenient))) < _TOLERANCE
        lenient = updated
        residuals = target - design.predict(quality, lenient)
        if converged:
            break
    return lenient


def _weighted_solve(
    design: _Design, target: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Solve the weighted normal equations, eliminating the applications first.

    Application unknowns have a diagonal block, so the reviewer system is the small
    Schur complement S = D_r − Bᵀ D_a⁻¹ B (reviewers × reviewers).
    """
    d_a = np.bincount(design.apps, weights, design.n_apps)
    b_a = np.bincount(design.apps, weights * target, design.n_apps)
    rated = design.reviewers >= 0
    if design.n_reviewers == 0:
        return b_a / d_a, np.zeros(0)
    cross = sparse.csr_matrix(
        (weights[rated], (design.apps[rated], design.reviewers[rated])),
        shape=(design.n_apps, design.n_reviewers),
    )
    d_r = np.bincount(design.reviewers[rated], weights[rated], design.n_reviewers)
    b_r = np.bincount(design.reviewers[rated], (weights * target)[rated], design.n_reviewers)
    scaled = sparse.diags(1.0 / d_a) @ cross
    schur = np.diag(d_r) - (cross.T @ scaled).toarray()
    # S is symmetric positive definite once each group has a reference reviewer.
    lenient = cho_solve(cho_factor(schur), b_r - cross.T @ (b_a / d_a))
    quality = (b_a - cross @ lenient) / d_a
    return quality, lenient


def icc1(reviews: list[ReviewTotal]) -> Decimal | None:
    """Return the one-way random-effects ICC(1) of review totals, grouped by application.

    Unbalanced designs use the ANOVA estimator with k₀ = (N − Σnᵢ²/N)/(a − 1). None
    when it is undefined (fewer than two applications, or no application with two totals).
    """
    groups: dict[str, list[Decimal]] = defaultdict(list)
    for r in reviews:
        if r.total is not None:
            groups[r.application].append(r.total)
    a = len(groups)
    n = sum(len(v) for v in groups.values())
    if a < 2 or n <= a:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        grand = sum((sum(v, Decimal(0)) for v in groups.values()), Decimal(0)) / n
        means = {k: sum(v, Decimal(0)) / len(v) for k, v in groups.items()}
        between = sum((len(v) * (means[k] - grand) ** 2 for k, v in groups.items()), Decimal(0))
        within = sum(
            (sum(((x - means[k]) ** 2 for x in v), Decimal(0)) for k, v in groups.items()),
            Decimal(0),
        )
        msb = between / (a - 1)
        msw = within / (n - a)
        k0 = (n - Decimal(sum(len(v) ** 2 for v in groups.values())) / n) / (a - 1)
        denominator = msb + (k0 - 1) * msw
        if denominator == 0:
            return None
        return (msb - msw) / denominator
