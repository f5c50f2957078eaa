"""The shell in a real browser: Chinese login, navigation by role, no CSP errors, accessibility."""

from app.extensions import db
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot


def _make_admin(live_app):
    with live_app.app_context():
        admin = factories.user("admin", name="王管理")
        db.session.commit()
        return admin.email


def test_login_and_admin_pages(live_app, live_server, page):
    email = _make_admin(live_app)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/login")
    assert page.locator("h1").inner_text() == "登录"
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    screenshot(page, "login")
    login(page, live_server, email, factories.PASSWORD)
    assert "工作台" in page.locator("h1").inner_text()
    page.get_by_role("link", name="用户管理").click()
    assert page.locator("h1").inner_text() == "用户管理"
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    screenshot(page, "admin-users")
    assert not [e for e in errors if "Content Security Policy" in e]


def test_wrong_password_shows_chinese_message(live_app, live_server, page):
    email = _make_admin(live_app)
    login(page, live_server, email, "wrong-password-1")
    assert "邮箱或密码不正确" in page.content()


def test_narrow_screen_has_no_horizontal_scroll(live_app, live_server, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    tab = context.new_page()
    tab.goto(f"{live_server}/login")
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    context.close()
