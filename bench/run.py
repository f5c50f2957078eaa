"""``make bench``: run every benchmark and write docs/performance.md.

    python -m bench.run [--generate] [--quick] [--out docs/performance.md]

Data sets (made by ``bench.generate`` when missing, or always with
``--generate``): provincial on SQLite and PostgreSQL, and national (the
provincial set grown tenfold: 2,000 societies, 5,000 experts, nine more calls
of 2,000 applications through the operations, ≈1,000,000 transfers) on both.
Each figure is compared with its floor measured in the same run; the key
figures are measured again at the end and both runs are shown.
Raw results go to bench/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import common
from bench.micro import run_task

RESULTS = common.ROOT / "bench" / "results"
NOTES = common.ROOT / "bench" / "notes.md"

# BENCH_PROV / BENCH_NAT rename the data sets (e.g. a tiny one for a smoke run).
PROV = os.environ.get("BENCH_PROV", "grants_bench_prov")
NAT = os.environ.get("BENCH_NAT", "grants_bench_nat")
SCALE = os.environ.get("BENCH_SCALE", "provincial")
DATASETS = {
    ("provincial", "sqlite"): common.sqlite_url(PROV),
    ("provincial", "postgresql"): common.pg_url(PROV),
    ("national", "sqlite"): common.sqlite_url(NAT),
    ("national", "postgresql"): common.pg_url(NAT),
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_data(regenerate: bool) -> None:
    """Generate whatever data set is missing (provincial first, national from it)."""
    for (scale, kind), url in DATASETS.items():
        if not regenerate and common.database_exists(url):
            continue
        cmd = [sys.executable, "-m", "bench.generate", "--scale", scale, "--db", url]
        if scale == "provincial" and SCALE != "provincial":
            cmd[4] = SCALE
        env = dict(os.environ)
        if scale == "national":
            cmd += ["--from", DATASETS[("provincial", kind)]]
            if SCALE != "provincial":  # a smoke run: two small calls, a small ledger
                cmd += ["--bulk", "2000"]
                env.setdefault("BENCH_NATIONAL_APPS", "30")
                env.setdefault("BENCH_NATIONAL_CALLS", "2")
        log(" ".join(cmd))
        subprocess.run(cmd, cwd=common.ROOT, check=True, env=env)


def upgrade_all(kinds: set[str]) -> None:
    """Bring every data set to the current schema (the code may have moved on), with
    fresh planner statistics on PostgreSQL (this server runs without autovacuum)."""
    for (_scale, kind), url in DATASETS.items():
        if kind in kinds and common.database_exists(url):
            common.migrate(common.make_app(url))
            common.analyze(url)


def counts(url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in (
            "application", "review_assignment", "expert", "project", "ledger_transfer",
            "ledger_entry", "audit_event",
        ):  # fmt: skip
            out[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
    engine.dispose()
    return out


def run_pages(quick: bool, scales: set[str], kinds: set[str]) -> dict:
    from bench import pages

    out = {}
    for (scale, kind), url in DATASETS.items():
        if not common.database_exists(url) or scale not in scales or kind not in kinds:
            continue
        if quick and scale == "national":
            continue
        log(f"pages: {scale} on {kind}")
        out[f"{scale}/{kind}"] = pages.run(url, repeats=8 if quick else 15)
    return out


def run_load(seconds: float) -> dict:
    from bench import load

    url = DATASETS[("provincial", "postgresql")]
    users = int(os.environ.get("BENCH_USERS", 50))
    log(f"{users} users for {seconds:.0f} s, app then floor")
    return load.run(url, users, seconds)


def run_micro(quick: bool, kinds: set[str]) -> dict:
    out = {}
    big = {
        kind: DATASETS[("national", kind)]
        if common.database_exists(DATASETS[("national", kind)])
        else DATASETS[("provincial", kind)]
        for kind in ("sqlite", "postgresql")
    }
    plan = [
        ("assignment-2000", None),
        ("ranking-10000", None),
        ("ranking-100000", None),
        ("csv-app/postgresql", big["postgresql"]),
        ("csv-copy/postgresql", big["postgresql"]),
        ("csv-app/sqlite", big["sqlite"]),
        ("csv-sqlite3/sqlite", big["sqlite"]),
        ("xlsx/postgresql", big["postgresql"]),
        ("xlsx-floor/postgresql", big["postgresql"]),
        ("xlsx/sqlite", big["sqlite"]),
        ("xlsx-floor/sqlite", big["sqlite"]),
        ("verify-app/postgresql", big["postgresql"]),
        ("verify-bare/postgresql", big["postgresql"]),
        ("verify-app/sqlite", big["sqlite"]),
        ("verify-bare/sqlite", big["sqlite"]),
        ("pdf-application", DATASETS[("provincial", "sqlite")]),
        ("pdf-notices", DATASETS[("provincial", "sqlite")]),
        ("import-baseline", DATASETS[("provincial", "sqlite")]),
    ]
    if not quick:
        plan.insert(1, ("assignment-10000", None))
    for key, url in plan:
        kind = key.split("/")[1] if "/" in key else "sqlite"  # the rest run with sqlite's
        if kind not in kinds:
            continue
        name = key.split("/")[0]
        log(f"micro: {key}")
        out[key] = run_task(name, url)
        out[key]["db"] = url.split("/")[-1] if url else None
    return out


def run_key_again() -> dict:
    """The key figures once more, at the end of the run, to show the spread."""
    from bench import pages

    out = {}
    for kind in ("sqlite", "postgresql"):
        url = DATASETS[("provincial", kind)]
        rows = pages.run(url, repeats=15, only="/ranking?all=1")
        out[f"ranking page/{kind}"] = rows[0] if rows else None
    big_pg = DATASETS[("national", "postgresql")]
    if not common.database_exists(big_pg):
        big_pg = DATASETS[("provincial", "postgresql")]
    for key in ("csv-app", "csv-copy", "verify-app", "verify-bare"):
        out[f"{key}/postgresql"] = run_task(key, big_pg)
    out["ranking-10000"] = run_task("ranking-10000")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", action="store_true", help="regenerate the data sets")
    parser.add_argument(
        "--no-generate", action="store_true", help="measure only the data sets that exist"
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no national pages")
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--skip", default="", help="comma list: pages,load,micro,again")
    parser.add_argument(
        "--merge", action="store_true",
        help="update the sections run into bench/results/latest.json instead of starting anew",
    )  # fmt: skip
    parser.add_argument(
        "--scales", default="provincial,national",
        help="the data sets' scales whose pages are measured (with --merge, in parts)",
    )  # fmt: skip
    parser.add_argument(
        "--kinds", default="sqlite,postgresql", help="the databases measured (in parts)"
    )  # fmt: skip
    parser.add_argument("--out", default=str(common.ROOT / "docs" / "performance.md"))
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    RESULTS.mkdir(parents=True, exist_ok=True)

    if not args.no_generate:
        ensure_data(args.generate)
    upgrade_all(set(args.kinds.split(",")))
    previous = {}
    if args.merge and (RESULTS / "latest.json").exists():
        previous = json.loads((RESULTS / "latest.json").read_text())
    results = {
        **previous,
        "started": previous.get("started") or datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": common.machine(),
        "load_before": common.load_average(),
        "datasets": {
            **previous.get("datasets", {}),
            **{
                f"{s}/{k}": counts(u)
                for (s, k), u in DATASETS.items()
                if k in set(args.kinds.split(",")) and common.database_exists(u)
            },
        },
    }
    common.cheap_passwords()
    if "pages" not in skip:
        scales = set(args.scales.split(","))
        kinds = set(args.kinds.split(","))
        results["pages"] = {**previous.get("pages", {}), **run_pages(args.quick, scales, kinds)}
        results["load_after_pages"] = common.load_average()
    if "load" not in skip:
        results["load"] = run_load(args.load_seconds)
        results["load_after_load"] = common.load_average()
    if "micro" not in skip:
        results["micro"] = {
            **previous.get("micro", {}),
            **run_micro(args.quick, set(args.kinds.split(","))),
        }
    if "again" not in skip:
        results["again"] = run_key_again()
    results["load_after"] = common.load_average()
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    raw = RESULTS / f"bench-{stamp}.json"
    raw.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    (RESULTS / "latest.json").write_text(raw.read_text())
    from bench import report

    Path(args.out).write_text(report.render(results, NOTES))
    log(f"wrote {args.out} and {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
