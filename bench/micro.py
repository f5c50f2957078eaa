"""Single benchmarks, each run in a fresh process so its peak memory is its own.

    python -m bench.micro NAME [--db URL] [--rows N]

NAME: assignment-2000, assignment-10000, ranking-10000, ranking-100000,
csv-app, csv-copy, csv-sqlite3, xlsx, xlsx-floor, verify-app, verify-bare, pdf-application,
pdf-notices, import-baseline. Prints one JSON object: seconds, rows, peak RSS
(VmHWM, see ``_rss_mb``) and the RSS after imports (the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench import common


def _status_mb(field: str, pid: str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _rss_mb() -> float:
    """Peak RSS of this process since it started (VmHWM).

    Not ``getrusage``'s ``ru_maxrss``: on Linux it survives ``execve``, so a process
    started by a big parent reports the parent's peak (every task here read 426 MB,
    the size of the benchmark runner)."""
    return _status_mb("VmHWM")


def _current_rss_mb() -> float:
    return _status_mb("VmRSS")


def assignment(n_apps: int, n_experts: int) -> dict:
    sys.path.insert(0, str(common.ROOT / "bench"))
    from bench_assignment import make_pool

    from app.reviews.assignment import draw_reviewers

    apps, experts, conflicts = make_pool(n_apps, n_experts, n_orgs=max(50, n_experts // 5))
    t0 = time.perf_counter()
    result = draw_reviewers(apps, experts, 5, seed=20240601, conflicts=conflicts, max_load=30)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": n_apps * 5, "max_load": max(result.loads.values())}


def ranking(n_reviews: int) -> dict:
    import random

    from app.reviews.rubric import load_rubric
    from app.reviews.scoring import ReviewTotal, VetoMark, rank_applications

    rubric = load_rubric((common.ROOT / "rubrics" / "assist-review.toml").read_bytes())
    rnd = random.Random(1)
    n_apps = n_reviews // 5
    totals, marks = [], []
    for a in range(n_apps):
        base = rnd.uniform(55, 90)
        for r in range(5):
            reviewer = str((a * 7 + r * 131) % max(500, n_apps // 4))
            value = Decimal(str(round(min(100, max(0, base + rnd.gauss(0, 6))), 2)))
            totals.append(ReviewTotal(str(a), reviewer, value))
        if a % 97 == 0:
            marks.append(VetoMark(str(a), str((a * 7) % 500), rubric.vetoes[0].key))
    t0 = time.perf_counter()
    ranked = rank_applications(rubric, totals, marks)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(totals), "ranked": len(ranked)}


def _warm(db) -> None:
    """Connect and configure the mappers first: one-off costs, not the task's."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    db.session.execute(db.select(1))


def _app(url: str):
    app = common.make_app(url)
    return app


def csv_app(url: str) -> dict:
    """The app's streaming export, the bytes its download sends (PostgreSQL's own
    ``COPY … WITH (FORMAT csv)`` passed through; a streaming cursor on SQLite)."""
    app = _app(url)
    from app.extensions import db
    from app.ledger import exports

    with app.app_context():
        _warm(db)
        base = _current_rss_mb()
        t0 = time.perf_counter()
        size, rows = 0, 0
        with open(os.devnull, "wb") as out:
            for data in exports.transfers_csv_bytes():
                size += len(data)
                rows += data.count(b"\r\n")
                out.write(data)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": rows - 1, "bytes": size, "baseline_mb": base}


def _transfers_sql(url: str):
    app = _app(url)
    from app.extensions import db
    from app.ledger import exports

    with app.app_context():
        stmt = exports.transfers_query()
        dialect = db.session.get_bind().dialect
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        db.engine.dispose()
    return sql


def csv_copy(url: str) -> dict:
    """PostgreSQL's own ``COPY (same SELECT) TO STDOUT WITH CSV`` driven from psycopg."""
    import psycopg
    from sqlalchemy.engine import make_url

    sql = _transfers_sql(url)
    u = make_url(url)
    base = _current_rss_mb()
    t0 = time.perf_counter()
    size = rows = 0
    with (
        psycopg.connect(host=u.host, port=u.port, user=u.username, dbname=u.database) as conn,
        conn.cursor() as cur,
        open(os.devnull, "wb") as out,
        cur.copy(f"COPY ({sql}) TO STDOUT WITH CSV HEADER") as copy,
    ):
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
            out.write(block)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": rows - 1, "bytes": size, "baseline_mb": base}


def csv_sqlite3(url: str) -> dict:
    """The sqlite3 command-line shell's CSV mode on the same SELECT."""
    from sqlalchemy.engine import make_url

    sql = _transfers_sql(url)
    path = make_url(url).database
    import threading

    t0 = time.perf_counter()
    peak = [0.0]
    size = rows = 0
    with open(os.devnull, "wb") as out:
        proc = subprocess.Popen(
            ["sqlite3", "-csv", "-header", path, sql + ";"], stdout=subprocess.PIPE
        )

        def watch():  # the CLI's own peak (VmHWM), read while it runs
            while proc.poll() is None:
                value = _status_mb("VmHWM", str(proc.pid))
                if value == value:
                    peak[0] = max(peak[0], value)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        while block := proc.stdout.read(1 << 16):
            size += len(block)
            rows += block.count(b"\n")
            out.write(block)
        proc.wait()
        watcher.join()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": rows - 1, "bytes": size, "peak_mb_child": peak[0]}


def xlsx(url: str, rows: int = 200_000) -> dict:
    """200,000 ledger rows into an xlsx with ``XlsxBook`` (constant-memory mode)."""
    import tempfile

    app = _app(url)
    from app.core.sheets import Column, Footer, XlsxBook
    from app.extensions import db
    from app.ledger import exports

    cols = [Column(c, "yuan" if c == "amount_fen" else "text") for c in exports.TRANSFER_COLUMNS]
    with app.app_context():
        _warm(db)
        base = _current_rss_mb()
        t0 = time.perf_counter()
        n = 0
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ledger.xlsx"
            with XlsxBook(str(path), title="资金台账", footer=Footer("学会部", "测试")) as book:
                summary = book.summary([Column("项目"), Column("行数", "int")])
                detail = book.detail("明细", cols)
                for row in exports._stream(exports.transfers_query().limit(rows)):
                    detail.append(row)
                    n += 1
                summary.append(["合计", n])
            size = path.stat().st_size
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": n, "bytes": size, "baseline_mb": base}


def xlsx_floor(url: str, rows: int = 200_000) -> dict:
    """XlsxWriter's own floor for ``xlsx``: the same rows and columns, bare.

    Constant-memory mode, a header row, then ``write_row`` of the values as the
    query returns them: no title, formats, neutralising or 元 conversion.
    """
    import tempfile

    import xlsxwriter

    app = _app(url)
    from app.extensions import db
    from app.ledger import exports

    with app.app_context():
        _warm(db)
        base = _current_rss_mb()
        t0 = time.perf_counter()
        n = 0
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ledger.xlsx"
            options = {"strings_to_formulas": False, "strings_to_urls": False}  # as XlsxBook
            book = xlsxwriter.Workbook(str(path), {"constant_memory": True, **options})
            sheet = book.add_worksheet("明细")
            sheet.write_row(0, 0, exports.TRANSFER_COLUMNS)
            for n, row in enumerate(exports._stream(exports.transfers_query().limit(rows)), 1):
                sheet.write_row(n, 0, row)
            book.close()
            size = path.stat().st_size
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": n, "bytes": size, "baseline_mb": base}


def verify_app(url: str) -> dict:
    """``audit verify``'s chain check (and, timed apart, the ledger invariants)."""
    app = _app(url)
    from app.audit.verify import EXTRA_CHECKS, verify_chain
    from app.extensions import db
    from app.ledger import invariants  # noqa: F401  (registers the ledger check)

    with app.app_context():
        _warm(db)
        base = _current_rss_mb()
        t0 = time.perf_counter()
        fault, last, _head = verify_chain()
        chain = time.perf_counter() - t0
        t0 = time.perf_counter()
        extra = [check() for check in EXTRA_CHECKS]
        checks = time.perf_counter() - t0
    return {
        "seconds": chain,
        "rows": last,
        "ok": fault is None and not any(extra),
        "invariants_seconds": checks,
        "baseline_mb": base,
    }


def verify_bare(url: str) -> dict:
    """The floor: read the same rows with a bare DB-API cursor and re-hash each link."""
    from app.audit.verify_bundle import GENESIS_HASH, event_hash
    from app.core.clock import rfc3339

    cols = (
        "seq, occurred_at, actor_id, actor_role, org_id, ip, user_agent, request_id, action, "
        "entity_type, entity_id, before, after, reason, prev_hash, hash"
    )
    sql = f"SELECT {cols} FROM audit_event ORDER BY seq"  # noqa: S608 - constant
    base = _current_rss_mb()
    t0 = time.perf_counter()
    prev, n, ok = GENESIS_HASH, 0, True
    if common.is_postgres(url):
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(url)
        conn = psycopg.connect(host=u.host, port=u.port, user=u.username, dbname=u.database)
        cur = conn.cursor(name="bare")  # server-side cursor, like yield_per
        cur.itersize = 5000
        cur.execute(sql)
        decode = None
    else:
        import sqlite3
        from datetime import datetime

        from sqlalchemy.engine import make_url

        conn = sqlite3.connect(make_url(url).database)
        cur = conn.execute(sql)

        def decode(row):
            when = datetime.fromisoformat(row[1])
            loads = json.loads
            return (row[0], when, *row[2:11],
                    loads(row[11]) if row[11] else None,
                    loads(row[12]) if row[12] else None, *row[13:])  # fmt: skip

    keys = (
        "seq", "occurred_at", "actor_id", "actor_role", "org_id", "ip", "user_agent",
        "request_id", "action", "entity_type", "entity_id", "before", "after", "reason",
    )  # fmt: skip
    for row in cur:
        if decode is not None:
            row = decode(row)
        event = dict(zip(keys, row[:14], strict=True))
        event["occurred_at"] = rfc3339(event["occurred_at"])
        digest = event_hash(prev, event)
        ok &= digest == row[15] and row[14] == prev
        prev, n = row[15], n + 1
    seconds = time.perf_counter() - t0
    conn.close()
    return {"seconds": seconds, "rows": n, "ok": ok, "baseline_mb": base}


def pdf_application(url: str) -> dict:
    app = _app(url)
    from sqlalchemy import select

    from app.applications import exports
    from app.applications.models import Application
    from app.extensions import db

    with app.app_context(), app.test_request_context():
        row = db.session.scalars(
            select(Application).where(Application.state != "draft").order_by(Application.id)
        ).first()
        exports.application_pdf(row)  # fonts and templates warmed once
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            data = exports.application_pdf(row)
            times.append(time.perf_counter() - t0)
    return {
        "seconds": common.median(times),
        "p95": common.percentile(times, 95),
        "rows": 1,
        "bytes": len(data),
    }


def pdf_notices(url: str, n: int = 500) -> dict:
    app = _app(url)
    from sqlalchemy import select

    from app.awards import exports
    from app.awards.models import Award
    from app.extensions import db

    with app.app_context(), app.test_request_context():
        awards = db.session.scalars(select(Award).order_by(Award.id)).all()
        if not awards:
            return {"seconds": None, "rows": 0, "note": "no awards in the data set"}
        exports.letter_pdf(awards[0])
        t0 = time.perf_counter()
        size = 0
        for i in range(n):
            size += len(exports.letter_pdf(awards[i % len(awards)]))
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": n, "bytes": size, "distinct_awards": len(awards)}


def import_baseline(url: str) -> dict:
    _app(url)
    return {"seconds": 0, "rows": 0, "baseline_mb": _current_rss_mb()}


TASKS = {
    "assignment-2000": lambda a: assignment(2_000, 500),
    "assignment-10000": lambda a: assignment(10_000, 2_500),
    "ranking-10000": lambda a: ranking(10_000),
    "ranking-100000": lambda a: ranking(100_000),
    "csv-app": lambda a: csv_app(a.db),
    "csv-copy": lambda a: csv_copy(a.db),
    "csv-sqlite3": lambda a: csv_sqlite3(a.db),
    "xlsx": lambda a: xlsx(a.db, a.rows or 200_000),
    "xlsx-floor": lambda a: xlsx_floor(a.db, a.rows or 200_000),
    "verify-app": lambda a: verify_app(a.db),
    "verify-bare": lambda a: verify_bare(a.db),
    "pdf-application": lambda a: pdf_application(a.db),
    "pdf-notices": lambda a: pdf_notices(a.db),
    "import-baseline": lambda a: import_baseline(a.db),
}


def run_task(name: str, db: str | None = None, rows: int | None = None, timeout=1800) -> dict:
    """Run one task in a fresh interpreter; returns its JSON plus its peak RSS."""
    cmd = [sys.executable, "-m", "bench.micro", name]
    if db:
        cmd += ["--db", db]
    if rows:
        cmd += ["--rows", str(rows)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=common.ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    wall = time.perf_counter() - t0
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    result = json.loads(lines[-1])
    result["wall"] = wall
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(TASKS))
    parser.add_argument("--db", default=None)
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args(argv)
    result = TASKS[args.name](args)
    result["peak_mb"] = round(_rss_mb(), 1)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
