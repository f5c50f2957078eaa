"""Password reset: a mailed, signed, single-use, expiring link."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core import clock
from app.core.models import Notification, OutboxMessage
from tests import factories
from tests.conftest import login, post

NEW_PASSWORD = "N3w-passw0rd-x"
SAME_ANSWER = "如果该邮箱已注册，重置链接已发送，请查收。"


def _request_link(client, session, user) -> str:
    response = post(client, "/password/forgot", {"email": user.email.upper()})
    assert response.status_code == 302
    assert SAME_ANSWER in client.get("/login").get_data(as_text=True)
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.to_user_id == user.id)).one()
    assert mail.sent_at is None and mail.to_address == user.email
    note = session.scalars(select(Notification).where(Notification.user_id == user.id)).one()
    assert note.link and note.link.startswith("/password/reset/")
    match = re.search(r"https?://\S+(/password/reset/\S+)", mail.body)
    assert match, mail.body
    assert match.group(1) == note.link
    return match.group(1)


def test_reset_link_works_once(client, session):
    user = factories.user("officer")
    session.commit()
    link = _request_link(client, session, user)
    assert client.get(link).status_code == 200
    response = post(client, link, {"password": NEW_PASSWORD})
    assert response.status_code == 302
    login(client, user, NEW_PASSWORD)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_id == str(user.id))
    ).all()
    assert "auth.password_reset_requested" in actions and "auth.password_reset" in actions

    other = client.application.test_client()
    used = other.get(link)
    assert used.status_code == 400
    assert "重置链接已使用或无效" in used.get_data(as_text=True)
    again = post(other, link, {"password": "An0ther-passw0rd"})
    assert again.status_code == 400
    login(other, user, NEW_PASSWORD)


def test_expired_link_is_refused(client, session):
    user = factories.user("officer")
    session.commit()
    link = _request_link(client, session, user)
    max_age = client.application.config["PASSWORD_RESET_MAX_AGE"]
    with clock.frozen(clock.now() + timedelta(seconds=max_age - 60)):
        assert client.get(link).status_code == 200
    with clock.frozen(clock.now() + timedelta(seconds=max_age + 60)):
        response = post(client, link, {"password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "重置链接已过期" in response.get_data(as_text=True)
    login(client, user)  # the old password still works


def test_forged_link_is_refused(client, session):
    user = factories.user("officer")
    session.commit()
    link = _request_link(client, session, user)
    token = link.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for path in (f"/password/reset/{forged}", "/password/reset/not-a-token"):
        response = post(client, path, {"password": NEW_PASSWORD})
        assert response.status_code == 400
        assert "重置链接无效" in response.get_data(as_text=True)
    login(client, user)


def test_unknown_email_gets_the_same_answer_and_nothing_is_sent(client, session):
    before = session.scalar(select(func.count(OutboxMessage.id)))
    notes = session.scalar(select(func.count(Notification.id)))
    response = post(client, "/password/forgot", {"email": "nobody@test.cn"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert SAME_ANSWER in client.get("/login").get_data(as_text=True)
    assert session.scalar(select(func.count(OutboxMessage.id))) == before
    assert session.scalar(select(func.count(Notification.id))) == notes
