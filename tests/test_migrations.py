"""The migrations produce exactly the models' schema, and downgrade cleanly."""

from __future__ import annotations

import importlib
import pkgutil

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

import app as app_package
from app.audit import trail
from app.audit.context import audit_context
from app.extensions import db


def _import_every_model() -> None:
    """Load every module's models, so the metadata holds every table migrations create."""
    for info in pkgutil.walk_packages(app_package.__path__, "app."):
        if info.name.rsplit(".", 1)[-1] == "models" or ".models." in info.name:
            importlib.import_module(info.name)


def _diff(connection) -> list:
    _import_every_model()
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": False, "render_as_batch": True},
    )
    return compare_metadata(context, db.metadata)


def test_models_match_the_migrated_database(app, session):
    differences = _diff(session.connection())
    assert differences == [], "\n".join(str(d) for d in differences)


def test_downgrade_to_base_and_upgrade_again(committed_app):
    with committed_app.app_context():
        with audit_context(actor_role="system"):
            trail.record("test.before_downgrade", "thing", 1)
            db.session.commit()
        tables = set(inspect(db.engine).get_table_names())
        assert {"audit_event", "audit_head", "user", "organisation"} <= tables
        db.session.remove()

        flask_migrate.downgrade(revision="base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set(), left

        flask_migrate.upgrade()
        assert set(inspect(db.engine).get_table_names()) >= tables
        with db.engine.connect() as connection:
            assert _diff(connection) == []
            head = connection.execute(text("SELECT seq, hash FROM audit_head")).one()
            assert tuple(head) == (0, "0" * 64)
        # The append-only trigger is back after the round trip.
        with audit_context(actor_role="system"):
            trail.record("test.after_upgrade", "thing", 1)
            db.session.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("DELETE FROM audit_event"))
            db.session.commit()
        db.session.rollback()
        db.session.remove()
