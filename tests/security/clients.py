"""Signed-in test clients for every identity of the world, and response outcomes."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import csrf_token, login
from tests.security.access_matrix import LOGIN, REDIRECT
from tests.security.world import ANONYMOUS, World


def clients_for(app, world: World, users: dict | None = None) -> dict:
    """identity → a client signed in as that identity's user (anonymous: not signed in)."""
    users = world.users if users is None else users
    clients = {ANONYMOUS: app.test_client()}
    for identity, user in users.items():
        client = app.test_client()
        login(client, user)
        clients[identity] = client
    return clients


def outcome(response):
    """The response as a matrix outcome: a status code, LOGIN or REDIRECT."""
    if 300 <= response.status_code < 400:
        target = urlsplit(response.headers.get("Location", ""))
        return LOGIN if target.path == "/login" else REDIRECT
    return response.status_code


def post_with_token(client, path: str, data: dict | None = None, **kwargs):
    """POST with a CSRF token valid for the client's session (taken from the login page)."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)
