"""The third-party performance evaluation path in a real browser, in Chinese, through
the UI only.

Factories make one running project (through the awards path), an evaluation agency
with three evaluators (one tied to the project's society) and the officer; everything
after that is clicked and typed: the department engages the agency (the tied evaluator
is refused by the independence check), adds an evaluator later, evaluators declare,
the society fills its self-evaluation, the lead scores with the computed indicators
shown beside the sheet, records notes and a problem and submits; the report PDF
downloads; the department accepts; the society answers the problem with evidence and
the department closes it; the programme dashboard shows the figures.
"""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal

from playwright.sync_api import expect

from app.accounts.models import Organisation
from app.audit.verify import verify_all
from app.evaluation.models import Evaluation, EvaluatorTie, RectificationItem
from app.evaluation.states import GRADE_ZH
from app.extensions import db
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot
from tests.evaluation.helpers import full_sheet

AGENCY = "浙江求是绩效评估咨询有限公司（浏览器测试）"
ENGAGEMENT = "2026年度服务站项目中期绩效评价（浏览器测试）"
PROBLEM = "配套经费到位率偏低，部分经费未按预算科目列支。"


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
        r = factories.evaluation_projects(1)
        project = r.projects[0]
        agency = factories.org("evaluation_agency", name=AGENCY)
        lead = factories.user("evaluator", organisation=agency, name="王牵头")
        second = factories.user("evaluator", organisation=agency, name="李评估")
        tied = factories.user("evaluator", organisation=agency, name="钱关联")
        late = factories.user("evaluator", organisation=agency, name="孙后加")
        db.session.add(EvaluatorTie(user_id=tied.id, org_id=project.society_id, kind="employment"))
        admin = factories.society_admin_of(db.session.get(Organisation, project.society_id))
        db.session.commit()
        return {
            "officer": r.officer.email,
            "approver": r.approver.email,
            "project_id": project.id,
            "agency_id": agency.id,
            "lead": (lead.id, lead.email),
            "second": (second.id, second.email),
            "tied": tied.id,
            "late": (late.id, late.email),
            "society": admin.email,
        }


def _evaluation(live_app, project_id: int) -> tuple[int, str, str | None, str | None]:
    """(id, state, total, grade) of the project's evaluation — read to check, never to act."""
    with live_app.app_context():
        row = db.session.scalar(db.select(Evaluation).where(Evaluation.project_id == project_id))
        return row.id, str(row.state), row.total, row.grade


def _fill_sheet(tab, which: str, scores: dict[str, str]) -> None:
    for key, value in scores.items():
        tab.locator(f"#{which}-score-{key}").fill(value)


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True,
                         check=True)  # fmt: skip
    return out.stdout.decode()


def test_engage_evaluate_accept_rectify_and_dashboard(live_app, live_server, page, tmp_path):
    base = live_server
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    s = _setup(live_app)
    with live_app.app_context():
        self_scores = full_sheet(Decimal("0.9"))
        agency_scores = full_sheet(Decimal("0.85"))

    # 1. The department engages the agency; the tied evaluator is refused first.
    login(page, base, s["officer"], factories.PASSWORD)
    page.get_by_role("link", name="绩效评价").first.click()
    page.get_by_role("link", name="委托第三方评估机构").click()
    expect(page.locator("h1")).to_have_text("委托第三方评估机构")
    page.get_by_label("第三方评估机构").select_option(str(s["agency_id"]))
    page.get_by_label("评价类型").select_option("midterm")
    page.get_by_label("委托名称").fill(ENGAGEMENT)
    page.get_by_label("评价范围与内容").fill("对项目决策、过程、产出和效益开展第三方绩效评价。")
    page.get_by_label("完成期限").fill("2027-06-30")
    page.get_by_label("被评价项目").select_option(str(s["project_id"]))
    ids = [str(s["lead"][0]), str(s["second"][0]), str(s["tied"])]
    page.get_by_label("评价人员", exact=True).select_option(ids)
    page.get_by_label("牵头人").select_option(str(s["lead"][0]))
    _checked(page, "evaluation-01-engage")
    page.get_by_role("button", name="委托", exact=True).click()
    _alert(page, "独立性审查未通过，不能委托。")
    _alert(page, "评价人员 钱关联 与项目")
    page.get_by_label("评价人员", exact=True).select_option(ids[:2])
    page.get_by_label("牵头人").select_option(str(s["lead"][0]))
    page.get_by_role("button", name="委托", exact=True).click()
    _alert(page, "已委托评估机构，并已通知评价人员声明独立性。")
    expect(page.locator("h1")).to_have_text(ENGAGEMENT)
    # An evaluator added after the engagement is made, checked again, not yet declared.
    page.get_by_label("增加评价人员").select_option(str(s["late"][0]))
    page.get_by_role("button", name="增加评价人员").click()
    _alert(page, "已增加评价人员，并已通知其声明独立性。")
    members = page.locator("table", has_text="牵头人").first.locator("tbody tr")
    expect(members).to_have_count(3)
    expect(members.filter(has_text="孙后加")).to_contain_text("待声明")
    expect(page.locator("main")).to_contain_text("独立性审查记录")
    _checked(page, "evaluation-02-engagement")
    evaluation_id, state, _t, _g = _evaluation(live_app, s["project_id"])
    assert state == "engaged"
    page.goto(f"{base}/evaluations/{evaluation_id}")
    page.get_by_role("button", name="通知学会填写自评").click()
    _alert(page, "已通知学会填写自评。")
    _logout(page)

    # 2. The lead evaluator declares independence before seeing the project.
    login(page, base, s["lead"][1], factories.PASSWORD)
    page.goto(f"{base}/evaluations/{evaluation_id}")
    _alert(page, "请先声明与被评价项目无利益关联")
    expect(page.locator("main")).to_contain_text("声明后可见")
    page.get_by_label(re.compile("^本人及所在机构")).check()
    _checked(page, "evaluation-03-declare")
    page.get_by_role("button", name="提交声明").click()
    _alert(page, "已声明独立性，可以查看项目材料并评分。")
    _logout(page)

    # 3. The society fills its self-evaluation (a draft first, then submitted).
    login(page, base, s["society"], factories.PASSWORD)
    page.get_by_role("link", name="绩效评价").first.click()
    page.locator("tbody tr", has_text="自评中").get_by_role("link").first.click()
    expect(page.locator("h2", has_text="绩效自评表")).to_be_visible()
    _fill_sheet(page, "self", self_scores)
    _checked(page, "evaluation-04-self")
    page.get_by_role("button", name="提交自评").click()
    _alert(page, "已提交自评。")
    expect(page.locator("main")).to_contain_text("评价中")
    _logout(page)

    # 4. The lead scores beside the computed indicators, notes, a problem, submits.
    login(page, base, s["lead"][1], factories.PASSWORD)
    page.goto(f"{base}/evaluations/{evaluation_id}")
    sheet = page.locator("form", has=page.locator("#agency-score-" + next(iter(agency_scores))))
    expect(sheet.locator("thead")).to_contain_text("系统数据")
    expect(sheet.locator("thead")).to_contain_text("自评")
    # The four computed indicators sit beside their criteria (a rate or "—").
    evidence = sheet.locator("tbody tr td:nth-child(4)")
    assert sum(1 for t in evidence.all_inner_texts() if re.fullmatch(r"\d+\.\d%|—", t)) == 4
    expect(page.locator("#vetoes")).to_contain_text("否决项（一票否决）")
    first = next(iter(agency_scores))
    page.locator(f"#agency-score-{first}").fill("999")
    page.get_by_role("button", name="保存评分").click()
    _alert(page, "评分有误，未保存。")
    _fill_sheet(page, "agency", agency_scores)
    page.get_by_role("button", name="保存评分").click()
    _alert(page, "已保存。")
    page.get_by_label("现场核查情况").fill("2026年11月现场核查服务站运行记录、经费凭证。")
    page.get_by_label("评价结论与意见").fill("项目总体按计划推进，经费管理需加强。")
    page.get_by_role("button", name="保存", exact=True).click()
    _alert(page, "已保存。")
    page.get_by_label("发现的问题").fill(PROBLEM)
    page.get_by_label("整改要求").fill("三个月内补足配套经费并调整列支科目。")
    page.get_by_label("整改期限").fill("2027-03-31")
    page.get_by_role("button", name="加入问题清单").click()
    _alert(page, "已加入问题清单。")
    _checked(page, "evaluation-05-agency-sheet")
    page.get_by_role("button", name="提交评价（牵头人）").click()
    _alert(page, "评价已提交学会部。")
    _id, state, total, grade = _evaluation(live_app, s["project_id"])
    assert state == "submitted" and grade == ("good" if 80 <= Decimal(total) < 90 else grade)
    expect(page.locator("#total")).to_have_text(total)
    expect(page.locator("#grade")).to_contain_text(GRADE_ZH[grade])
    with page.expect_download() as info:
        page.get_by_role("link", name="下载绩效评价报告（PDF）").click()
    path = tmp_path / "report.pdf"
    info.value.save_as(path)
    text = _pdf_text(path.read_bytes())
    assert "绩效评价报告" in text and total in text and "配套经费到位率偏低" in text
    _logout(page)

    # 5. The department accepts the evaluation.
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(f"{base}/evaluations/{evaluation_id}")
    page.get_by_label("采纳意见").fill("同意评价结论，请学会按期整改。")
    _checked(page, "evaluation-06-accept")
    page.get_by_role("button", name="采纳评价结果").click()
    _alert(page, "已采纳评价结果。")
    assert _evaluation(live_app, s["project_id"])[1] == "accepted"
    _logout(page)

    # 6. The society answers the problem with evidence; the department closes it.
    login(page, base, s["society"], factories.PASSWORD)
    page.goto(f"{base}/evaluations/{evaluation_id}")
    expect(page.locator("#grade")).to_contain_text(GRADE_ZH[grade])
    page.locator("tbody tr", has_text=PROBLEM).get_by_role("link").first.click()
    expect(page.locator("h1")).to_contain_text("整改事项")
    evidence_file = tmp_path / "整改佐证.pdf"
    evidence_file.write_bytes(factories.PDF_BYTES)
    page.get_by_label("整改情况").fill("已补足配套经费 20 万元，并按预算科目重新列支。")
    page.set_input_files("#file", str(evidence_file))
    _checked(page, "evaluation-07-rectify")
    page.get_by_role("button", name="提交整改情况").click()
    _alert(page, "已提交整改情况。")
    expect(page.locator("#item-state")).to_have_text("已提交整改")
    expect(page.locator("main")).to_contain_text("整改佐证.pdf")
    _logout(page)
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(f"{base}/evaluations/{evaluation_id}")
    page.locator("tbody tr", has_text=PROBLEM).get_by_role("link").first.click()
    page.get_by_role("button", name="确认销号").click()
    _alert(page, "已销号。")
    expect(page.locator("#item-state")).to_have_text("已销号")
    with live_app.app_context():
        item = db.session.scalar(
            db.select(RectificationItem).where(RectificationItem.evaluation_id == evaluation_id)
        )
        assert str(item.state) == "closed" and item.evidence_count == 1

    # 7. The programme dashboard shows the figures, the accepted grade among them.
    page.get_by_role("link", name="项目看板").first.click()
    expect(page.locator("h1")).to_have_text("项目看板")
    expect(page.locator("#kpi-projects")).to_have_text(re.compile(r"^\d+$"))
    for chart in ("chart-category", "chart-money", "chart-grades", "chart-station-city"):
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    expect(page.locator("#stations")).to_contain_text("学会服务站与示范基地（阶段目标）")
    _checked(page, "evaluation-08-dashboard")
    _logout(page)

    # Refusals answer 4xx (the browser logs them); no script may be blocked by the CSP.
    assert not [e for e in errors if "Content Security Policy" in e], errors
    with live_app.app_context():
        fault, _last, _head = verify_all()
        assert fault is None, fault
