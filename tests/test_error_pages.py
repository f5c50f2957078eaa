"""Error pages render in Chinese, as full pages with navigation back."""

from __future__ import annotations

from tests import factories
from tests.conftest import login


def test_404_in_chinese(client, session):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "页面不存在，或您无权查看。" in page and "返回工作台" in page


def test_403_in_chinese(client, session):
    user = factories.user("applicant")
    session.commit()
    login(client, user)
    response = client.get("/audit/events")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "您没有访问此页面的权限。" in page and "返回工作台" in page


def test_api_errors_are_json(client, session):
    response = client.get("/api/v1/audit/events")
    assert response.status_code == 401
    assert response.is_json and response.json["error"]["code"] == "unauthorized"


def test_anonymous_is_sent_to_login_with_next(client, session):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")
