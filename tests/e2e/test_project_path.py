"""Projects after award in a real browser, in Chinese, through the UI only.

Factories make two projects whose task agreements are signed (issue 6's "Done when");
everything after that is clicked and typed as each role would: the society's staff
report against milestone 1 (narrative, actual values, an expenditure with its voucher
scan, an attachment) and submit; the society admin signs the report off (学会负责人审核)
and downloads the voucher; the officer accepts; an approver other than the officer
releases the tranches (four-eyes); finance records the payments. The society then
submits its closing report, the officer runs the acceptance and settles: the call does
not allow retention, so the unspent balance is demanded back and finance records it
returned — the project closes. The second project is revoked for fraud (proposed by the
officer, approved by the approver), settled and clawed back in full.
"""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.ledger.operations import grant_code
from app.projects import operations as ops
from app.projects.models import Project, ProjectReport
from tests import factories
from tests.awards.helpers import audit_and_ledger_ok, balance
from tests.e2e.conftest import axe_violations, login, screenshot

PASSWORD = factories.PASSWORD


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


def _as(tab, base: str, email: str) -> None:
    login(tab, base, email, PASSWORD)


def _setup(live_app):
    with live_app.app_context():
        a = factories.signed_project()
        b = factories.signed_project()
        # B has had its first tranche paid (so that there is money to claw back).
        first = b.project.tranches[0]
        ops.release_tranche(first, actor=b.approver)
        ops.pay_tranche(first, first.amount_fen, "E2E-PZ-B1", clock.today(), actor=b.finance)
        db.session.commit()
        return {
            "a": a.project.id,
            "b": b.project.id,
            "a_society": a.project.society_id,
            "b_society": b.project.society_id,
            "applicant": a.applicant.email,
            "admin": a.admin.email,
            "officer": a.officer.email,
            "approver": a.approver.email,
            "finance": a.finance.email,
            "b_officer": b.officer.email,
            "b_approver": b.approver.email,
            "b_finance": b.finance.email,
            "b_paid": first.amount_fen,
        }


def _report_id(live_app, project_id: int, kind: str) -> int:
    with live_app.app_context():
        return db.session.scalar(
            select(ProjectReport.id).where(
                ProjectReport.project_id == project_id, ProjectReport.kind == kind
            )
        )


def _fill_report(tab) -> None:
    tab.locator("#narrative").fill("已在三个县开展技术服务，解决企业共性技术问题两项。")
    for box in tab.locator("input[name^='actual-']").all():
        box.fill("2")
    tab.get_by_role("button", name="保存草稿").click()
    _alert(tab, "已保存。")


def _society_reports(tab, base: str, s: dict) -> None:
    _as(tab, base, s["applicant"])
    tab.goto(f"{base}/projects/{s['a']}")
    expect(tab.locator("h1")).to_be_visible()
    _checked(tab, "project-society")
    tab.get_by_role("button", name="填写报告").first.click()
    expect(tab.locator("h1")).to_contain_text("进展报告")
    _fill_report(tab)
    spend = tab.locator("form[action$='/expenditure']")
    spend.locator("select[name='line_key']").select_option("travel")
    spend.locator("select[name='source']").select_option("fund")
    spend.locator("input[name='spent_on']").fill(clock.today().isoformat())
    spend.locator("input[name='amount']").fill("1200")
    spend.locator("input[name='voucher_no']").fill("E2E-V-1")
    spend.locator("input[name='payee']").fill("永康市某宾馆")
    spend.locator("input[name='voucher_file']").set_input_files(
        files=[
            {"name": "住宿发票.pdf", "mimeType": "application/pdf", "buffer": factories.PDF_BYTES}
        ]
    )
    spend.get_by_role("button", name="添加支出").click()
    _alert(tab, "已保存。")
    expect(tab.locator("table", has_text="E2E-V-1")).to_be_visible()
    attach = tab.locator("form[action$='/attach']")
    attach.locator("input[name='title']").fill("服务活动签到表")
    attach.locator("input[name='file']").set_input_files(
        files=[{"name": "签到表.pdf", "mimeType": "application/pdf", "buffer": factories.PDF_BYTES}]
    )
    attach.get_by_role("button", name="上传").click()
    _alert(tab, "已保存。")
    _checked(tab, "project-report-draft")
    tab.get_by_role("button", name="提交报告").click()
    _alert(tab, "报告已提交（第 1 版）")
    expect(tab.locator("main")).to_contain_text("待学会负责人审核")
    _logout(tab)


def _admin_signs_off(tab, base: str, s: dict, report_id: int) -> None:
    _as(tab, base, s["admin"])
    tab.goto(f"{base}/projects/reports/{report_id}")
    expect(tab.get_by_role("button", name="审核通过并报送")).to_be_visible()
    with tab.expect_download() as download:
        tab.get_by_role("link", name="凭证扫描件").click()
    assert download.value.suggested_filename == "住宿发票.pdf"
    _checked(tab, "project-report-signoff")
    tab.get_by_role("button", name="审核通过并报送").click()
    _alert(tab, "已审核通过，报告已送学会部审核。")
    _logout(tab)


def _officer_accepts(tab, base: str, s: dict, report_id: int) -> None:
    _as(tab, base, s["officer"])
    tab.goto(f"{base}/projects/reports/{report_id}")
    expect(tab.locator("main")).to_contain_text("学会已审核（待学会部审核）")
    _checked(tab, "project-report-review")
    tab.get_by_role("button", name="审核通过").click()
    _alert(tab, "已处理。")
    expect(tab.locator("main")).to_contain_text("已通过")
    _logout(tab)


def _approver_releases(tab, base: str, s: dict) -> None:
    _as(tab, base, s["approver"])
    tab.goto(f"{base}/projects/{s['a']}")
    _checked(tab, "project-approver")
    for _ in range(2):  # the signing tranche, then milestone 1's
        tab.locator("form[action$='/release']").first.get_by_role("button").click()
        _alert(tab, "已处理。")
    expect(tab.locator("form[action$='/release']")).to_have_count(0)
    _logout(tab)


def _finance_pays(tab, base: str, s: dict) -> None:
    _as(tab, base, s["finance"])
    tab.goto(f"{base}/projects/{s['a']}")
    _checked(tab, "project-finance")
    for n in (1, 2):
        form = tab.locator("form[action$='/pay']").first
        form.locator("input[name='voucher_no']").fill(f"E2E-PZ-A{n}")
        form.locator("input[name='paid_on']").fill(clock.today().isoformat())
        form.get_by_role("button", name="登记支付").click()
        _alert(tab, "已处理。")
    expect(tab.locator("form[action$='/pay']")).to_have_count(0)
    expect(tab.locator("main")).to_contain_text("E2E-PZ-A2")
    _logout(tab)


def _closing(tab, base: str, s: dict) -> None:
    _as(tab, base, s["applicant"])
    tab.goto(f"{base}/projects/{s['a']}")
    tab.get_by_role("button", name="填写结题报告").click()
    expect(tab.locator("h1")).to_contain_text("结题报告")
    _fill_report(tab)
    tab.get_by_role("button", name="提交报告").click()
    _alert(tab, "报告已提交")
    _logout(tab)
    _as(tab, base, s["admin"])
    tab.goto(f"{base}/projects/reports/{_report_id_from(tab, base, s)}")
    tab.get_by_role("button", name="审核通过并报送").click()
    _alert(tab, "已审核通过")
    _logout(tab)


def _report_id_from(tab, base, s) -> int:
    """The closing report's id, from the project page's link (as the admin sees it)."""
    tab.goto(f"{base}/projects/{s['a']}")
    href = tab.get_by_role("link", name="结题报告").first.get_attribute("href")
    return int(href.rsplit("/", 1)[-1])


def _officer_accepts_and_settles(tab, base: str, s: dict) -> None:
    _as(tab, base, s["officer"])
    tab.goto(f"{base}/projects/{s['a']}")
    expect(tab.locator("main")).to_contain_text("待验收")
    tab.get_by_role("button", name="开始验收").click()
    _alert(tab, "已处理。")
    form = tab.locator("form[action$='/acceptance']")
    form.locator("select[name='outcome']").select_option("passed")
    form.locator("input[name='comments']").fill("专家组验收：任务完成，同意通过。")
    form.get_by_role("button", name="记录验收结论").click()
    _alert(tab, "已处理。")
    tab.get_by_role("button", name="结算结余资金").click()
    _alert(tab, "已处理。")
    expect(tab.locator("main")).to_contain_text("经费追回中")
    _checked(tab, "project-settled")
    _logout(tab)


def _finance_records_return(tab, base, email, project_id: int, fen: int, voucher, shot: str):
    _as(tab, base, email)
    tab.goto(f"{base}/projects/{project_id}")
    form = tab.locator(f"form[action$='/{project_id}/clawback']")
    form.locator("input[name='amount']").fill(f"{fen // 100}.{fen % 100:02d}")
    form.locator("input[name='voucher_no']").fill(voucher)
    form.locator("input[name='received_on']").fill(clock.today().isoformat())
    form.get_by_role("button", name="登记追回到账").click()
    _alert(tab, "已登记追回款到账。")
    expect(tab.locator("main")).to_contain_text("已结题")
    _checked(tab, shot)
    _logout(tab)


def _revoke(tab, base: str, s: dict) -> None:
    _as(tab, base, s["b_officer"])
    tab.goto(f"{base}/projects/{s['b']}")
    form = tab.locator("form[action$='/manage/propose']")
    form.locator("select[name='kind']").select_option("revoke")
    form.locator("input[name='reason']").fill("经核查，进展报告中的服务记录系伪造。")
    form.locator("input[name='fraud']").check()
    form.locator("input[name='ban_years']").fill("3")
    form.get_by_role("button", name="提请审批").click()
    _alert(tab, "已处理。")
    _logout(tab)
    _as(tab, base, s["b_approver"])
    tab.goto(f"{base}/projects/{s['b']}")
    tab.locator("form[action$='/approve']").first.get_by_role("button", name="批准").click()
    _alert(tab, "已处理。")
    expect(tab.locator("main")).to_contain_text("已撤销")
    _checked(tab, "project-revoked")
    _logout(tab)
    _as(tab, base, s["b_officer"])
    tab.goto(f"{base}/projects/{s['b']}")
    tab.get_by_role("button", name="结算结余资金").click()
    _alert(tab, "已处理。")
    expect(tab.locator("main")).to_contain_text("经费追回中")
    _logout(tab)


def test_report_sign_off_release_pay_close_and_claw_back(live_app, live_server, page):
    base, tab = live_server, page
    s = _setup(live_app)

    _society_reports(tab, base, s)
    report_id = _report_id(live_app, s["a"], "progress")
    _admin_signs_off(tab, base, s, report_id)
    _officer_accepts(tab, base, s, report_id)
    _approver_releases(tab, base, s)
    _finance_pays(tab, base, s)
    _closing(tab, base, s)
    _officer_accepts_and_settles(tab, base, s)
    with live_app.app_context():
        due_a = balance(grant_code(s["a"], "clawback_due"))
    assert due_a > 0
    _finance_records_return(tab, base, s["finance"], s["a"], due_a, "E2E-HK-A1", "project-closed")

    _revoke(tab, base, s)
    _finance_records_return(
        tab, base, s["b_finance"], s["b"], s["b_paid"], "E2E-HK-B1", "project-clawed-back"
    )

    with live_app.app_context():
        a = db.session.get(Project, s["a"])
        b = db.session.get(Project, s["b"])
        assert a.state == "closed" and a.outcome == "passed" and a.retained_fen == 0
        assert a.unspent_fen == due_a
        assert [t.state for t in a.tranches] == ["paid", "paid", "cancelled"]
        report = db.session.get(ProjectReport, report_id)
        assert report.state == "accepted" and report.endorsed_at is not None
        assert len(report.expenditures) == 1 and report.expenditures[0].file_id is not None
        assert b.state == "closed" and b.unspent_fen == s["b_paid"]
        assert b.society.banned_until is not None
        for p in (a, b):
            assert balance(grant_code(p.id, "clawback_due")) == 0
            assert balance(grant_code(p.id, "committed")) == 0
        audit_and_ledger_ok()  # the audit chain verifies and every ledger invariant holds
