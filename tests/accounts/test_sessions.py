"""Sessions end when the password changes or the account is disabled; forged cookies fail."""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import login, post

NEW_PASSWORD = "N3w-passw0rd-x"


def _is_signed_in(client) -> bool:
    response = client.get("/notifications")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def test_password_change_ends_other_sessions_but_keeps_this_one(app, session):
    user = factories.user("officer")
    session.commit()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user)
    login(elsewhere, user)
    assert _is_signed_in(here) and _is_signed_in(elsewhere)
    response = post(
        here,
        "/account/password",
        {"old_password": factories.PASSWORD, "password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _is_signed_in(here)
    assert not _is_signed_in(elsewhere)
    assert (
        "auth.password_change"
        in session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id))
        ).all()
    )
    login(elsewhere, user, NEW_PASSWORD)


def test_wrong_old_password_changes_nothing(app, session):
    user = factories.user("officer")
    session.commit()
    client = app.test_client()
    login(client, user)
    response = post(
        client, "/account/password", {"old_password": "wrong-passw0rd", "password": NEW_PASSWORD}
    )
    assert response.status_code == 422
    assert "原密码不正确" in response.get_data(as_text=True)
    assert _is_signed_in(client)
    login(app.test_client(), user)


def test_disabling_a_user_ends_their_sessions(app, session):
    admin = factories.user("admin")
    user = factories.user("officer")
    session.commit()
    admin_client, user_client = app.test_client(), app.test_client()
    login(admin_client, admin)
    login(user_client, user)
    assert _is_signed_in(user_client)
    response = post(
        admin_client, f"/admin/users/{user.id}/enabled", {"enabled": "0", "reason": "离职"}
    )
    assert response.status_code == 302
    assert "账号已停用" in admin_client.get("/admin/users").get_data(as_text=True)
    assert not _is_signed_in(user_client)
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "user.disable", AuditEvent.entity_id == str(user.id)
        )
    ).one()
    assert (event.actor_id, event.reason) == (admin.id, "离职")
    refused = post(user_client, "/login", {"email": user.email, "password": factories.PASSWORD})
    assert refused.status_code == 401


def test_security_admin_can_end_sessions(app, session):
    security = factories.user("security_admin")
    user = factories.user("officer")
    session.commit()
    security_client, user_client = app.test_client(), app.test_client()
    login(security_client, security)
    login(user_client, user)
    assert post(security_client, f"/security/users/{user.id}/sessions").status_code == 302
    assert not _is_signed_in(user_client)


def test_forged_session_cookie_is_anonymous(app, session):
    user = factories.user("officer")
    session.commit()
    # A cookie carrying the user's id, signed with a key that is not the app's.
    forger = Flask("forger")
    forger.secret_key = "not-the-real-secret"
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    cookie = serializer.dumps({"_user_id": user.get_id(), "_fresh": True})
    client = app.test_client()
    client.set_cookie("session", cookie)
    assert not _is_signed_in(client)
    client.set_cookie("session", "garbage.value.here")
    assert not _is_signed_in(client)
    # The same payload signed with the real key would be accepted: the signature is what fails.
    genuine = SecureCookieSessionInterface().get_signing_serializer(app)
    client.set_cookie("session", genuine.dumps({"_user_id": user.get_id(), "_fresh": True}))
    assert _is_signed_in(client)
