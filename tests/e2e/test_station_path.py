"""The stations path in a real browser, in Chinese: a county's pilot application and its
selection, a station established with its agreement, an enterprise's need answered by a
society, matched to a funded project and closed with a satisfaction score, the station's
yearly report evaluated by an engaged agency, and the stage goals on the dashboard.

Factories make the people, the pilot call with the county's draft, and move the pilot
application through the review and award machinery (tested by its own browser paths);
everything of the stations module is clicked and typed.
"""

from __future__ import annotations

import io
from datetime import timedelta

from playwright.sync_api import expect

from app.applications import operations as apps
from app.audit.verify import verify_all
from app.awards import operations as awards
from app.calls import operations as calls
from app.core import clock
from app.extensions import db
from app.stations import operations as ops
from app.stations.figures import stage_figures
from app.stations.models import Need, Station, StationEvaluation
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot
from tests.stations.test_reporting import FULL

STATION = "永康五金装备学会服务站（浏览器测试）"
NEED_TITLE = "电动工具电机温升控制攻关"


def _checked(tab, name: str) -> None:
    tab.wait_for_load_state()
    violations = axe_violations(tab)
    assert violations == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
    screenshot(tab, name)


def _alert(tab, text: str) -> None:
    expect(tab.locator("main .alert", has_text=text).first).to_be_visible()


def _logout(tab) -> None:
    tab.get_by_role("button", name="退出").click()
    tab.wait_for_load_state()


def _setup(live_app) -> dict:
    with live_app.app_context():
        officer = factories.user("officer", name="周经办")
        approver = factories.user("approver", name="孙处长")
        county = factories.org("local_government", name="永康市科协（测试）", city_code="330784")
        county_applicant = factories.user("applicant", organisation=county, name="陈科长")
        county_partner = factories.user("local_partner", organisation=county, name="吴主任")
        park = ops.create_park("永康经济开发区（测试）", "330784", actor=officer)
        society = factories.org("society", name="浙江省机械工程学会（测试）")
        lead_admin = factories.user("society_admin", organisation=society, name="王秘书长")
        lead_applicant = factories.user("applicant", organisation=society, name="王工")
        responder = factories.user("applicant", name="李教授")
        company = factories.org(
            "enterprise", name="永康电动工具有限公司（测试）", city_code="330784"
        )
        ops.link_enterprise(company.id, park.id, actor=officer)
        enterprise = factories.user("enterprise", organisation=company, name="徐经理")
        evaluator = factories.user("evaluator", name="评估员甲")
        pilot_call = factories.call(officer=officer, kind="pilot", per_society_limit=3)
        draft = apps.create_application(pilot_call, actor=county_applicant)
        holder = factories.station_in("planned", park=park)
        data = factories.application_data(
            holder, station_id=None, co_government_id=county.id, title="永康市助力工程试点申报"
        )
        apps.save_draft(draft, data, actor=county_applicant, expected_version=draft.version)
        for kind in pilot_call.required_attachments:
            apps.add_attachment(
                draft, kind["key"], io.BytesIO(factories.PDF_BYTES), "a.pdf", actor=county_applicant
            )
        db.session.commit()
        return {
            "officer": officer.email,
            "approver": approver.email,
            "county": county_applicant.email,
            "county_partner": county_partner.email,
            "county_name": county.name,
            "lead_admin": lead_admin.email,
            "lead_applicant_id": lead_applicant.id,
            "lead": lead_applicant.email,
            "responder": responder.email,
            "enterprise": enterprise.email,
            "evaluator": evaluator.email,
            "agency": evaluator.org.name,
            "society": society.name,
            "park": park.name,
            "draft_id": draft.id,
        }


def _select_pilot(live_app, app_id: int) -> None:
    """Submission, endorsement, eligibility, review and award of the pilot application
    by the real operations (their own browser tests click through them)."""
    from app.accounts.models import User
    from app.applications.models import Application

    with live_app.app_context():
        row = db.session.get(Application, app_id)
        applicant = db.session.get(User, row.created_by_id)
        officer = factories.user("officer")
        apps.submit_application(row, actor=applicant)
        apps.endorse_application(
            row, io.BytesIO(factories.PDF_BYTES), "sealed.pdf",
            actor=factories.society_admin_of(applicant.org),
        )  # fmt: skip
        apps.check_application(row, "accept", actor=officer)
        the_call = row.call
        with clock.frozen(clock.as_utc(the_call.closes_at) + timedelta(seconds=1)):
            calls.open_and_close_calls()
        calls.advance_call(the_call, "start_review", actor=officer)
        apps.advance_application(row, "start_review", actor=officer)
        apps.advance_application(row, "finish_review", actor=officer)
        award = awards.propose_award(row, row.requested_fen, "集体研究同意试点。", actor=officer)
        awards.approve_award(award, actor=factories.user("approver"))
        notice = awards.publish_decisions(the_call, actor=officer)
        with clock.frozen(clock.as_utc(notice.ends_at) + timedelta(seconds=1)):
            awards.confirm_due_awards()
        ops.sync_pilot_regions()
        db.session.commit()


def _fund_station(live_app, lead_applicant_id: int) -> None:
    """A confirmed project of the station (its lead society's application)."""
    from app.accounts.models import User

    with live_app.app_context():
        station = db.session.scalar(db.select(Station).where(Station.name == STATION))
        factories.confirmed_awards([(db.session.get(User, lead_applicant_id), station)])
        db.session.commit()


def test_pilot_station_need_report_and_dashboard(live_app, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} {msg.location.get('url')}") if msg.type == "error" else None
        ),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    s = _setup(live_app)

    # 1. The county fills in what it brings as a pilot unit; it is then selected.
    login(page, base, s["county"], factories.PASSWORD)
    page.goto(f"{base}/pilot/applications/{s['draft_id']}")
    page.get_by_label("所在省级高新园区").select_option(label=s["park"])
    page.get_by_label("主导产业").fill("五金装备、电动工具")
    page.get_by_label("提出的需求").fill("电机温升控制等关键共性技术")
    page.get_by_label("提供的场地条件").fill("开发区科创中心200平方米")
    page.get_by_label("地方配套资金（元）").fill("500000")
    page.get_by_label("专职工作人员（人）").fill("3")
    page.get_by_role("button", name="保存").click()
    _alert(page, "试点信息已保存。")
    _checked(page, "station-01-pilot-profile")
    _logout(page)
    _select_pilot(live_app, s["draft_id"])
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(f"{base}/pilot/regions")
    expect(page.locator("main")).to_contain_text(s["county_name"])
    _checked(page, "station-02-pilot-regions")

    # 2. The officer registers the station and uploads the cooperation agreement.
    page.get_by_role("link", name="学会服务站").first.click()
    page.get_by_role("link", name="登记服务站").click()
    page.get_by_label("服务站名称").fill(STATION)
    page.get_by_label("所在园区").select_option(label=s["park"])
    page.get_by_label("共建政府（科协）").select_option(label=s["county_name"])
    page.get_by_label("牵头学会").select_option(label=s["society"])
    page.get_by_role("button", name="保存").click()
    _alert(page, "服务站已登记。")
    upload = page.locator("form", has=page.get_by_role("button", name="上传文件"))
    upload.locator("select[name=kind]").select_option("agreement")
    upload.locator("input[type=file]").set_input_files(
        files=[{"name": "协议.pdf", "mimeType": "application/pdf", "buffer": factories.PDF_BYTES}]
    )
    page.get_by_role("button", name="上传文件").click()
    _alert(page, "文件已上传。")
    station_url = page.url
    _logout(page)
    # Both parties confirm the agreement; the officer establishes the station.
    for who in ("lead_admin", "county_partner"):
        login(page, base, s[who], factories.PASSWORD)
        page.goto(station_url)
        page.get_by_role("button", name="确认合作协议").click()
        _alert(page, "已确认合作协议。")
        _logout(page)
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(station_url)
    page.get_by_role("button", name="确认建立").click()
    _alert(page, "已更新服务站状态。")
    expect(page.locator("h1 .badge")).to_have_text("已建立")
    _checked(page, "station-03-established")
    _logout(page)

    # 3. An enterprise of the park posts a need from its park page.
    login(page, base, s["enterprise"], factories.PASSWORD)
    page.goto(f"{base}/my/park")
    expect(page.locator("main")).to_contain_text(s["park"])
    _checked(page, "station-04-my-park")
    page.locator("tr", has_text=STATION).get_by_role("link", name="向本服务站发布需求").click()
    page.get_by_label("需求类型").select_option("key_tech")
    page.get_by_label("所属行业").fill("五金制造")
    page.get_by_label("需求名称").fill(NEED_TITLE)
    page.get_by_label("需求描述").fill("园区企业电动工具电机温升过高，需要专家团队攻关。")
    page.get_by_label("联系人").fill("徐经理")
    page.get_by_label("联系电话").fill("13800001111")
    page.get_by_role("button", name="发布").click()
    _alert(page, "需求已发布。")
    need_url = page.url
    _logout(page)

    # 4. The officer screens it; a society responds with its experts.
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(need_url)
    page.get_by_role("button", name="审核通过").click()
    expect(page.locator("h1 .badge")).to_have_text("已审核")
    _logout(page)
    login(page, base, s["responder"], factories.PASSWORD)
    page.goto(need_url)
    page.get_by_label("对接方案").fill("组织电机专家团队驻站攻关，三个月内给出温升控制方案。")
    page.locator("#experts").fill("王教授 | 教授 | 浙江大学")
    page.get_by_role("button", name="提交对接方案").click()
    expect(page.locator("main")).to_contain_text("王教授")
    _checked(page, "station-05-need-proposal")
    _logout(page)

    # 5. Matched to the station's funded project, carried out, closed with a score.
    _fund_station(live_app, s["lead_applicant_id"])
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(need_url)
    project = page.get_by_label("服务该需求的立项项目")
    expect(project.locator("option")).to_have_count(1)
    project.select_option(index=0)
    page.get_by_label("采用的对接方案").select_option(index=1)
    page.get_by_role("button", name="确认对接").click()
    expect(page.locator("h1 .badge")).to_have_text("已对接")
    page.get_by_role("button", name="开始实施").click()
    page.get_by_role("button", name="标记已解决").click()
    expect(page.locator("h1 .badge")).to_have_text("已解决")
    _logout(page)
    login(page, base, s["enterprise"], factories.PASSWORD)
    page.goto(need_url)
    page.get_by_label("解决结果").fill("电机温升下降12℃，已批量应用。")
    page.get_by_label("满意度").select_option("5")
    page.get_by_role("button", name="关闭并评价").click()
    expect(page.locator("h1 .badge")).to_have_text("已关闭")
    expect(page.locator("main")).to_contain_text("（5/5）")
    _checked(page, "station-06-need-closed")
    _logout(page)

    # 6. The lead society files the yearly report; an engaged agency evaluates it.
    year = clock.today().year
    login(page, base, s["lead"], factories.PASSWORD)
    page.goto(station_url)
    page.get_by_role("link", name="报送年度报告").click()
    page.get_by_label("报告年度").fill(str(year))
    counts = ("1", "1", "3", "12", "40", "2", "1", "0", "1", "0")
    for field, value in zip(
        (
            "needs_collected", "needs_solved", "experts_stationed", "enterprises_served",
            "technicians_trained", "events_held", "patents", "standards", "products",
            "revenue_fen",
        ),
        counts,
        strict=True,
    ):  # fmt: skip
        page.locator(f"#{field}").fill(value)
    page.locator("#patents").fill("-1")
    page.get_by_role("button", name="报送").click()
    expect(page.locator("main")).to_contain_text("数量不能为负数。")
    page.locator("#patents").fill("1")
    page.get_by_role("button", name="报送").click()
    _alert(page, "年度报告已报送。")
    _logout(page)
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(station_url)
    page.get_by_label("第三方评估机构").select_option(label=s["agency"])
    page.get_by_role("button", name="委托评估机构").click()
    _alert(page, "已委托评估机构。")
    _logout(page)
    login(page, base, s["evaluator"], factories.PASSWORD)
    page.goto(station_url)
    page.get_by_role("link", name="评价本服务站").click()
    page.locator("#year").fill(str(year))
    for key, value in FULL.items():
        page.locator(f"#score_{key}").fill(str(value))
    page.locator("#reason").fill("服务站运行规范，服务成效明显。")
    _checked(page, "station-07-evaluate")
    page.get_by_role("button", name="提交评价").click()
    _alert(page, "评价已提交。")
    _logout(page)

    # 7. The dashboard shows the stage goals against the true figures.
    login(page, base, s["approver"], factories.PASSWORD)
    page.goto(f"{base}/stations/dashboard")
    with live_app.app_context():
        figures = stage_figures()
        station = db.session.scalar(db.select(Station).where(Station.name == STATION))
        need = db.session.scalar(db.select(Need).where(Need.title == NEED_TITLE))
        evaluation = db.session.scalar(
            db.select(StationEvaluation).where(StationEvaluation.station_id == station.id)
        )
        assert str(station.state) == "established" and need.state == "closed"
        assert need.satisfaction == 5 and need.project_id is not None
        assert evaluation.grade in ("excellent", "good")
        fault, _last, _head = verify_all()
        assert fault is None, fault
    table = page.locator("main table").first
    expect(table.locator("tr", has_text="试点地区")).to_contain_text(
        str(figures["pilot_regions"]["value"])
    )
    n = figures["needs"]
    expect(table.locator("tr", has_text="需求：发布")).to_contain_text(
        f"{n['posted']} / {n['matched']} / {n['solved']}"
    )
    assert figures["pilot_regions"]["value"] >= 1 and n["solved"] >= 1
    _checked(page, "station-08-dashboard")
    # The refused report (a negative count) answers 422 on purpose; no favicon is served.
    unexpected = [e for e in errors if "/reports/new" not in e and "favicon" not in e]
    assert unexpected == []
