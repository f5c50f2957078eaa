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
from scipy.sparse.linalg import spsolve

NORMALIZATIONS = ("none", "zscore", "calibrated")

# Huber threshold = 1.345 robust sigmas (95% efficiency under normal errors); the floor
# keeps a near-perfect fit from down-weighting every small residual.
_HUBER_C = 1.345
_MIN_SCALE = 1.0
_MAX_ITERATIONS = 100
_TOLERANCE = 1e-10
_PLACES = Decimal("1e-10")


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
    squares (IRLS on a sparse design); leniencies sum to zero within each connected
    group of reviewers and applications. Reviewers with no scored review get 0.
    """
    _check_unique(reviews)
    scored = [r for r in reviews if r.total is not None]
    result = {r.reviewer: Decimal(0) for r in reviews}
    if not scored:
        return result
    components = _components(scored)
    apps = sorted({r.application for r in scored})
    column = {("a", a): i for i, a in enumerate(apps)}
    # The model only fixes leniencies up to a constant per group (quality + c, leniency − c):
    # fit with each group's last reviewer as reference (leniency 0, no column), which keeps
    # two non-zeros per row, then centre each group on zero afterwards.
    for _apps, reviewers in components:
        for name in reviewers[:-1]:
            column[("r", name)] = len(column)
    rows, cols = [], []
    for i, r in enumerate(scored):
        rows.append(i)
        cols.append(column[("a", r.application)])
        if ("r", r.reviewer) in column:
            rows.append(i)
            cols.append(column[("r", r.reviewer)])
    design = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(scored), len(column)))
    target = np.array([float(r.total) for r in scored])
    params = _huber_irls(design, target)
    for _apps, reviewers in components:
        fitted = [float(params[column[("r", n)]]) if ("r", n) in column else 0.0 for n in reviewers]
        centre = sum(fitted) / len(fitted)
        for name, value in zip(reviewers[:-1], fitted, strict=False):
            result[name] = Decimal(value - centre).quantize(_PLACES)
        # From the rounded values, so each group sums to exactly zero.
        last = sum((result[n] for n in reviewers[:-1]), Decimal(0))
        result[reviewers[-1]] = Decimal(0) - last
    return result


def _huber_irls(design: sparse.csr_matrix, target: np.ndarray) -> np.ndarray:
    """Solve the robust regression by iteratively reweighted least squares."""
    weights = np.ones(len(target))
    params = _weighted_solve(design, target, weights)
    residuals = target - design @ params
    # Scale from the ordinary fit (MAD), fixed afterwards so the iteration converges.
    scale = max(1.4826 * float(np.median(np.abs(residuals))), _MIN_SCALE)
    threshold = _HUBER_C * scale
    for _ in range(_MAX_ITERATIONS):
        size = np.abs(residuals)
        weights = threshold / np.maximum(size, threshold)  # 1 inside the threshold
        updated = _weighted_solve(design, target, weights)
        converged = float(np.max(np.abs(updated - params))) < _TOLERANCE
        params = updated
        residuals = target - design @ params
        if converged:
            break
    return params


def _weighted_solve(design: sparse.csr_matrix, target: np.ndarray, weights: np.ndarray):
    """Solve the weighted normal equations (AᵀWA)x = AᵀWt."""
    weighted = design.T.multiply(weights).tocsr()
    normal = (weighted @ design).tocsc()
    solution = spsolve(normal, weighted @ target)
    return np.atleast_1d(solution)


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
