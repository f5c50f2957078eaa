"""The application path in a real browser, in Chinese, through the UI only.

A new society registers itself, an officer verifies it, its secretariat fills,
saves, completes and submits an application, endorses it with the sealed
scan, the co-building government confirms the matching money, and the
officer accepts it with the batch action on the list. Only the fund, the open
call, the station and the local partner's account are made by factories.
"""

from __future__ import annotations

import re
import subprocess

from playwright.sync_api import expect

from app.accounts import credit_code
from app.accounts.models import Organisation, User
from app.applications.models import Application
from app.audit.verify import verify_all
from app.extensions import db
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot

PDFTOTEXT = "/usr/bin/pdftotext"
TITLE = "永康五金产业共性技术服务站建设"
SOCIETY = "浙江省机械工程学会（测试）"
PASSWORD = "Shehui2026pass"


def _checked(tab, name: str) -> None:
    """No serious accessibility problem on the page; keep a screenshot of it."""
    tab.wait_for_load_state()  # axe goes into the document's head: let the page finish loading
    violations = axe_violations(tab)
    assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    screenshot(tab, name)


def _alert(tab, text: str) -> None:
    """A flashed message containing ``text`` is shown (waits for the page that shows it)."""
    expect(tab.locator("main .alert", has_text=text).first).to_be_visible()


def _logout(tab) -> None:
    tab.get_by_role("button", name="退出").click()
    tab.wait_for_load_state()


def _setup(live_app):
    """The fund, an open call with matching money and a capped travel line, and an officer."""
    with live_app.app_context():
        officer = factories.user("officer", name="周经办")
        rules = factories.call_rules()
        lines = [dict(line) for line in rules["budget_lines"]]
        for line in lines:
            if line["key"] == "travel":
                line["cap_fen"] = 2_000_000  # 20,000.00 元
        the_call = factories.call(
            officer=officer,
            matching_required=True,
            matching_ratio_pct=50,
            budget_lines=lines,
            title="2026年度学会服务站项目申报（浏览器测试）",
        )
        db.session.commit()
        return officer.email, the_call.id, the_call.title


def _station_for_new_society(live_app, email: str):
    """The station the registered society runs, and a local partner of its co-building city."""
    with live_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        station = factories.station_for(user.org)
        gov = db.session.get(Organisation, station.government_id)
        partner = factories.user("local_partner", organisation=gov, name="吴科协")
        db.session.commit()
        return station.name, gov.name, partner.email


def _application_state(live_app, app_id: int) -> str:
    with live_app.app_context():
        return db.session.get(Application, app_id).state


def test_society_registers_applies_and_is_accepted(live_app, live_server, page, tmp_path):
    base = live_server
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    officer_email, call_id, call_title = _setup(live_app)
    pdf = tmp_path / "登记证书.pdf"
    pdf.write_bytes(factories.PDF_BYTES)

    # 1. The society registers itself from the login page's link.
    page.goto(f"{base}/login")
    page.get_by_role("link", name="省级学会注册").click()
    expect(page.locator("h1")).to_have_text("省级学会注册")
    page.get_by_label("学会名称").fill(SOCIETY)
    page.get_by_label("统一社会信用代码").fill("51330000MJ000000X0")  # wrong check character
    page.get_by_label("联系人", exact=True).fill("陈秘书")
    page.get_by_label("联系人邮箱（登录账号）").fill("chen@jixie-test.cn")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("社会团体法人登记证书扫描件（PDF或图片）").set_input_files(str(pdf))
    page.get_by_role("button", name="提交注册").click()
    code_error = page.locator("#credit_code-err")
    expect(code_error).to_have_text("统一社会信用代码无效（应为18位且校验位正确）。")
    expect(page.get_by_label("学会名称")).to_have_value(SOCIETY)  # what was typed stays
    _checked(page, "apply-01-register")
    page.get_by_label("统一社会信用代码").fill(credit_code.make("51330000MJ0000001"))
    page.get_by_label("密码").fill(PASSWORD)  # a password field is never sent back
    page.get_by_label("社会团体法人登记证书扫描件（PDF或图片）").set_input_files(str(pdf))
    page.get_by_role("button", name="提交注册").click()
    expect(page.locator("h1")).to_have_text("登录")
    _alert(page, "注册已提交，学会部审核通过后即可申报。")
    station, government, partner_email = _station_for_new_society(live_app, "chen@jixie-test.cn")

    # 2. The officer verifies it.
    login(page, base, officer_email, factories.PASSWORD)
    page.get_by_role("link", name="学会注册审核").click()
    row = page.locator("tr", has_text=SOCIETY)
    expect(row.locator(".badge")).to_have_text("待审核")
    _checked(page, "apply-02-societies")
    row.get_by_role("button", name="审核通过").click()
    _alert(page, f"已审核通过：{SOCIETY}")
    expect(page.locator("tr", has_text=SOCIETY).locator(".badge")).to_have_text("已审核")
    _logout(page)

    # 3. The society's secretariat opens the call and starts an application.
    login(page, base, "chen@jixie-test.cn", PASSWORD)
    expect(page.locator("h1")).to_have_text("工作台")
    page.get_by_role("link", name="申报指南").click()
    _checked(page, "apply-03-calls")
    page.get_by_role("link", name=call_title).click()
    expect(page.locator("h1")).to_have_text(call_title)
    expect(page.locator(".badge").first).to_have_text("申报中")
    assert "要求，不低于申请专项资金的 50%" in page.locator("dl").inner_text()
    _checked(page, "apply-04-call")
    page.get_by_role("button", name="开始填写申报书").click()
    expect(page.locator("h1")).to_have_text("填写申报书")
    _alert(page, "申报书草稿已创建")
    assert "当前第 1 版 · 草稿" in page.locator("main p.text-muted").first.inner_text()
    app_id = int(re.search(r"/applications/(\d+)/edit", page.url).group(1))

    # 4. The whole draft, with one over-cap line and one amount of three decimals.
    page.get_by_label("项目名称").fill(TITLE)
    page.get_by_label("任务类别").select_option(label="关键技术攻关")
    page.get_by_label("学会服务站").select_option(label=station)
    page.get_by_label("所在园区").select_option(index=1)
    page.get_by_label("共建地方政府（科协）").select_option(label=government)
    page.get_by_label("项目摘要").fill(
        "围绕园区五金装备企业的共性技术难题，组织专家团队开展攻关和成果转化。"
    )
    page.get_by_label("项目目标").fill("建成学会服务站，解决三项关键技术问题，服务企业二十家。")
    page.locator("#f-chief_name").fill("钱教授")
    page.locator("#f-chief_title").fill("教授")
    page.locator("#f-chief_org").fill("浙江大学")
    member = {"name": "李工", "title": "高级工程师", "organisation": "浙大", "role": "技术攻关"}
    for field, text in member.items():
        page.locator(f"#f-team-0-{field}").fill(text)
    targets = (
        ("output", "解决关键技术问题", "项", "3"),
        ("effect", "服务企业数", "家", "20"),
        ("satisfaction", "企业满意度", "%", "90"),
    )
    for i, (group, indicator, unit, value) in enumerate(targets):
        page.locator(f"#f-target-{i}-group").select_option(group)
        page.locator(f"#f-target-{i}-indicator").fill(indicator)
        page.locator(f"#f-target-{i}-unit").fill(unit)
        page.locator(f"#f-target-{i}-value").fill(value)
    page.locator('[data-add-row="target"]').click()  # a fourth row, added in the browser
    page.locator("#f-target-3-indicator").fill("培训企业技术人员")
    page.locator("#f-target-3-unit").fill("人次")
    page.locator("#f-target-3-value").fill("200")
    page.get_by_label("专家咨询费 专项资金").fill("30,000.00")
    page.get_by_label("专家咨询费 地方配套").fill("30,000.00")
    page.get_by_label("差旅费 专项资金").fill("25,000.00")  # over the line's 20,000.00 cap
    page.get_by_label("差旅费 自筹").fill("5,000.005")  # three decimals of 元
    page.get_by_label("间接费用 专项资金").fill("3,000.00")
    warnings = page.locator("#budget-warnings")
    expect(warnings).to_contain_text("差旅费超过科目上限 20,000.00 元")
    expect(page.get_by_label("差旅费 专项资金")).to_have_class(re.compile("is-invalid"))
    expect(page.locator('[data-total="fund"]')).to_have_text("58,000.00")
    milestones = (
        ("", "", 60),
        ("中期检查", "2027-06-30", 30),
        ("结题验收", "2027-12-31", 10),
    )
    for i, (title, due, pct) in enumerate(milestones):
        if title:
            page.locator(f"#f-milestone-{i}-title").fill(title)
            page.locator(f"#f-milestone-{i}-due").fill(due)
            page.locator(f"#f-milestone-{i}-deliverables").fill(f"{title}报告")
        page.locator(f"#f-milestone-{i}-pct").fill(str(pct))
    expect(page.locator("#pct-total")).to_have_text("当前合计 100%")
    page.get_by_label("本单位承诺所填内容真实，遵守科研诚信要求。").check()
    page.get_by_label("本项目未以相同内容重复申报其他财政资金。").check()
    page.get_by_role("button", name="保存草稿").click()

    # The bad amount is refused beside its field; everything typed is still there.
    _alert(page, "有 1 处填写格式不正确，本次未保存")
    expect(page.locator("#f-budget-travel-self-err")).to_have_text("以元为单位时最多保留2位小数。")
    expect(page.get_by_label("差旅费 自筹")).to_have_value("5,000.005")
    expect(page.get_by_label("差旅费 专项资金")).to_have_value("25,000.00")
    expect(page.get_by_label("项目名称")).to_have_value(TITLE)
    expect(page.locator("#f-team-0-role")).to_have_value("技术攻关")
    expect(page.locator("#f-target-3-indicator")).to_have_value("培训企业技术人员")
    expect(page.locator("#f-milestone-2-pct")).to_have_value("10")
    expect(page.get_by_label("本项目未以相同内容重复申报其他财政资金。")).to_be_checked()
    expect(warnings).to_contain_text("差旅费超过科目上限 20,000.00 元")
    _checked(page, "apply-05-draft-error")

    # Fixed: the travel line in full-width digits, within its cap.
    page.get_by_label("差旅费 自筹").fill("5,000.00")
    page.get_by_label("差旅费 专项资金").fill("１０００")
    expect(warnings).to_be_empty()
    expect(page.locator('[data-total="fund"]')).to_have_text("34,000.00")
    expect(page.locator('[data-total="matching"]')).to_have_text("30,000.00")
    expect(page.locator('[data-total="self"]')).to_have_text("5,000.00")
    expect(page.locator('[data-total="all"]')).to_have_text("69,000.00")
    expect(page.locator('tr[data-line="travel"] [data-row-total]')).to_have_text("6,000.00")
    page.get_by_role("button", name="保存草稿").click()
    _alert(page, "已保存（第 2 版）。")
    expect(page.get_by_label("差旅费 专项资金")).to_have_value("1000.00")
    expect(page.locator('[data-total="all"]')).to_have_text("69,000.00")
    _checked(page, "apply-06-draft")

    # 5. Checking before submitting lists what is missing: the attachments.
    page.get_by_role("button", name="保存并检查提交").click()
    missing = page.locator(".alert-warning")
    expect(missing).to_contain_text("提交前还需补充或修改 2 项")
    expect(missing).to_contain_text("请上传附件：共建协议或合作意向书。")
    expect(missing).to_contain_text("请上传附件：经费预算说明。")
    page.get_by_role("link", name="继续填写").click()
    for kind, name in (("共建协议或合作意向书", "共建协议"), ("经费预算说明", "预算说明")):
        upload = tmp_path / f"{name}.pdf"
        upload.write_bytes(factories.PDF_BYTES)
        page.get_by_label("附件类型").select_option(label=kind)
        page.get_by_label("文件", exact=True).set_input_files(str(upload))
        page.get_by_role("button", name="上传").click()
        expect(page.locator("main li", has_text=kind)).to_contain_text(f"{name}.pdf")
    _alert(page, "附件已上传。")
    expect(page.locator("main li", has_text="未上传")).to_have_count(0)
    page.get_by_role("button", name="保存并检查提交").click()
    expect(page.locator(".alert-warning")).to_have_count(0)
    expect(page.locator("main .badge").first).to_have_text("草稿")
    _checked(page, "apply-07-submit")
    page.get_by_role("button", name="提交申报书").click()
    expect(page.locator("main .alert").first).to_have_text(
        re.compile(r"申报书已提交，项目编号：2026-ZL-\d{3}。")
    )
    expect(page.locator("main .badge").first).to_have_text("已提交")
    assert _application_state(live_app, app_id) == "submitted"

    # The application as a PDF, with its title in it.
    with page.expect_download() as download:
        page.get_by_role("link", name="下载申报书（PDF）").click()
    saved = tmp_path / "application.pdf"
    download.value.save_as(saved)
    text = subprocess.run(
        [PDFTOTEXT, "-enc", "UTF-8", str(saved), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert TITLE in text.replace(" ", "")

    # 6. The secretariat endorses it with the sealed scan.
    card = page.locator(".card", has_text="单位审核")
    card.get_by_role("button", name="审核通过并报送").click()  # no scan yet
    # The error is shown beside the file field on the re-rendered page (422), not as a banner.
    card = page.locator(".card", has_text="单位审核")
    expect(card.get_by_text("请上传盖章后的申报书扫描件。")).to_be_visible()
    card.get_by_label("盖章后的申报书扫描件（PDF或图片）").set_input_files(str(pdf))
    card.get_by_role("button", name="审核通过并报送").click()
    _alert(page, "单位审核已通过，申报书已报送学会部。")
    expect(page.locator("main .badge").first).to_have_text("已提交")  # the applicant's label
    expect(page.get_by_text("待共建地方确认（不低于 17,000.00 元）")).to_be_visible()
    assert _application_state(live_app, app_id) == "endorsed"
    _checked(page, "apply-08-endorsed")
    _logout(page)

    # 7. The co-building government confirms its matching money.
    login(page, base, partner_email, factories.PASSWORD)
    page.get_by_role("link", name="申报书", exact=True).click()
    page.get_by_role("link", name=TITLE).click()
    expect(page.locator("main .badge").first).to_have_text("已提交")  # not staff: applicant label
    amount = page.get_by_label("承诺配套资金（元），不低于 17,000.00")
    amount.fill("10,000")
    page.get_by_role("button", name="确认", exact=True).click()
    # Beside the field, with the typed amount kept (422, not a banner after a redirect).
    expect(
        page.locator("main").get_by_text("承诺配套资金 10,000.00 元，低于要求的 17,000.00 元")
    ).to_be_visible()
    expect(page.get_by_label("承诺配套资金（元），不低于 17,000.00")).to_have_value("10,000")
    _checked(page, "apply-09-matching")
    page.get_by_label("承诺配套资金（元），不低于 17,000.00").fill("30,000.00")
    page.get_by_role("button", name="确认", exact=True).click()
    _alert(page, "配套资金承诺已确认。")
    expect(page.get_by_text("已确认 30,000.00 元")).to_be_visible()
    _logout(page)

    # 8. The officer accepts it with the batch action on the list.
    login(page, base, officer_email, factories.PASSWORD)
    page.get_by_role("link", name="申报书", exact=True).click()
    page.get_by_label("批次").select_option(str(call_id))
    page.get_by_label("状态").select_option(label="单位已审核（待形式审查）")
    page.get_by_role("button", name="筛选").click()
    row = page.locator("tbody tr", has_text=TITLE)
    expect(row.locator(".badge")).to_have_text("单位已审核（待形式审查）")
    _checked(page, "apply-10-list")
    row.get_by_role("checkbox").check()
    page.get_by_label("批量操作").select_option(label="受理")
    page.get_by_role("button", name="对所选申报书执行").click()
    _alert(page, "已处理 1 份申报书。")
    expect(page.locator("tbody tr", has_text=TITLE).locator(".badge")).to_have_text("已受理")
    _checked(page, "apply-11-accepted")
    assert _application_state(live_app, app_id) == "accepted"

    assert not [e for e in errors if "Content Security Policy" in e], errors
    with live_app.app_context():
        fault, _last, _head = verify_all()
        assert fault is None, fault
