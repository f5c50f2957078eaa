from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts import operations as ops
from app.audit.models import AuditEvent
from app.core import clock
from tests import factories
from tests.conftest import csrf_token, login, post


def test_login_success_is_audited(client, session):
    user = factories.user("officer")
    login(client, user)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id))
    ).all()
    assert "auth.login" in actions
    assert client.get("/").status_code == 200


def test_wrong_password_is_generic_401_and_audited(client, session):
    user = factories.user("officer")
    response = post(client, "/login", {"email": user.email, "password": "wrong-password-1"})
    assert response.status_code == 401
    assert "邮箱或密码不正确" in response.get_data(as_text=True)
    unknown = post(client, "/login", {"email": "nobody@test.cn", "password": "wrong-password-1"})
    assert unknown.status_code == 401
    assert "邮箱或密码不正确" in unknown.get_data(as_text=True)
    reasons = [
        e.after["reason"]
        for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
    ]
    assert "bad_password" in reasons and "unknown_user" in reasons


# ------------------------------------------------------------ more login rules

GENERIC = "邮箱或密码不正确"


def _failures(session, user_id=None) -> list[str]:
    stmt = select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    if user_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == str(user_id))
    return [e.after["reason"] for e in session.scalars(stmt.order_by(AuditEvent.seq))]


def test_disabled_user_gets_the_same_generic_401(client, session):
    admin = factories.user("admin")
    user = factories.user("officer")
    ops.set_enabled(user, False, actor=admin)
    session.commit()
    response = post(client, "/login", {"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)
    assert _failures(session, user.id) == ["disabled"]
    assert client.get("/").status_code == 302  # still anonymous


def test_lockout_after_five_failures_until_unlocked(client, session):
    user = factories.user("officer")
    security = factories.user("security_admin")
    session.commit()
    for _ in range(5):
        response = post(client, "/login", {"email": user.email, "password": "wrong-passw0rd"})
        assert response.status_code == 401
    session.refresh(user)
    assert user.failed_logins == 5 and user.locked_until is not None
    # Even the right password is refused while locked, with the same message.
    locked = post(client, "/login", {"email": user.email, "password": factories.PASSWORD})
    assert locked.status_code == 401
    assert GENERIC in locked.get_data(as_text=True)
    assert _failures(session, user.id) == ["bad_password"] * 4 + ["locked_after_failures", "locked"]

    admin_client = client.application.test_client()
    login(admin_client, security)
    unlocked = post(admin_client, f"/security/users/{user.id}/unlock")
    assert unlocked.status_code == 302
    session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None
    assert (
        session.scalar(
            select(AuditEvent.actor_id).where(
                AuditEvent.action == "user.unlock", AuditEvent.entity_id == str(user.id)
            )
        )
        == security.id
    )
    login(client, user)


def test_lock_expires_with_the_clock(client, session):
    user = factories.user("officer")
    session.commit()
    for _ in range(5):
        post(client, "/login", {"email": user.email, "password": "wrong-passw0rd"})
    minutes = client.application.config["LOGIN_LOCKOUT_MINUTES"]
    with clock.frozen(clock.now() + timedelta(minutes=minutes - 1)):
        refused = post(client, "/login", {"email": user.email, "password": factories.PASSWORD})
        assert refused.status_code == 401
    later = clock.now() + timedelta(minutes=minutes + 1)
    with clock.frozen(later):
        login(client, user)


def test_throttled_per_account(client, session, monkeypatch):
    monkeypatch.setitem(client.application.config, "LOGIN_LIMIT_PER_ACCOUNT", "3 per 5 minutes")
    user = factories.user("officer")
    session.commit()
    for _ in range(3):
        assert (
            post(client, "/login", {"email": user.email, "password": "x-wrong-1"}).status_code
            == 401
        )
    response = post(client, "/login", {"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 429
    assert "操作过于频繁，请稍后再试" in response.get_data(as_text=True)
    # Another account from the same address is not affected by this account's limit.
    other = factories.user("officer")
    session.commit()
    login(client, other)


def test_throttled_per_ip(client, session, monkeypatch):
    monkeypatch.setitem(client.application.config, "LOGIN_LIMIT_PER_IP", "4 per minute")
    for i in range(4):
        response = post(client, "/login", {"email": f"nobody{i}@test.cn", "password": "x-wrong-1"})
        assert response.status_code == 401
    response = post(client, "/login", {"email": "nobody9@test.cn", "password": "x-wrong-1"})
    assert response.status_code == 429
    assert "操作过于频繁，请稍后再试" in response.get_data(as_text=True)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:1"])
def test_login_never_redirects_off_site(client, session, next_url):
    user = factories.user("officer")
    session.commit()
    response = client.post(
        f"/login?next={next_url}",
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
