"""The award path in a real browser, in Chinese, through the UI only.

Factories make a call in review with four reviewed applications; everything after
that is clicked and typed: the officer proposes awards (one amount over the
request first) and not-funded decisions, withdraws one proposal with a reason;
the proposer cannot approve their own proposal (four-eyes), the approver
approves; the officer publishes the decisions; the public reads the notice and
its PDF and files objections with a real name; the officer rejects one with a
written answer and upholds the other (the award is revoked, its money given
back); after the notice period (the clock is moved, as the scheduler would see
it) the officer confirms, sends the task agreement and the society signs it.
The trial balance balances and the audit chain verifies at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from app.applications.models import Application
from app.audit.verify import verify_all
from app.awards.models import Award, TaskAgreement
from app.core import clock
from app.extensions import db
from app.ledger import invariants
from app.ledger.exports import trial_balance
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _checked(tab, name: str) -> None:
    """No serious accessibility problem on the page; keep a screenshot of it."""
    tab.wait_for_load_state()
    violations = axe_violations(tab)
    assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    screenshot(tab, name)


def _alert(tab, text: str) -> None:
    expect(tab.locator("main .alert", has_text=text).first).to_be_visible()


def _logout(tab) -> None:
    tab.get_by_role("button", name="退出").click()
    tab.wait_for_load_state()


def _setup(live_app):
    with live_app.app_context():
        # The officer also holds the approver role: the four-eyes rule, not the
        # role, keeps them from approving what they proposed.
        officer = factories.user("officer", "approver", name="周经办")
        r = factories.reviewed_call(4, officer=officer, title="2026年度学会服务站项目（立项测试）")
        approver = factories.user("approver", name="孙处长")
        admin = factories.society_admin_of(r.apps[0].society)
        db.session.commit()
        return {
            "officer": officer.email,
            "approver": approver.email,
            "admin": admin.email,
            "call_id": r.call.id,
            "call_title": r.call.title,
            "apps": [(a.id, a.project_number, a.title) for a in r.apps],
        }


def _decide(tab, number: str, outcome: str, amount: str, note: str) -> None:
    row = tab.locator("tbody tr", has_text=number)
    row.get_by_label("决定", exact=True).select_option(outcome)
    if amount:
        row.get_by_label("立项金额（元）").fill(amount)
    row.get_by_label("决定说明").fill(note)
    row.get_by_role("button", name="保存").click()
    tab.wait_for_load_state()


def _object(tab, number: str, name: str, contact: str, grounds: str) -> None:
    value = tab.locator("#award_id option", has_text=number).get_attribute("value")
    tab.get_by_label("异议项目").select_option(value)
    tab.get_by_label("姓名").fill(name)
    tab.get_by_label("联系方式").fill(contact)
    tab.get_by_label("异议的事实和理由").fill(grounds)
    tab.get_by_role("button", name="提交异议").click()
    tab.wait_for_load_state()


def _objection_row(tab, number: str):
    return tab.locator("table").first.locator("tbody tr", has_text=number)


def test_awards_notice_objections_and_signed_agreement(live_app, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())
    clock.set_now(START)
    try:
        _walk(live_app, base, page)
    finally:
        clock.set_now(None)
    assert not [e for e in errors if "Content Security Policy" in e], errors


def _walk(live_app, base, page):
    s = _setup(live_app)
    (a0, n0, t0), (a1, n1, _t1), (a2, n2, _t2), (a3, n3, _t3) = s["apps"]
    call_url = f"{base}/awards/calls/{s['call_id']}"

    # 1. The officer proposes awards from the ranking.
    login(page, base, s["officer"], factories.PASSWORD)
    page.get_by_role("link", name="立项", exact=True).click()
    page.locator("tbody tr", has_text=s["call_title"]).get_by_role("link").first.click()
    expect(page.locator("h1")).to_have_text("立项决定")
    _checked(page, "award-01-decision")
    _decide(page, n0, "award", "50000", "集体研究同意立项。")  # more than requested
    _alert(page, "超过申请金额")
    _decide(page, n0, "award", "44000", "集体研究同意立项。")
    _alert(page, "已保存决定。")
    _decide(page, n1, "award", "40000", "集体研究同意立项，核减部分设备费。")
    _decide(page, n2, "award", "30000", "同意立项。")
    _decide(page, n3, "not_funded", "", "排名靠后，本批次不予立项。")
    # A proposal withdrawn before approval, with a reason; then decided not funded.
    row = page.locator("tbody tr", has_text=n2)
    row.get_by_label("撤回理由").fill("申报单位资格需进一步核实。")
    row.get_by_role("button", name="撤回").click()
    _alert(page, "立项建议已撤回。")
    _decide(page, n2, "not_funded", "", "申报单位资格不符，不予立项。")
    # Four-eyes: the proposer holds the approver role but gets no approve button.
    row = page.locator("tbody tr", has_text=n0)
    expect(row).to_contain_text("双人复核")
    expect(row.get_by_role("button", name="审批")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("未公示即撤回：申报单位资格需进一步核实。")
    _checked(page, "award-02-proposed")
    # Publishing before approval is refused, listing what is missing.
    page.get_by_role("button", name="统一公布立项结果并开始公示").click()
    _alert(page, "的立项建议尚未审批")
    _logout(page)

    # 2. The approver approves (COMMIT).
    login(page, base, s["approver"], factories.PASSWORD)
    page.goto(call_url)
    for number in (n0, n1):
        page.locator("tbody tr", has_text=number).get_by_role("button", name="审批").click()
        _alert(page, "已审批，资金已占用。")
    expect(page.locator("tbody tr", has_text=n0)).to_contain_text("已审批（待公示）")
    _checked(page, "award-03-approved")
    _logout(page)

    # 3. The officer publishes the decisions together; the notice starts.
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(call_url)
    expect(page.locator("main")).to_contain_text("公示期：5个自然日（批次设置）")
    page.get_by_role("button", name="统一公布立项结果并开始公示").click()
    _alert(page, "立项结果已公布，公示开始。")
    expect(page.locator("tbody tr", has_text=n0)).to_contain_text("公示中")
    _logout(page)

    # 4. The public notice, its PDF, and objections with a real name.
    clock.set_now(START + timedelta(days=1))
    page.goto(f"{base}/awards/notices")
    page.get_by_role("link").filter(has_text=s["call_title"]).first.click()
    expect(page.locator("h1")).to_have_text("拟立项公示")
    expect(page.locator("#notice-end")).to_contain_text("公示截止：2026-03-07")
    expect(page.locator("main table")).to_contain_text(t0)
    expect(page.locator("main table")).not_to_contain_text(n2)
    _checked(page, "award-04-notice")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载拟立项公示名单（PDF）").click()
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    _object(page, n0, "", "", "匿名反映：该项目团队虚报业绩。")
    _alert(page, "匿名异议不予受理")
    _object(page, n0, "张三", "13800000000", "该项目团队成员虚报业绩。")
    _alert(page, "异议已收到")
    _object(page, n1, "李四", "13900000000", "该项目与本单位已结题项目内容重复。")
    _alert(page, "异议已收到")

    # 5. The officer handles them: one rejected with an answer, one upheld.
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(f"{base}/awards/objections")
    expect(page.locator("h1").first).to_have_text("异议")
    _checked(page, "award-05-objections")
    for number in (n0, n1):
        _objection_row(page, number).filter(has_text="已收到").get_by_role(
            "button", name="受理", exact=True
        ).click()
        _alert(page, "已处理。")
    row = _objection_row(page, n0).filter(has_text="已受理")
    row.get_by_label("理由或书面答复").last.fill(
        "经核查，所列业绩均有合同和验收材料佐证，异议不成立。"
    )
    row.get_by_role("button", name="异议不成立").click()
    _alert(page, "已处理。")
    row = _objection_row(page, n1).filter(has_text="已受理")
    row.get_by_label("理由或书面答复").first.fill("经核查，与已结题项目内容重复，撤销拟立项。")
    row.get_by_role("button", name="异议成立").click()
    _alert(page, "已处理。")
    expect(_objection_row(page, n0).filter(has_text="张三")).to_contain_text("不成立")
    expect(_objection_row(page, n0).filter(has_text="匿名反映")).to_contain_text("不予受理")
    expect(_objection_row(page, n1).filter(has_text="李四")).to_contain_text("撤销拟立项")
    _checked(page, "award-06-objections-handled")

    # 6. After the notice period the officer confirms what may be confirmed.
    _logout(page)
    clock.set_now(START + timedelta(days=6))
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(call_url)
    page.get_by_role("button", name="确认公示期满的立项").click()
    _alert(page, "已确认立项 1 项。")
    expect(page.locator("tbody tr", has_text=n0)).to_contain_text("已立项")
    expect(page.locator("main")).to_contain_text("异议成立撤销")
    _checked(page, "award-07-confirmed")

    # 7. The task agreement: sent by the officer, signed by the society.
    page.get_by_role("link", name="任务书", exact=True).click()
    page.locator("tbody tr", has_text=t0).get_by_role("link").first.click()
    expect(page.locator("h1")).to_contain_text("任务书")
    _checked(page, "award-08-agreement")
    page.get_by_role("button", name="发送学会签订").click()
    _alert(page, "已完成。")
    _logout(page)
    login(page, base, s["admin"], factories.PASSWORD)
    page.get_by_role("link", name="任务书", exact=True).click()
    page.locator("tbody tr", has_text=t0).get_by_role("link").first.click()
    page.get_by_role("button", name="确认签订任务书").click()
    _alert(page, "已完成。")
    expect(page.locator("main")).to_contain_text("已签订")
    _checked(page, "award-09-signed")
    _logout(page)

    # 8. The trial balance balances (page and invariants); the audit chain verifies.
    login(page, base, s["approver"], factories.PASSWORD)
    page.goto(f"{base}/ledger/")
    _checked(page, "award-10-trial-balance")
    with live_app.app_context():
        _rows, totals = trial_balance()
        assert totals[0] == totals[1] and totals[2] == 0
        assert invariants.check_ledger() is None
        fault, _last, _head = verify_all()
        assert fault is None, fault
        awards = db.session.scalars(db.select(Award).where(Award.call_id == s["call_id"])).all()
        assert sorted((a.application_id, a.state) for a in awards) == sorted(
            [(a0, "confirmed"), (a1, "revoked"), (a2, "revoked")]
        )
        confirmed = next(a for a in awards if a.state == "confirmed")
        apps = {a.id: a.state for a in db.session.scalars(
            db.select(Application).where(Application.call_id == s["call_id"]))}  # fmt: skip
        assert apps == {a0: "awarded", a1: "not_funded", a2: "not_funded", a3: "not_funded"}
        agreement = db.session.scalar(
            db.select(TaskAgreement).where(TaskAgreement.award_id == confirmed.id)
        )
        assert agreement.state == "signed"
