"""What the benchmarks share: databases, the app on them, machine facts, timing.

Not part of the test run. Every database the benchmarks create lives on the
server of ``BENCH_PG_URL`` (default: the local test server) or in
``bench/results/data`` (git ignores ``bench/results/``).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Under bench/results/, which git ignores: data sets, uploaded files, raw figures.
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", ROOT / "bench" / "results" / "data"))
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "bench-pass-2026"


def pg_url(name: str) -> str:
    """The URL of database ``name`` on the benchmark PostgreSQL server."""
    url = PG_SERVER.replace("postgresql://", "postgresql+psycopg://", 1)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def sqlite_url(name: str) -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / (name + '.sqlite')}"


def url_for_db(kind: str, name: str) -> str:
    return pg_url(name) if kind == "postgresql" else sqlite_url(name)


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def _admin(url: str):
    """An AUTOCOMMIT engine on the ``postgres`` database of ``url``'s server."""
    server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    return create_engine(server, isolation_level="AUTOCOMMIT")


def recreate_database(url: str) -> None:
    """Drop and create the database at ``url`` (a file for SQLite)."""
    if not is_postgres(url):
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    name = make_url(url).database
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def copy_database(source: str, target: str) -> None:
    """A copy of database ``source`` at ``target`` (PostgreSQL: CREATE DATABASE … TEMPLATE)."""
    if not is_postgres(source):
        src = sqlite3.connect(make_url(source).database)
        drop_database(target)
        dst = sqlite3.connect(make_url(target).database)
        src.backup(dst)
        dst.close()
        src.close()
        return
    name, template = make_url(target).database, make_url(source).database
    admin = _admin(target)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()


def drop_database(url: str) -> None:
    """Drop the database at ``url`` (remove the SQLite file)."""
    if not is_postgres(url):
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    name = make_url(url).database
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def database_exists(url: str) -> bool:
    if not is_postgres(url):
        return Path(make_url(url).database).exists()
    name = make_url(url).database
    admin = _admin(url)
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
    admin.dispose()
    return bool(found)


def cheap_passwords() -> None:
    """Argon2id at its cheapest for the generated accounts (as the tests do).

    Production hashes cost about 0.3 s each; verification reads the cost from
    the hash, so logins of generated users are cheap too. The login page's
    cost is therefore not part of these figures.
    """
    from argon2 import PasswordHasher

    from app.accounts import operations as accounts

    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("not-a-password")


def make_app(url: str, *, upload_dir: Path | None = None, **overrides):
    """The app on ``url`` (testing config: no mail, CSRF on), not migrated."""
    from app import create_app

    upload_dir = upload_dir or (DATA_DIR / "files")
    config = {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": url,
        "UPLOAD_DIR": str(upload_dir),
        "AUDIT_SIGNING_KEY": str(upload_dir / "keys"),
        "RATELIMIT_ENABLED": False,
        **overrides,
    }
    return create_app(config)


def migrate(app) -> None:
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()


class QueryCounter:
    """Counts the statements an engine executes (a ``before_cursor_execute`` listener)."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _on(self, *_args, **_kwargs):
        self.count += 1

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._on)


@contextmanager
def timer():
    box = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - start


def percentile(values, p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                kb = int(re.findall(r"\d+", line)[0])
                return f"{kb / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def pg_version() -> str:
    try:
        engine = create_engine(pg_url("postgres"))
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
        return str(version)
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        return f"unavailable ({type(exc).__name__})"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine() -> dict:
    """Facts about the machine the figures come from."""
    cli = shutil.which("sqlite3")
    cli_version = (
        subprocess.run([cli, "--version"], capture_output=True, text=True).stdout.split()[0]
        if cli
        else "not installed"
    )
    return {
        "nproc": os.cpu_count(),
        "memory": _memory(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlite_cli": cli_version,
        "postgresql": pg_version(),
        "kernel": platform.release(),
    }


def analyze(url: str) -> None:
    """``VACUUM ANALYZE``: the state autovacuum keeps a production database in.

    The benchmark server may run without autovacuum. A database copied or just filled
    has no planner statistics (the application list then sorted every row of the call
    instead of reading 50 by index), and the generator's many updates of each row leave
    its dead versions in place with no visibility map (counting a call's 2,000
    applications read 8,000 row versions: ≈4 ms of database time a page, 0.8 after)."""
    if not is_postgres(url):
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
