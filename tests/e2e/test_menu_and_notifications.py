"""Issue 11 UI fixes in a real browser: the officer's menu fits on one line at 1280 px
(secondary entries in drop-downs), and the notification list with its header badge."""

from app.core import outbox
from app.extensions import db
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot


def test_officer_menu_fits_1280_and_notifications_mark_read(live_app, live_server, page):
    with live_app.app_context():
        officer = factories.user("officer", "approver", name="李专员")
        outbox.queue_mail(officer, "评审邀请：测试", "请在截止日前完成评审。", link="/applications")
        outbox.queue_mail(officer, "立项公示：测试", "公示期 5 天。")
        db.session.commit()
        email = officer.email
    login(page, live_server, email, factories.PASSWORD)
    nav = page.locator("#nav .navbar-nav").first
    box = nav.bounding_box()
    assert box["height"] < 60, box  # one line, no wrap
    screenshot(page, "menu-1280")
    assert page.locator("nav.app-navbar").bounding_box()["height"] < 80
    page.get_by_role("button", name="资金").click()
    assert page.get_by_role("link", name="资金账簿").is_visible()
    screenshot(page, "menu-1280")
    page.locator("#nav").get_by_role("link", name="消息").click()
    assert page.locator("h1").inner_text() == "消息"
    assert "未读 2 条" in page.content()
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    screenshot(page, "notifications")
    page.get_by_role("button", name="全部标为已读").click()
    assert "未读 0 条" in page.content()
