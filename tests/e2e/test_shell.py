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


def _one_line_header(tab) -> None:
    """The header is a single row: the user's name, logout and the menu share one line."""
    nav = tab.locator("nav.app-navbar").bounding_box()
    name = tab.locator(".app-user").bounding_box()
    logout = tab.get_by_role("button", name="退出").bounding_box()
    brand = tab.locator(".navbar-brand").bounding_box()
    assert nav["height"] < 70, nav
    for box in (name, logout):
        assert abs(box["y"] + box["height"] / 2 - (brand["y"] + brand["height"] / 2)) < 12, box
    assert tab.evaluate("document.documentElement.scrollWidth") <= 1280


def test_header_fits_one_line_at_1280_for_every_role(live_app, live_server, browser):
    """Issue 11: the officer's name and 退出 wrapped onto a second line at 1280 px."""
    from app.core.permissions import ROLES

    with live_app.app_context():
        people = {
            role: factories.user(role, name=f"欧阳{role}超长的用户姓名测试").email
            for role in ROLES
            if role != "admin"
        }
        people["admin"] = factories.user("admin", name="王管理员名字很长很长").email
        db.session.commit()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    for role, email in people.items():
        login(tab, live_server, email, factories.PASSWORD)
        _one_line_header(tab)
        title = tab.locator(".app-user").get_attribute("title")
        assert "超长" in title or "很长" in title, (role, title)
        if role == "officer":
            screenshot(tab, "header-officer-1280")
        tab.get_by_role("button", name="退出").click()
    context.close()


def test_officer_with_a_long_name_has_no_horizontal_scroll_on_a_phone(
    live_app, live_server, browser
):
    with live_app.app_context():
        email = factories.user("officer", name="欧阳超长的学会部经办人姓名测试用").email
        db.session.commit()
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    tab = context.new_page()
    login(tab, live_server, email, factories.PASSWORD)
    for path in ("/", "/projects", "/notifications"):
        tab.goto(f"{live_server}{path}")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390, path
    tab.get_by_role("button", name="展开导航").click()
    tab.locator("#nav.show").wait_for()
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_favicon_is_served_without_console_errors(live_app, live_server, page):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server}/login")
    assert page.request.get(f"{live_server}/favicon.ico").status == 200
    page.reload()
    assert not [e for e in errors if "404" in e or "favicon" in e], errors
