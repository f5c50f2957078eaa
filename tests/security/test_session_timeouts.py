"""ASVS V7.3: a session ends after SESSION_IDLE_MINUTES without a request and
SESSION_LIFETIME_HOURS after its login, whatever the activity; the expiry is audited
and the login page says why. Time moves with the app clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core import clock
from tests import factories
from tests.conftest import csrf_token, login, post

T0 = datetime(2026, 5, 11, 1, 0, tzinfo=UTC)


def _page(client, path="/notifications"):
    return client.get(path)


def _expiries(user_id):
    from app.extensions import db

    return list(
        db.session.scalars(
            select(AuditEvent.after)
            .where(AuditEvent.action == "auth.session_expired")
            .where(AuditEvent.entity_id == str(user_id))
            .order_by(AuditEvent.seq)
        )
    )


def test_idle_session_ends_with_a_message_and_an_audit_event(app, session, client):
    user = factories.user("officer")
    session.commit()
    with clock.frozen(T0):
        login(client, user)
    with clock.frozen(T0 + timedelta(minutes=29)):
        assert _page(client).status_code == 200  # activity moves the idle clock on
    with clock.frozen(T0 + timedelta(minutes=58)):
        assert _page(client).status_code == 200
    with clock.frozen(T0 + timedelta(minutes=88)):
        response = _page(client)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=/notifications")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "30 分钟未操作，登录已失效" in page
        assert _page(client).status_code == 302  # signed out for good
    (event,) = _expiries(user.id)
    assert event["reason"] == "idle"
    assert event["last_seen_at"].startswith("2026-05-11T01:58")
    kept = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_id == str(user.id))
        .order_by(AuditEvent.seq.desc())
        .limit(2)
    ).all()
    assert kept == ["auth.session_expired", "auth.login"]


def test_absolute_lifetime_ends_even_an_active_session(app, session, client):
    user = factories.user("applicant")
    session.commit()
    with clock.frozen(T0):
        login(client, user)
    for minutes in range(20, 12 * 60, 20):  # busy all day, never idle
        with clock.frozen(T0 + timedelta(minutes=minutes)):
            assert _page(client).status_code == 200, minutes
    with clock.frozen(T0 + timedelta(hours=12)):
        response = _page(client)
        assert response.status_code == 302
        assert "12 小时" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert [e["reason"] for e in _expiries(user.id)] == ["lifetime"]
    with clock.frozen(T0 + timedelta(hours=12, minutes=1)):
        login(client, user)  # a new login starts both clocks again
        assert _page(client).status_code == 200


def test_changing_password_keeps_the_lifetime(app, session, client, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 24 * 60)
    user = factories.user("officer")
    session.commit()
    with clock.frozen(T0):
        login(client, user)
    with clock.frozen(T0 + timedelta(hours=11)):
        response = post(
            client,
            "/account/password",
            {"old_password": factories.PASSWORD, "password": "N3w-passw0rd-x"},
        )
        assert response.status_code == 302 and response.headers["Location"] == "/account"
    with clock.frozen(T0 + timedelta(hours=12, minutes=1)):
        login_page = client.get("/login")  # a public page: shown, signed out, with the reason
        assert login_page.status_code == 200
        assert "12 小时" in login_page.get_data(as_text=True)
        assert _page(client).status_code == 302
    assert [e["reason"] for e in _expiries(user.id)] == ["lifetime"]


def test_expired_form_post_is_refused_before_the_view(app, session, client):
    user = factories.user("officer")
    session.commit()
    with clock.frozen(T0):
        login(client, user)
        token = csrf_token(client, "/account")
    with clock.frozen(T0 + timedelta(minutes=31)):
        response = client.post(
            "/account", data={"csrf_token": token, "locale": "en", "notify_by_mail": "y"}
        )
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    session.refresh(user)
    assert user.locale != "en"
    assert [e["reason"] for e in _expiries(user.id)] == ["idle"]


def test_activity_is_noted_once_a_minute_not_on_every_page(app, session, client):
    user = factories.user("officer")
    session.commit()
    with clock.frozen(T0):
        login(client, user)
    with clock.frozen(T0 + timedelta(seconds=59)):
        assert "Set-Cookie" not in _page(client).headers  # the same minute: cookie unchanged
    with clock.frozen(T0 + timedelta(seconds=61)):
        assert "Set-Cookie" in _page(client).headers  # the idle clock moves on
    with clock.frozen(T0 + timedelta(seconds=61 + 30 * 60 - 1)):
        assert _page(client).status_code == 200  # idle counted from 61 s, not from the login


def test_config_defaults(app):
    from config import Config

    assert Config.SESSION_IDLE_MINUTES == 30
    assert Config.SESSION_LIFETIME_HOURS == 12
