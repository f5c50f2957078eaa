"""The optional TOTP second factor: enrolment, the login's second step, one use per
code, lockout, required roles, exemption, and the security administrator's reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from app.accounts import mfa
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import NotAllowed
from tests import factories
from tests.conftest import csrf_token, login, post

T0 = clock.as_utc(clock.now().replace(microsecond=0))


def _code(secret: str, at=None) -> str:
    return pyotp.TOTP(secret).at(at or clock.now())


def _enrol(client) -> str:
    page = client.get("/account/mfa").get_data(as_text=True)
    secret = re.search(r'<code id="mfa-secret">([A-Z2-7]+)</code>', page).group(1)
    assert "otpauth://totp/" in page
    answer = post(client, "/account/mfa", {"code": _code(secret)})
    assert answer.status_code == 302, answer.status_code
    return secret


def _password_step(client, user, next_path=None):
    path = "/login" + (f"?next={next_path}" if next_path else "")
    return client.post(
        path,
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )


def test_enrol_then_log_in_with_the_second_step(app, session):
    officer = factories.user("officer")
    session.commit()
    client = app.test_client()
    with clock.frozen(T0):
        login(client, officer)
        secret = _enrol(client)
    session.refresh(officer)
    assert officer.mfa_enabled and officer.totp_secret and secret not in officer.totp_secret
    events = session.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(officer.id)))
    assert all(secret not in str((e.before, e.after, e.reason)) for e in events)

    fresh = app.test_client()
    with clock.frozen(T0 + timedelta(minutes=2)):
        first = _password_step(fresh, officer, "/calls")
        assert first.headers["Location"] == "/login/mfa"
        assert fresh.get("/applications").status_code == 302  # not signed in yet
        wrong = post(fresh, "/login/mfa", {"code": "000000"})
        assert wrong.status_code == 401
        good = post(fresh, "/login/mfa", {"code": _code(secret)})
        assert good.status_code == 302 and good.headers["Location"] == "/calls"
        assert fresh.get("/calls/manage").status_code == 200
        # The same code never works twice (a replayed code).
        again = app.test_client()
        _password_step(again, officer)
        assert post(again, "/login/mfa", {"code": _code(secret)}).status_code == 401
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_id == str(officer.id), AuditEvent.action.like("auth.mfa%"))
        .order_by(AuditEvent.seq)
    ).all()
    assert actions == ["auth.mfa_enable", "auth.mfa_failed", "auth.mfa_verified", "auth.mfa_failed"]


def test_too_many_codes_send_one_back_to_the_password(app, session):
    officer = factories.user("officer")
    session.commit()
    client = app.test_client()
    login(client, officer)
    _enrol(client)
    fresh = app.test_client()
    _password_step(fresh, officer)
    for _ in range(mfa.MAX_TRIES - 1):
        assert post(fresh, "/login/mfa", {"code": "123456"}).status_code == 401
    last = post(fresh, "/login/mfa", {"code": "123456"})
    assert last.status_code == 302 and last.headers["Location"] == "/login"
    assert fresh.get("/login/mfa").headers["Location"] == "/login"
    session.refresh(officer)
    assert officer.locked_until is not None  # failures count toward the lockout


def test_second_step_without_a_password_step_goes_back_to_login(app, session):
    client = app.test_client()
    assert client.get("/login/mfa").headers["Location"] == "/login"
    answer = post(client, "/login/mfa", {"code": "123456"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"


def test_required_roles_must_enrol_and_exempt_users_need_not(app, session):
    officer = factories.user("officer")
    exempt = factories.user("finance")
    exempt.mfa_exempt = True
    applicant = factories.user("applicant")
    session.commit()
    app.config["MFA_REQUIRED_ROLES"] = mfa.MFA_ROLES
    try:
        client = app.test_client()
        answer = _password_step(client, officer)
        assert answer.headers["Location"] == "/account/mfa"
        assert client.get("/calls/manage").headers["Location"] == "/account/mfa"
        assert post(client, "/funds", {"name": "x"}).status_code == 403
        _enrol(client)
        assert client.get("/calls/manage").status_code == 200
        page = client.get("/account/mfa").get_data(as_text=True)
        assert "关闭两步验证" not in page  # required: cannot be turned off
        for user, home in ((exempt, "/ledger/"), (applicant, "/applications")):
            other = app.test_client()
            assert _password_step(other, user).headers["Location"] == "/"
            assert other.get(home).status_code == 200
    finally:
        app.config["MFA_REQUIRED_ROLES"] = ()


def test_roles_without_the_factor_cannot_open_enrolment(app, session):
    applicant = factories.user("applicant")
    session.commit()
    client = app.test_client()
    login(client, applicant)
    assert client.get("/account/mfa").status_code == 403


def test_security_admin_resets_a_lost_factor_with_a_reason(app, session):
    officer = factories.user("officer")
    security = factories.user("security_admin")
    admin = factories.user("admin")
    session.commit()
    client = app.test_client()
    login(client, officer)
    _enrol(client)
    session.refresh(officer)
    version = officer.session_version
    for other in (admin, factories.user("audit_admin")):
        with pytest.raises(NotAllowed):
            mfa.reset(officer, actor=other, reason="手机丢失")
    session.commit()
    admin_client = app.test_client()
    login(admin_client, admin)
    assert (
        post(admin_client, f"/security/users/{officer.id}/mfa", {"reason": "x"}).status_code == 403
    )
    sec = app.test_client()
    login(sec, security)
    assert "重置两步验证" in sec.get("/security/users").get_data(as_text=True)
    refused = post(sec, f"/security/users/{officer.id}/mfa", {"reason": ""})
    assert refused.status_code == 303
    session.refresh(officer)
    assert officer.mfa_enabled
    done = post(sec, f"/security/users/{officer.id}/mfa", {"reason": "手机丢失，本人书面申请"})
    assert done.status_code == 302
    session.expire_all()
    officer = session.get(User, officer.id)
    assert not officer.mfa_enabled and officer.totp_secret is None
    assert officer.session_version == version + 1
    assert client.get("/calls/manage").status_code == 302  # the old session ended
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.mfa_reset")).one()
    assert (event.actor_id, event.entity_id, event.reason) == (
        security.id,
        str(officer.id),
        "手机丢失，本人书面申请",
    )
    assert event.after == {"mfa_enabled": False}


def test_a_user_turns_an_optional_factor_off_with_a_code(app, session):
    officer = factories.user("officer")
    session.commit()
    client = app.test_client()
    with clock.frozen(T0):
        login(client, officer)
        secret = _enrol(client)
    with clock.frozen(T0 + timedelta(minutes=1)):
        assert post(client, "/account/mfa/disable", {"code": "000000"}).status_code == 303
        assert post(client, "/account/mfa/disable", {"code": _code(secret)}).status_code == 302
    session.refresh(officer)
    assert not officer.mfa_enabled and officer.totp_secret is None
