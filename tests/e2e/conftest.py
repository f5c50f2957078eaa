"""Browser tests: a live server on a database of its own, driven by the system Chromium."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ON_POSTGRES, make_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if ON_POSTGRES:
                item.add_marker(pytest.mark.skip(reason="browser tests run once, on SQLite"))


@pytest.fixture(scope="module")
def live_app(databases, tmp_path_factory):
    application = make_app(
        databases.new_url(), tmp_path_factory.mktemp("e2e-files"), RATELIMIT_ENABLED=False
    )
    return application


@pytest.fixture(scope="module")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(tab, name: str) -> Path:
    """Save a screenshot as a test artefact (the user guide uses them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(tab) -> list[dict]:
    """Serious and critical accessibility violations on the current page (axe-core)."""
    # Loaded from our own static folder: the CSP forbids inline script, even in tests.
    origin = tab.evaluate("location.origin")
    tab.add_script_tag(url=f"{origin}/static/vendor/axe/axe.min.js")
    result = tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def login(tab, base: str, email: str, password: str) -> None:
    """Sign in through the login form."""
    tab.goto(f"{base}/login")
    tab.get_by_label("邮箱").fill(email)
    tab.get_by_label("密码").fill(password)
    tab.get_by_role("button", name="登录").click()
    tab.wait_for_load_state()
