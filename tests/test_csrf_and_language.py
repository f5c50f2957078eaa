"""CSRF on every form POST; the language switch is a POST that sets the locale."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Organisation
from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import login, post

CSRF_MESSAGE = "表单已过期或缺少安全令牌，请刷新页面后重试。"


def test_post_without_token_is_refused_and_writes_nothing(client, session):
    admin = factories.user("admin")
    session.commit()
    login(client, admin)
    orgs = session.scalar(select(func.count(Organisation.id)))
    events = session.scalar(select(func.count(AuditEvent.seq)))
    response = client.post("/admin/orgs/new", data={"name": "无令牌学会", "kind": "society"})
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    bad = client.post(
        "/admin/orgs/new", data={"name": "假令牌学会", "kind": "society", "csrf_token": "forged"}
    )
    assert bad.status_code == 400
    assert CSRF_MESSAGE in bad.get_data(as_text=True)
    assert session.scalar(select(func.count(Organisation.id))) == orgs
    assert session.scalar(select(func.count(AuditEvent.seq))) == events
    # The same form with its token goes through.
    assert (
        post(client, "/admin/orgs/new", {"name": "有令牌学会", "kind": "society"}).status_code
        == 302
    )


def test_login_without_token_is_refused_and_not_audited(client, session):
    user = factories.user("officer")
    session.commit()
    events = session.scalar(select(func.count(AuditEvent.seq)))
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert session.scalar(select(func.count(AuditEvent.seq))) == events
    assert client.get("/").status_code == 302


def test_language_switch_is_a_post(client, session):
    assert client.get("/language").status_code == 405
    assert client.get("/language?locale=en").status_code == 405
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)
    refused = client.post("/language", data={"locale": "en"})
    assert refused.status_code == 400  # no CSRF token
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)
    response = post(client, "/language", {"locale": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    assert post(client, "/language", {"locale": "fr"}).status_code == 400
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    post(client, "/language", {"locale": "zh_CN"})
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)


def test_signed_in_language_choice_is_remembered(app, session):
    user = factories.user("officer")
    session.commit()
    client = app.test_client()
    login(client, user)
    post(client, "/language", {"locale": "en"})
    session.refresh(user)
    assert user.locale == "en"
    fresh = app.test_client()
    login(fresh, user)
    assert '<html lang="en">' in fresh.get("/").get_data(as_text=True)
