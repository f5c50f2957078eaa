from sqlalchemy import select

from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import login, post


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
