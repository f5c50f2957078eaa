"""A whole fund cycle in a real browser, in Chinese, through the UI only.

The fixture makes the people (the 学会部 officer and approver, finance, the
auditor, three experts, two societies with their secretariats and stations, an
evaluation agency) and an empty fund; everything after that is clicked and
typed: finance appropriates the fund, the officer creates and publishes a call,
two societies apply (one is returned once by the eligibility check and
resubmits), experts are drawn with a seed, declare and score, the department
ranks, proposes, the approver approves, the officer publishes the notice, a
member of the public objects and the objection is handled, the awards are
confirmed after the notice period, the agreements are sent and signed, a
milestone report is submitted and accepted, a tranche is released and paid,
the agency evaluates, and the auditor downloads the audit bundle and verifies
it with its own script.

Only the background jobs a server would run on its own are run here: the clock
is moved (``clock.set_now``), the tick opens and closes the call, and the worker
builds the audit bundle. Screenshots go to ``test-artifacts/cycle-*.png``; with
``UPDATE_DOCS_SCREENSHOTS=1`` the ones the guides use are also written, small,
to ``docs/img/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect

from app.applications.models import Application
from app.audit import signing
from app.audit.verify import verify_all
from app.core import clock, jobs
from app.core.tick import run_tick
from app.extensions import db
from app.ledger import invariants
from app.reviews.models import ReviewAssignment
from tests import factories
from tests.e2e.conftest import ARTIFACTS, axe_violations, login, screenshot

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
SEED = "20261201"
CALL = "2027年度学会服务站项目申报（全流程测试）"
FUND = "2027年度学会服务站建设专项资金"
TITLES = ("永康五金装备共性技术服务站建设", "义乌小商品数字化转型服务站建设")
SUMMARIES = (
    ("围绕永康五金装备企业的共性技术难题，组织专家团队开展攻关和成果转化。",
     "建成学会服务站，解决三项关键技术问题，服务企业二十家。"),
    ("面向义乌小商品企业的数字化需求，提供电商数据分析、供应链协同等技术服务。",
     "培育数字化示范企业十家，开展专题培训五场，形成行业数据服务平台一个。"),
)  # fmt: skip
SCORES = {
    "need": "8.5",
    "service_plan": "8",
    "expert_team": "9",
    "co_building": "8",
    "outcomes": "8.5",
    "budget": "9",
}  # 84.50


# --- helpers ----------------------------------------------------------------


# The screenshots docs/user-guide.md and docs/admin-guide.md show.
DOCS_SHOTS = {
    "cycle-01-fund",
    "cycle-03-new-call",
    "cycle-04-call-published",
    "cycle-05-society-home",
    "cycle-06-application-form",
    "cycle-08-endorsed",
    "cycle-10-returned",
    "cycle-11-returned-society",
    "cycle-12-draw",
    "cycle-13-my-reviews",
    "cycle-14-declaration",
    "cycle-15-score-sheet",
    "cycle-16-ranking",
    "cycle-17-proposed",
    "cycle-18-approver-home",
    "cycle-20-notice",
    "cycle-21-objection",
    "cycle-23-agreement",
    "cycle-24-project",
    "cycle-25-paid",
    "cycle-26-report",
    "cycle-28-report-accepted",
    "cycle-30-self-evaluation",
    "cycle-31-evaluation",
    "cycle-32-downloads",
}


def _docs_copy(tab, name: str) -> None:
    """The viewport (1280 wide), palette-reduced, for the guides."""
    if not os.environ.get("UPDATE_DOCS_SCREENSHOTS") or name not in DOCS_SHOTS:
        return
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    path = DOCS_IMG / f"{name}.png"
    tab.screenshot(path=str(path), full_page=False)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in requirements
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64)
        small.save(path, optimize=True)


def _checked(tab, name: str) -> None:
    """No serious accessibility problem on the page; keep a screenshot of it."""
    tab.wait_for_load_state()
    violations = axe_violations(tab)
    assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    screenshot(tab, name)
    _docs_copy(tab, name)


def _alert(tab, text: str) -> None:
    expect(tab.locator("main .alert", has_text=text).first).to_be_visible()


def _ok(tab) -> None:
    """The action was done: the page after it shows a message, and no error."""
    tab.wait_for_load_state()
    expect(tab.locator("main .alert").first).to_be_visible()
    expect(tab.locator("main .alert-danger")).to_have_count(0)


def _logout(tab) -> None:
    tab.get_by_role("button", name="退出").click()
    tab.wait_for_load_state()


def _as(tab, base: str, email: str) -> None:
    """Sign out whoever is signed in and sign in as ``email``."""
    if tab.get_by_role("button", name="退出").count():
        _logout(tab)
    login(tab, base, email, factories.PASSWORD)
    expect(tab.get_by_role("button", name="退出")).to_be_visible()


def _nav(tab, name: str) -> None:
    """Follow the main menu's entry ``name``, opening its group's drop-down if it has one."""
    link = tab.locator("nav").get_by_role("link", name=name, exact=True, include_hidden=True).first
    link.wait_for(state="attached")
    if not link.is_visible():
        entry = tab.get_by_role("link", name=name, exact=True, include_hidden=True)
        group = tab.locator("nav li.dropdown").filter(has=entry).first
        group.locator(".dropdown-toggle").click()
    link.click()
    tab.wait_for_load_state()


def _choose(select, text: str) -> None:
    """Pick the option of ``select`` whose text contains ``text``."""
    value = select.locator("option", has_text=text).first.get_attribute("value")
    select.select_option(value)


def _local(value: datetime) -> str:
    """A time as a ``datetime-local`` input takes it (Beijing time)."""
    return clock.local(value).strftime("%Y-%m-%dT%H:%M")


def _tick(live_app, when: datetime) -> None:
    """Move the clock and run what the scheduler would run at that time."""
    clock.set_now(when)
    with live_app.app_context():
        run_tick()
        db.session.commit()


def _setup(live_app, tmp_path):
    with live_app.app_context():
        _private, public_key, _fingerprint = signing.generate(
            Path(live_app.config["AUDIT_SIGNING_KEY"])
        )
        live_app.config["EXPORT_DIR"] = str(tmp_path / "exports")
        dept = factories.org("department", name="省科协学会部（测试）")
        finance = factories.org("finance", name="省科协财务处（测试）")
        audit = factories.org("audit", name="省科协审计室（测试）")
        people = {
            "officer": factories.user("officer", organisation=dept, name="周经办"),
            "approver": factories.user("approver", organisation=dept, name="孙处长"),
            "finance": factories.user("finance", organisation=finance, name="钱会计"),
            "auditor": factories.user("auditor", organisation=audit, name="吴审计"),
        }
        agency = factories.org("evaluation_agency", name="浙江求是科技评估咨询有限公司（测试）")
        people["evaluator"] = factories.user("evaluator", organisation=agency, name="郑评估")
        societies = []
        for name, secretary, head in (
            ("浙江省机械工程学会（测试）", "陈秘书", "林秘书长"),
            ("浙江省电子商务学会（测试）", "许秘书", "黄秘书长"),
        ):
            society = factories.org("society", name=name)
            station = factories.station_for(society)
            applicant = factories.user("applicant", organisation=society, name=secretary)
            admin = factories.user("society_admin", organisation=society, name=head)
            societies.append(
                {
                    "name": name,
                    "station": station.name,
                    "applicant": applicant.email,
                    "admin": admin.email,
                }
            )
        officer = people["officer"]
        experts = [
            factories.expert(
                officer,
                organisation=factories.org("expert_org", name=f"{university}（测试）"),
                name=name,
                title="教授",
            )
            for name, university in (
                ("赵一鸣", "浙江大学"),
                ("钱二清", "中国计量大学"),
                ("孙三立", "杭州电子科技大学"),
            )
        ]
        factories.fund(0, year=2027, name=FUND)
        db.session.commit()
        return {
            **{role: u.email for role, u in people.items()},
            "societies": societies,
            "experts": {e.id: e.user.email for e in experts},
            "public_key": str(public_key),
        }


def _fill_application(tab, title: str, station: str, summary: str, objectives: str) -> None:
    tab.get_by_label("项目名称").fill(title)
    tab.get_by_label("任务类别").select_option(label="关键技术攻关")
    tab.get_by_label("学会服务站").select_option(label=station)
    tab.get_by_label("所在园区").select_option(index=1)
    tab.get_by_label("共建地方政府（科协）").select_option(index=1)
    tab.get_by_label("项目摘要").fill(summary)
    tab.get_by_label("项目目标").fill(objectives)
    tab.locator("#f-chief_name").fill("钱教授")
    tab.locator("#f-chief_title").fill("教授")
    tab.locator("#f-chief_org").fill("浙江工业大学")
    for field, text in {"name": "李工", "title": "高级工程师", "organisation": "浙江工业大学",
                        "role": "技术攻关"}.items():  # fmt: skip
        tab.locator(f"#f-team-0-{field}").fill(text)
    targets = (
        ("output", "解决关键技术问题", "项", "3"),
        ("effect", "服务企业数", "家", "20"),
        ("satisfaction", "企业满意度", "%", "90"),
    )
    for i, (group, indicator, unit, value) in enumerate(targets):
        tab.locator(f"#f-target-{i}-group").select_option(group)
        tab.locator(f"#f-target-{i}-indicator").fill(indicator)
        tab.locator(f"#f-target-{i}-unit").fill(unit)
        tab.locator(f"#f-target-{i}-value").fill(value)
    tab.get_by_label("专家咨询费 专项资金").fill("60,000.00")
    tab.get_by_label("差旅费 专项资金").fill("20,000.00")
    tab.get_by_label("差旅费 自筹").fill("5,000.00")
    tab.get_by_label("间接费用 专项资金").fill("8,000.00")
    milestones = (("", "", 60), ("中期检查", "2027-06-30", 30), ("结题验收", "2027-12-31", 10))
    for i, (name, due, pct) in enumerate(milestones):
        if name:
            tab.locator(f"#f-milestone-{i}-title").fill(name)
            tab.locator(f"#f-milestone-{i}-due").fill(due)
            tab.locator(f"#f-milestone-{i}-deliverables").fill(f"{name}报告")
        tab.locator(f"#f-milestone-{i}-pct").fill(str(pct))
    tab.get_by_label("本单位承诺所填内容真实，遵守科研诚信要求。").check()
    tab.get_by_label("本项目未以相同内容重复申报其他财政资金。").check()


def _attach_and_submit(tab, tmp_path) -> None:
    for kind, name in (("共建协议或合作意向书", "共建协议"), ("经费预算说明", "预算说明")):
        upload = tmp_path / f"{name}.pdf"
        upload.write_bytes(factories.PDF_BYTES)
        tab.get_by_label("附件类型").select_option(label=kind)
        tab.get_by_label("文件", exact=True).set_input_files(str(upload))
        tab.get_by_role("button", name="上传").click()
        expect(tab.locator("main li", has_text=kind)).to_contain_text(f"{name}.pdf")
    tab.get_by_role("button", name="保存并检查提交").click()
    expect(tab.locator(".alert-warning")).to_have_count(0)
    tab.get_by_role("button", name="提交申报书").click()
    _alert(tab, "申报书已提交")


def _endorse(tab, base, admin: str, title: str, pdf: Path) -> None:
    _as(tab, base, admin)
    _nav(tab, "申报书")
    tab.get_by_role("link", name=title).click()
    card = tab.locator(".card", has_text="单位审核")
    card.get_by_label("盖章后的申报书扫描件（PDF或图片）").set_input_files(str(pdf))
    card.get_by_role("button", name="审核通过并报送").click()
    _alert(tab, "单位审核已通过，申报书已报送学会部。")


def _open_report(tab, title: str, milestone: str) -> None:
    """From the projects list: the project, then its milestone's report."""
    tab.get_by_role("link", name=title).click()
    tab.locator("tbody tr", has_text=milestone).get_by_role("link").first.click()
    expect(tab.locator("h1")).to_contain_text(milestone)


def _assignments(live_app, call_id: int) -> list[tuple[int, int]]:
    """(application id, expert id) of the draw: read to know whom to sign in as."""
    with live_app.app_context():
        rows = db.session.scalars(
            db.select(ReviewAssignment)
            .where(ReviewAssignment.call_id == call_id)
            .order_by(ReviewAssignment.id)
        ).all()
        return [(r.application_id, r.expert_id) for r in rows]


# --- the walk ---------------------------------------------------------------


def test_full_fund_cycle(live_app, live_server, page, tmp_path):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions: "yes"
    # The machine is shared with other test runs: give slow pages time.
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    try:
        _walk(live_app, live_server, page, tmp_path)
    except Exception:
        # Where it stopped, for whoever reads the artefacts.
        screenshot(page, "cycle-failure")
        (ARTIFACTS / "cycle-failure.html").write_text(page.content(), encoding="utf-8")
        raise
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for the other tests
    assert not [e for e in errors if "Content Security Policy" in e], errors
    with live_app.app_context():
        fault, _last, _head = verify_all()
        assert fault is None, fault
        assert invariants.check_ledger() is None


def _walk(live_app, base, page, tmp_path):  # noqa: PLR0915
    t0 = datetime.now(UTC).replace(second=0, microsecond=0)
    clock.set_now(t0)
    s = _setup(live_app, tmp_path)
    (soc_a, soc_b) = s["societies"]
    pdf = tmp_path / "盖章申报书.pdf"
    pdf.write_bytes(factories.PDF_BYTES)

    # 1. Finance appropriates the year's fund.
    _as(page, base, s["finance"])
    _nav(page, "专项资金")
    row = page.locator("tbody tr", has_text=FUND)
    row.get_by_label("拨款金额（元）").fill("5,000,000.00")
    row.get_by_label("文号或凭证号").fill("浙财教〔2026〕88号")
    row.get_by_role("button", name="登记拨款").click()
    expect(page.locator("tbody tr", has_text=FUND)).to_contain_text("5,000,000.00")
    _checked(page, "cycle-01-fund")

    # 2. The officer creates the call and publishes it.
    _as(page, base, s["officer"])
    expect(page.locator("h1")).to_have_text("工作台")
    _checked(page, "cycle-02-officer-home")
    _nav(page, "批次管理")
    page.get_by_role("link", name="新建申报批次").click()
    _choose(page.get_by_label("专项资金", exact=True), FUND)
    page.get_by_label("标题（中文）").fill(CALL)
    page.get_by_label("申报指南（中文）").fill(
        "面向省级学会，支持在试点园区建设学会服务站，开展共性技术攻关和成果转化。"
    )
    page.get_by_label("关键技术攻关").check()
    page.get_by_label("申报开始时间（北京时间）").fill(_local(t0 + timedelta(hours=1)))
    page.get_by_label("申报截止时间（北京时间）").fill(_local(t0 + timedelta(days=10)))
    page.get_by_label("批次总预算（元）").fill("1,000,000.00")
    page.get_by_label("单项资助上限（元）").fill("200,000.00")
    expect(page.get_by_label("每项申报书评审专家数")).to_have_value("3")
    _checked(page, "cycle-03-new-call")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("h1")).to_have_text(CALL)
    page.get_by_role("button", name="发布").click()
    expect(page.locator("main .badge").first).to_have_text(re.compile("已发布"))
    _checked(page, "cycle-04-call-published")
    call_id = int(re.search(r"/calls/(\d+)", page.url).group(1))
    _logout(page)
    _tick(live_app, t0 + timedelta(hours=2))  # the call opens

    # 3. Both societies apply; their secretariats endorse.
    app_ids = []
    for society, title, texts in zip((soc_a, soc_b), TITLES, SUMMARIES, strict=True):
        _as(page, base, society["applicant"])
        expect(page.locator("h1")).to_have_text("工作台")
        if not app_ids:
            _checked(page, "cycle-05-society-home")
        _nav(page, "申报指南")
        page.get_by_role("link", name=CALL).click()
        page.get_by_role("button", name="开始填写申报书").click()
        expect(page.locator("h1")).to_have_text("填写申报书")
        app_ids.append(int(re.search(r"/applications/(\d+)/edit", page.url).group(1)))
        _fill_application(page, title, society["station"], *texts)
        page.get_by_role("button", name="保存草稿").click()
        _alert(page, "已保存")
        if len(app_ids) == 1:
            _checked(page, "cycle-06-application-form")
        _attach_and_submit(page, tmp_path)
        if len(app_ids) == 1:
            _checked(page, "cycle-07-application-submitted")
        _endorse(page, base, society["admin"], title, pdf)
        if len(app_ids) == 1:
            _checked(page, "cycle-08-endorsed")

    # 4. The eligibility check: A accepted, B returned once, resubmitted, accepted.
    _as(page, base, s["officer"])
    _nav(page, "申报书")
    _checked(page, "cycle-09-applications")
    page.get_by_role("link", name=TITLES[1]).click()
    check = page.locator(".card", has_text="形式审查")
    check.get_by_label("书面理由").first.fill("经费预算说明未加盖财务专用章，请补充后重新提交。")
    check.get_by_role("button", name="退回修改").click()
    _alert(page, "形式审查结论已记录。")
    expect(page.locator("main .badge").first).to_have_text("退回修改")
    _checked(page, "cycle-10-returned")
    _as(page, base, soc_b["applicant"])
    _nav(page, "申报书")
    page.get_by_role("link", name=TITLES[1]).click()
    expect(page.locator("main")).to_contain_text("经费预算说明未加盖财务专用章")
    _checked(page, "cycle-11-returned-society")
    page.get_by_role("link", name="继续填写").click()
    page.get_by_label("项目摘要").fill(SUMMARIES[1][0] + "已补充加盖财务专用章的经费预算说明。")
    page.get_by_role("button", name="保存草稿").click()
    _alert(page, "已保存")
    page.get_by_role("button", name="保存并检查提交").click()
    page.get_by_role("button", name="提交申报书").click()
    _alert(page, "申报书已提交")
    _endorse(page, base, soc_b["admin"], TITLES[1], pdf)
    _as(page, base, s["officer"])
    for title in TITLES:
        _nav(page, "申报书")
        page.get_by_role("link", name=title).click()
        page.locator(".card", has_text="形式审查").get_by_role(
            "button", name="受理", exact=True
        ).click()
        expect(page.locator("main .badge").first).to_have_text("已受理")
    _logout(page)

    # 5. The call closes; the officer starts the review and draws experts with a seed.
    _tick(live_app, t0 + timedelta(days=10, minutes=1))
    _as(page, base, s["officer"])
    _nav(page, "批次管理")
    page.get_by_role("link", name=CALL).click()
    page.get_by_role("button", name="开始评审").click()
    expect(page.locator("main .badge").first).to_have_text("评审中")
    _nav(page, "专家评审")
    page.locator("tbody tr", has_text=CALL).get_by_role("link", name="抽取与分配").click()
    page.get_by_label("随机种子（留空则随机生成）").fill(SEED)
    page.get_by_role("button", name="随机抽取").click()
    _alert(page, f"抽取完成（随机种子 {SEED}），请核对后确认。")
    _checked(page, "cycle-12-draw")
    page.get_by_role("button", name="确认抽取结果并发出邀请").click()
    _alert(page, "已确认抽取结果")

    # 6. Each expert declares no conflict and scores.
    drawn = _assignments(live_app, call_id)
    numbers = {}
    with live_app.app_context():
        for app_id in app_ids:
            numbers[app_id] = db.session.get(Application, app_id).project_number
    by_expert: dict[int, list[int]] = {}
    for app_id, expert_id in drawn:
        by_expert.setdefault(expert_id, []).append(app_id)
    first = True
    for expert_id, apps in by_expert.items():
        _as(page, base, s["experts"][expert_id])
        for app_id in apps:
            _nav(page, "我的评审")
            if first:
                _checked(page, "cycle-13-my-reviews")
            page.locator("tbody tr", has_text=numbers[app_id]).get_by_role(
                "link", name="打开"
            ).click()
            page.get_by_label(re.compile("^本人声明")).check()
            page.get_by_label(re.compile("^本人承诺")).check()
            if first:
                _checked(page, "cycle-14-declaration")
            page.get_by_role("button", name="接受评审").click()
            _alert(page, "已确认，可以查看申报材料并评分。")
            page.get_by_role("link", name="评分表").first.click()
            for key, value in SCORES.items():
                page.locator(f"#score-{key}").fill(value)
            page.locator("#overall_comment").fill("需求明确，方案可行，建议资助。")
            page.get_by_role("button", name="提交评分（提交后锁定）").click()
            _alert(page, "评分已提交并锁定。")
            if first:
                _checked(page, "cycle-15-score-sheet")
            first = False

    # 7. The officer closes the round; ranks; proposes awards; the approver approves.
    _as(page, base, s["officer"])
    _nav(page, "专家评审")
    page.locator("tbody tr", has_text=CALL).get_by_role("link", name="评审结果").click()
    page.get_by_role("button", name=re.compile("^结束本轮评审")).click()
    _alert(page, "2 份申报书评审完成")
    _checked(page, "cycle-16-ranking")
    _nav(page, "立项")
    page.get_by_role("link", name=CALL).click()
    for app_id in app_ids:
        row = page.locator("tbody tr", has_text=numbers[app_id])
        row.get_by_label("决定说明").fill("经集体研究，同意立项。")
        row.get_by_role("button", name="保存", exact=True).click()
        expect(page.locator("tbody tr", has_text=numbers[app_id]).locator(".badge")).to_be_visible()
    _checked(page, "cycle-17-proposed")
    _as(page, base, s["approver"])
    expect(page.locator("main")).to_contain_text("待审批的立项建议")
    _checked(page, "cycle-18-approver-home")
    _nav(page, "立项")
    page.get_by_role("link", name=CALL).click()
    for app_id in app_ids:
        page.locator("tbody tr", has_text=numbers[app_id]).get_by_role(
            "button", name="审批"
        ).click()
        _ok(page)
    _checked(page, "cycle-19-approved")

    # 8. The officer publishes the results; the notice period starts.
    _as(page, base, s["officer"])
    _nav(page, "立项")
    page.get_by_role("link", name=CALL).click()
    page.get_by_role("button", name="统一公布立项结果并开始公示").click()
    _alert(page, "立项结果已公布，公示开始。")
    _logout(page)

    # 9. Anyone may object, from the public notice.
    page.goto(f"{base}/calls")
    page.get_by_role("link", name="立项公示").click()
    page.get_by_role("link", name=re.compile(CALL)).click()
    expect(page.locator("h1")).to_have_text("拟立项公示")
    expect(page.get_by_role("link", name="登录")).to_be_visible()  # a way in from here
    _checked(page, "cycle-20-notice")
    _choose(page.get_by_label("异议项目"), numbers[app_ids[1]])
    page.get_by_label("姓名").fill("王群众")
    page.get_by_label("联系方式").fill("13800000000")
    page.get_by_label("异议的事实和理由").fill("该项目团队成员与另一在研项目重复，请核查。")
    page.get_by_role("button", name="提交异议").click()
    _alert(page, "异议已收到")

    # 10. The officer accepts the objection for handling and finds it unfounded.
    _as(page, base, s["officer"])
    expect(page.locator("main")).to_contain_text("待处理的异议")
    _nav(page, "立项")
    page.get_by_role("link", name="异议与复审").click()
    row = page.locator("tbody tr", has_text="王群众")
    row.get_by_role("button", name="受理", exact=True).click()
    _alert(page, "已处理。")
    row = page.locator("tbody tr", has_text="王群众")
    row.get_by_label("理由或书面答复").last.fill(
        "经核查，团队成员未在其他在研项目中重复承担任务，异议不成立。"
    )
    row.get_by_role("button", name="异议不成立").click()
    _alert(page, "已处理。")
    expect(page.locator("tbody tr", has_text="王群众")).to_contain_text("不成立")
    _checked(page, "cycle-21-objection")
    _logout(page)

    # 11. After the notice period the officer confirms the awards and sends the agreements.
    clock.set_now(t0 + timedelta(days=17))  # before the tick would confirm them itself
    _as(page, base, s["officer"])
    _nav(page, "立项")
    page.get_by_role("link", name=CALL).click()
    page.get_by_role("button", name="确认公示期满的立项").click()
    _alert(page, "已确认立项 2 项。")
    for app_id in app_ids:
        expect(page.locator("tbody tr", has_text=numbers[app_id])).to_contain_text("已立项")
    _nav(page, "任务书")
    _checked(page, "cycle-22-agreements")
    for title in TITLES:
        _nav(page, "任务书")
        page.locator("tbody tr", has_text=title).get_by_role("link").first.click()
        if page.get_by_role("button", name="发送学会签订").count():
            page.get_by_role("button", name="发送学会签订").click()
            _alert(page, "已完成。")

    # 12. Each society's secretariat signs its agreement.
    for society, title in zip((soc_a, soc_b), TITLES, strict=True):
        _as(page, base, society["admin"])
        _nav(page, "任务书")
        page.locator("tbody tr", has_text=title).get_by_role("link").first.click()
        if society is soc_a:
            _checked(page, "cycle-23-agreement")
        page.get_by_role("button", name="确认签订任务书").click()
        _alert(page, "已完成。")
        expect(page.locator("main .badge").first).to_have_text("已签订")

    # 13. The first tranche: the approver releases it, finance records the payment.
    # (Signing qualified it already; the day's tick, as cron would run it, changes nothing.)
    _tick(live_app, t0 + timedelta(days=17, hours=1))
    _as(page, base, s["approver"])
    page.get_by_role("link", name="待批准拨付的批次").click()  # from the home page
    page.get_by_role("link", name=TITLES[0]).click()
    _checked(page, "cycle-24-project")
    page.get_by_role("button", name="批准拨付").first.click()
    _ok(page)
    expect(page.locator("main table").first).to_contain_text("已批准拨付")
    _as(page, base, s["finance"])
    page.get_by_role("link", name="待支付的批次").click()
    page.get_by_role("link", name=TITLES[0]).click()
    pay = page.locator("form", has=page.get_by_role("button", name="登记支付")).first
    pay.get_by_label("凭证号").fill("记-2026-1201")
    pay.get_by_label("支付日期").fill(clock.today().isoformat())
    pay.get_by_role("button", name="登记支付").click()
    _ok(page)
    expect(page.locator("main table").first).to_contain_text("已支付")
    expect(page.locator("main table").first).to_contain_text("记-2026-1201")
    _checked(page, "cycle-25-paid")

    # 14. The society reports on the mid-term milestone; the officer accepts the report.
    _as(page, base, soc_a["applicant"])
    _nav(page, "项目管理")
    page.get_by_role("link", name=TITLES[0]).click()
    page.get_by_role("button", name="填写报告").first.click()
    page.get_by_label("进展情况").fill("已完成两项关键技术攻关，服务企业十二家。")
    for i, value in enumerate(("2", "12", "92")):
        page.locator(f"[name=actual-{i}]").fill(value)
    page.get_by_role("button", name="保存草稿").click()
    _checked(page, "cycle-26-report")
    page.get_by_role("button", name="提交报告").click()
    _ok(page)
    # The society's head signs the report off before it goes to the department.
    _as(page, base, soc_a["admin"])
    page.get_by_role("link", name="待学会负责人审核的项目报告").click()
    _open_report(page, TITLES[0], "中期检查")
    page.get_by_role("button", name="审核通过并报送").click()
    _ok(page)
    _checked(page, "cycle-27-report-signed-off")
    _as(page, base, s["officer"])
    page.get_by_role("link", name="待审核的进展报告").click()
    _open_report(page, TITLES[0], "中期检查")
    page.get_by_role("button", name="审核通过", exact=True).click()
    _ok(page)
    expect(page.locator("main .badge").first).to_have_text(re.compile("通过"))
    _checked(page, "cycle-28-report-accepted")

    # 15. The officer engages the agency and asks the society for its self-evaluation;
    # the evaluator declares independence, scores and submits; the officer accepts.
    _nav(page, "绩效评价")
    page.get_by_role("link", name="委托第三方评估机构").click()
    page.get_by_label("委托名称").fill("2027年度学会服务站项目中期绩效评价")
    page.get_by_label("评价范围与内容").fill("对项目决策、过程、产出和效益开展第三方绩效评价。")
    page.get_by_label("完成期限").fill((clock.today() + timedelta(days=60)).isoformat())
    _choose(page.get_by_label("被评价项目"), TITLES[0])
    _choose(page.get_by_label("评价人员"), "郑评估")
    _choose(page.get_by_label("牵头人"), "郑评估")
    _checked(page, "cycle-29-engagement")
    page.get_by_role("button", name="委托", exact=True).click()
    _ok(page)
    _nav(page, "绩效评价")
    page.locator("table", has_text="等级").locator("tbody tr", has_text=TITLES[0]).get_by_role(
        "link"
    ).first.click()
    evaluation_url = page.url
    page.get_by_role("button", name="通知学会填写自评").click()
    _ok(page)
    _as(page, base, soc_a["applicant"])
    _nav(page, "绩效评价")
    page.locator("tbody tr", has_text=TITLES[0]).get_by_role("link").first.click()
    for box in page.locator("input[type=number][id^=self-score-]").all():
        box.fill(box.get_attribute("max") or "1")
    _checked(page, "cycle-30-self-evaluation")
    page.get_by_role("button", name="提交自评").click()
    _ok(page)
    _as(page, base, s["evaluator"])
    _nav(page, "绩效评价")
    page.locator("table", has_text="委托名称").locator("tbody tr").first.get_by_role(
        "link"
    ).first.click()
    page.locator("input[name=statement]").check()
    page.get_by_role("button", name="提交声明").click()
    _ok(page)
    page.goto(evaluation_url)
    for box in page.locator("input[type=number][id^=agency-score-]").all():
        box.fill(box.get_attribute("max") or "1")
    page.get_by_role("button", name="保存评分").click()
    _ok(page)
    _checked(page, "cycle-31-evaluation")
    page.get_by_role("button", name="提交评价（牵头人）").click()
    _ok(page)
    _as(page, base, s["officer"])
    page.goto(evaluation_url)
    page.get_by_role("button", name="采纳评价结果").click()
    _ok(page)
    expect(page.locator("main dl")).to_contain_text("已采纳")

    # 16. The auditor downloads the audit bundle and verifies it with its own script.
    _as(page, base, s["auditor"])
    _nav(page, "下载中心")
    page.get_by_role("button", name="生成审计包").click()
    with live_app.app_context():
        job = jobs.run_one()  # the worker
        db.session.commit()
        assert job is not None and job.state == "done", job and job.message
    page.reload()
    _checked(page, "cycle-32-downloads")
    with page.expect_download() as download:
        page.locator("table").get_by_role("link").first.click()
    saved = tmp_path / "bundle.zip"
    download.value.save_as(saved)
    unzipped = tmp_path / "bundle"
    with zipfile.ZipFile(saved) as archive:
        archive.extractall(unzipped)
    (folder,) = unzipped.iterdir()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "verify_bundle.py", "--pubkey", s["public_key"]],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "OK 通过"
    _logout(page)
