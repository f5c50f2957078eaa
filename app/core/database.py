"""Engine settings: SQLite pragmas and write transactions, PostgreSQL options."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE``.

    Every SQLite transaction begins IMMEDIATE: a deferred one that reads and
    then writes can fail at once with SQLITE_BUSY when another writer got in
    between, which would lose the audit head's serialisation.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def install_length_guard() -> None:
    """Refuse, as a 422, any string longer than its column before it reaches the database.

    PostgreSQL raises on an over-long VARCHAR (a 500) while SQLite stores it, so
    the same input would behave differently; this makes both refuse it cleanly.
    Raised in ``before_flush``, before any SQL, so the transaction stays usable.
    """
    from flask_babel import gettext as _
    from sqlalchemy import String
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.orm import Session

    from app.core.errors import ValidationFailed

    if event.contains(Session, "before_flush", _check_lengths_holder.get("fn")):
        return

    limits: dict = {}  # mapper -> ((attribute, length), ...): the mappings do not change

    def _limits_of(mapper):
        found = limits.get(mapper)
        if found is None:
            found = limits[mapper] = tuple(
                (attr.key, attr.columns[0].type.length)
                for attr in mapper.column_attrs
                if isinstance(attr.columns[0].type, String)
                and getattr(attr.columns[0].type, "length", None)
            )
        return found

    @event.listens_for(Session, "before_flush")
    def _check_lengths(session, _context, _instances):
        for obj in (*session.new, *session.dirty):
            state = sa_inspect(obj)
            values = state.dict
            for key, limit in _limits_of(state.mapper):
                value = values.get(key)
                if isinstance(value, str) and len(value) > limit:
                    raise ValidationFailed(_("输入过长：最多 %(n)s 个字符。", n=limit), field=key)

    _check_lengths_holder["fn"] = _check_lengths


_check_lengths_holder: dict = {}  # the one listener, so each create_app does not add another
