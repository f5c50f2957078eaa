"""The session's user in one statement (issue 10), the header badge from it, and the
same refusals as before: a disabled user or an old session version signs nobody in."""

from __future__ import annotations

from flask_login import login_user
from sqlalchemy import event, update

from app.accounts.loading import load_session_user, unread_badge
from app.core import clock
from app.core.models import Notification
from app.extensions import db
from tests import factories as f
from tests.conftest import login, post


def _statements(fn):
    seen = []

    def on_execute(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    return result, seen


def _notify(user, n: int) -> None:
    for i in range(n):
        db.session.add(Notification(user_id=user.id, subject=f"消息{i}", body="正文"))
    db.session.flush()


def test_user_org_roles_and_unread_count_come_in_one_statement(app, session):
    user = f.user("officer", "approver")
    _notify(user, 3)
    user_id, version = user.id, user.session_version
    db.session.expunge_all()  # as in a new request: nothing in the identity map
    with app.test_request_context("/"):
        loaded, statements = _statements(lambda: load_session_user(f"{user_id}:{version}"))
        assert loaded is not None and loaded.id == user_id
        assert len(statements) == 1
        (roles, org_name), more = _statements(lambda: (loaded.role_names, loaded.org.name))
        assert roles == {"officer", "approver"} and org_name and more == []
        login_user(loaded)
        badge, more = _statements(unread_badge)
        assert badge == 3 and more == []


def test_the_badge_counts_again_once_the_request_has_written(app, session):
    user = f.user()
    _notify(user, 1)
    with app.test_request_context("/"):
        login_user(load_session_user(user.get_id()))
        assert unread_badge() == 1
        _notify(user, 2)  # a flush: the count taken with the user is stale now
        assert unread_badge() == 3
        db.session.execute(
            update(Notification).where(Notification.user_id == user.id).values(read_at=clock.now())
        )
        assert unread_badge() == 0


def test_disabled_users_and_old_sessions_are_refused_as_before(app, session):
    user = f.user()
    stale = f"{user.id}:{user.session_version}"
    with app.test_request_context("/"):
        assert load_session_user("x:1") is None
        assert load_session_user(f"{user.id}:x") is None
        assert load_session_user("999999999:1") is None
        user.session_version += 1
        db.session.flush()
        assert load_session_user(stale) is None
        assert load_session_user(user.get_id()).id == user.id
        user.is_enabled = False
        db.session.flush()
        assert load_session_user(user.get_id()) is None


def test_the_header_shows_the_unread_count_and_drops_it_once_read(client, session):
    user = f.user()
    _notify(user, 2)
    login(client, user)
    page = client.get("/notifications").get_data(as_text=True)
    assert 'text-bg-warning">2<' in page
    response = post(client, "/notifications/read", {"all": "1"})
    assert response.status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert "text-bg-warning" not in page
