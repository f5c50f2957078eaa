"""A request whose transaction only read ends it with COMMIT (psycopg keeps its prepared
statements); one that wrote without committing, failed, or left changes pending still
ends in a rollback, so nothing it did is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.accounts.models import User
from app.core.database import end_read_only_transaction
from app.extensions import db
from tests import factories
from tests.conftest import ON_POSTGRES, login


@pytest.fixture
def ends(committed_app):
    """The COMMITs and ROLLBACKs the app's connections issue (not the pool's reset)."""
    seen: list[str] = []
    with committed_app.app_context():
        engine = db.engine
    event.listen(engine, "commit", lambda _conn: seen.append("commit"))
    event.listen(engine, "rollback", lambda _conn: seen.append("rollback"))
    return seen


def _user(app, role="officer"):
    with app.app_context():
        user = factories.user(role)
        db.session.commit()
        return user.id, user.email


def test_a_page_that_only_reads_commits(committed_app, ends):
    user_id, _email = _user(committed_app)
    client = committed_app.test_client()
    with committed_app.app_context():
        login(client, db.session.get(User, user_id))
    ends.clear()
    assert client.get("/calls").status_code == 200
    assert ends == ["commit"]


@pytest.mark.skipif(not ON_POSTGRES, reason="psycopg's cache of prepared statements")
def test_prepared_statements_outlive_read_only_requests(committed_app):
    user_id, _email = _user(committed_app)
    client = committed_app.test_client()
    with committed_app.app_context():
        login(client, db.session.get(User, user_id))
        for _ in range(8):  # psycopg prepares a statement on its fifth use
            assert client.get("/calls").status_code == 200
        with db.engine.connect() as conn:
            prepared = conn.connection.dbapi_connection._prepared
            assert prepared._names, "nothing stayed prepared across the requests"


def _rename(app, user_id, name):
    user = db.session.get(User, user_id)
    user.name = name
    return user


def _name(app, user_id) -> str:
    with app.app_context():
        return db.session.scalar(select(User.name).where(User.id == user_id))


def test_a_flushed_uncommitted_write_is_rolled_back(committed_app, ends):
    user_id, _email = _user(committed_app)
    with committed_app.test_request_context("/"):
        _rename(committed_app, user_id, "改过的名字")
        db.session.flush()
        ends.clear()
        end_read_only_transaction(None)
        assert ends == []
    assert ends == ["rollback"]
    assert _name(committed_app, user_id) != "改过的名字"


def test_a_pending_change_is_not_committed(committed_app, ends):
    user_id, _email = _user(committed_app)
    with committed_app.test_request_context("/"):
        _rename(committed_app, user_id, "未保存的名字")
        end_read_only_transaction(None)
    assert _name(committed_app, user_id) != "未保存的名字"


def test_a_failed_request_is_rolled_back(committed_app, ends):
    user_id, _email = _user(committed_app)
    with committed_app.test_request_context("/"):
        db.session.get(User, user_id)
        ends.clear()
        end_read_only_transaction(RuntimeError("the view failed"))
        assert ends == []


def test_a_read_after_a_commit_in_the_same_request_commits(committed_app, ends):
    user_id, _email = _user(committed_app)
    with committed_app.test_request_context("/"):
        _rename(committed_app, user_id, "已保存的名字")
        db.session.commit()
        db.session.get(User, user_id)  # a new transaction that only reads
        ends.clear()
        end_read_only_transaction(None)
        assert ends == ["commit"]
    assert _name(committed_app, user_id) == "已保存的名字"
