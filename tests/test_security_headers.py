"""Security headers on every page; production settings are enforced at start."""

from __future__ import annotations

import pytest

import config
from app import create_app
from app.extensions import db
from tests import factories
from tests.conftest import login


def _parameterless_get_paths(app) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.arguments or "GET" not in rule.methods:
            continue
        paths.append(rule.rule)
    return sorted(paths)


def _check_headers(response, path: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert csp, path
    assert "'unsafe-inline'" not in csp, path
    assert "'unsafe-eval'" not in csp, path
    assert "frame-ancestors 'none'" in csp, path
    assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    assert response.headers.get("Referrer-Policy"), path


def test_headers_on_every_parameterless_get_route(app, client, session):
    paths = _parameterless_get_paths(app)
    assert "/login" in paths and "/" in paths
    for path in [*paths, "/no-such-page"]:
        _check_headers(client.get(path), path)
    officer = factories.user("officer")
    session.commit()
    login(client, officer)
    for path in [*paths, "/no-such-page", "/admin/users"]:
        response = client.get(path)
        assert response.status_code < 500, path
        _check_headers(response, path)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/no-such-page").status_code == 404
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_production_sends_hsts_and_secure_cookies(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    prod = create_app(
        {"ENV_NAME": "production", "SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": url}
    )
    try:
        response = prod.test_client().get("/login")
        assert response.status_code == 200
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        _check_headers(response, "/login")
        cookies = response.headers.getlist("Set-Cookie")
        assert cookies, "the login page sets the session cookie (CSRF token)"
        for cookie in cookies:
            assert "Secure" in cookie and "HttpOnly" in cookie, cookie
    finally:
        with prod.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(
    "overrides",
    [
        {"SECRET_KEY": config.DEFAULT_SECRET},
        {"SECRET_KEY": ""},
        {"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": None},
    ],
)
def test_production_refuses_unsafe_settings(app, overrides):
    settings = {
        "ENV_NAME": "production",
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        **overrides,
    }
    with pytest.raises(RuntimeError):
        create_app(settings)
