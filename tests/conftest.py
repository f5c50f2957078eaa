"""Fixtures: one migrated database per run (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), each test rolled back; committed databases on demand."""

from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import pytest
from argon2 import PasswordHasher
from flask import g, has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from app import create_app
from app.accounts import operations as _accounts_ops
from app.core import clock
from app.extensions import db, limiter

# Production hashes cost about 0.3 s each (argon2id, 64 MiB); tests create hundreds of users,
# so they use the same algorithm at its cheapest (verification reads the cost from the hash).
_accounts_ops._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
_accounts_ops._DUMMY_HASH = _accounts_ops._hasher.hash("not-a-password")

# `make test` runs the same generated examples every time, so a green suite stays green;
# `make soak` (SOAK=1) explores new ones.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile("explore" if os.environ.get("SOAK") else "repeatable")

PG_URL = os.environ.get("TEST_DATABASE_URL")
ON_POSTGRES = bool(PG_URL)


def _pg_url(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg://", 1)
        if url.startswith("postgresql://")
        else url
    )


class Databases:
    """Creates and drops the databases a run uses."""

    def __init__(self, tmp_root: Path):
        self.tmp_root = tmp_root
        self.created: list[str] = []

    def new_url(self) -> str:
        if not ON_POSTGRES:
            return f"sqlite:///{self.tmp_root / f'db-{uuid.uuid4().hex[:8]}.sqlite'}"
        name = f"grants_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(_pg_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(_pg_url(PG_URL)).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(_pg_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.drop_all()


class IsolatedClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``.

    The ``session`` fixture keeps one app context for the whole test (so that
    requests share its rolled-back database session); Flask reuses that
    context for each request, so without this ``g`` would carry Flask-Login's
    cached user and Flask-WTF's CSRF token from one request, or one client,
    to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(g):
                g.pop(key, None)
        return super().open(*args, **kwargs)


def make_app(url: str, upload_dir: Path, **overrides):
    """A testing app on ``url``, migrated to head."""
    config = {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": url,
        "UPLOAD_DIR": str(upload_dir),
        "AUDIT_SIGNING_KEY": str(upload_dir / "keys"),
        **overrides,
    }
    application = create_app(config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        flask_migrate.upgrade()
    return application


@pytest.fixture(scope="session")
def app(databases, tmp_path_factory):
    return make_app(databases.new_url(), tmp_path_factory.mktemp("files"))


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with the real clock and empty rate-limit counters."""
    clock.set_now(None)
    yield
    clock.set_now(None)


class ConnectionSession(FlaskSession):
    """Always use the test's connection (Flask-SQLAlchemy would pick the engine)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


@pytest.fixture
def session(app):
    """The test's database session: everything it does is rolled back afterwards."""
    with app.app_context():
        limiter.reset()
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": ConnectionSession,
            }
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def committed_app(databases, tmp_path):
    """An app on a database of its own, for tests that need committed data."""
    application = make_app(databases.new_url(), tmp_path / "files")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """A CSRF token valid for ``client``'s session."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client, path: str, data: dict | None = None, **kwargs):
    """POST a form with a valid CSRF token."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def login(client, user, password: str = "Passw0rd-test"):
    """Sign ``user`` in through the login form."""
    response = post(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@contextmanager
def statements(bind=None):
    """The SQL statements ``bind`` (the app's engine by default) executes inside the
    block, whitespace collapsed, in order."""
    seen: list[str] = []

    def on_execute(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    bind = bind if bind is not None else db.engine
    event.listen(bind, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", on_execute)


def queries_of(client, path: str) -> int:
    """Statements a GET of ``path`` executes once warm (caches of immutable things such
    as rubrics are not the point); the page must answer 200."""
    client.get(path)
    with statements() as seen:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(seen)
