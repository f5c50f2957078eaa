"""Time the reviewer draw on synthetic pools (not part of the test run).

Usage: python bench/bench_assignment.py [--big]
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.reviews.assignment import (  # noqa: E402 - needs the path set above
    ApplicationInput,
    ExpertInput,
    draw_reviewers,
    replace_reviewer,
)

FIELDS = [f"F{i:02d}" for i in range(12)]
KEYWORDS = [f"kw{i}" for i in range(300)]


def make_pool(n_apps: int, n_experts: int, n_orgs: int, seed: int = 1):
    """Synthetic applications, experts and declared conflicts."""
    rnd = random.Random(seed)
    apps = [
        ApplicationInput(
            id=i,
            fields=rnd.sample(FIELDS, rnd.randint(1, 2)),
            keywords=rnd.sample(KEYWORDS, 5),
            org_ids={rnd.randrange(n_orgs) for _ in range(rnd.randint(1, 3))},
        )
        for i in range(n_apps)
    ]
    experts = [
        ExpertInput(
            id=10_000_000 + j,
            fields=rnd.sample(FIELDS, rnd.randint(1, 3)),
            keywords=rnd.sample(KEYWORDS, 8),
            org_id=rnd.randrange(n_orgs),
            remaining_load=rnd.randint(25, 35),
        )
        for j in range(n_experts)
    ]
    conflicts = {
        (rnd.randrange(n_apps), 10_000_000 + rnd.randrange(n_experts)): "declared"
        for _ in range(n_apps // 2)
    }
    return apps, experts, conflicts


def run(n_apps: int, n_experts: int, k: int = 5) -> None:
    """Draw once, then replace one reviewer, printing the timings."""
    apps, experts, conflicts = make_pool(n_apps, n_experts, n_orgs=max(50, n_experts // 5))
    t0 = time.perf_counter()
    result = draw_reviewers(apps, experts, k, seed=20240601, conflicts=conflicts, max_load=30)
    t1 = time.perf_counter()
    app_id = apps[n_apps // 2].id
    replace_reviewer(result, app_id, result.assignments[app_id][0], conflicts=conflicts)
    t2 = time.perf_counter()
    pairs = sum(len(r) for r in result.reserves.values()) + n_apps * k
    print(
        f"{n_apps} applications x {k} from {n_experts} experts: draw {t1 - t0:.2f} s "
        f"({pairs} candidate pairs, max load {max(result.loads.values())}), "
        f"replace {1000 * (t2 - t1):.1f} ms"
    )


if __name__ == "__main__":
    run(2_000, 500)
    if "--big" in sys.argv:
        run(10_000, 2_500)
