"""The panel review (会议评审/答辩) path in a real browser, in Chinese, through the UI.

Factories make a call whose three applications were reviewed remotely (aggregates
90, 80 and 70) and five pool experts; then everything is clicked and typed: the
officer sets up the panel (weighted 50/50), shortlists two applications, picks five
members (one chair), records a half day and opens the meeting; each member scores
independently (one tries an out-of-range score first) and cannot see the others'
marks; the officer puts the opinion to the members, four sign and one writes a
dissent; the officer concludes and reads the final ranking.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.extensions import db
from app.reviews import operations as ops
from app.reviews.models import ReviewPanel
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot

KEYS = ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")
TITLES = ("永康五金装备共性技术服务站", "义乌小商品数字化服务站", "丽水生态农业科普服务站")
MEMBERS = ("吴组长", "郑委员", "王委员", "冯委员", "陈委员")
# Member scores for the first two applications: means 74 and 86.
SCORES = ((70, 90), (72, 88), (74, 86), (76, 84), (78, 82))


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


def _setup(live_app):
    """A call with three remotely reviewed applications (90, 80, 70) and five experts."""
    with live_app.app_context():
        r = factories.review_round(n_apps=3, n_experts=5, k=3)
        for app, title in zip(r.apps, TITLES, strict=True):
            app.title = title
        rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=5), actor=r.officer)
        base = {a.id: b for a, b in zip(r.apps, ("9", "8", "7"), strict=True)}
        for row in rows:
            user = row.expert.user
            ops.respond(row, "accept", actor=user, no_conflict=True, pledge=True)
            scores = dict.fromkeys(KEYS, base[row.application_id])
            ops.submit_sheet(row, {"scores": scores}, actor=user)
        ops.finish_round(r.call, actor=r.officer)
        panel = [factories.expert(r.officer, name=n, title="研究员") for n in MEMBERS]
        approver = factories.user("approver", name="孙处长")
        db.session.commit()
        return {
            "officer": r.officer.email,
            "approver": approver.email,
            "call_id": r.call.id,
            "apps": [(a.id, a.project_number) for a in r.apps],
            "members": [(e.user.email, e.user.name, e.org.name) for e in panel],
        }


def _member_turn(tab, base, email, scores, apps, *, first=False):
    """A member opens the meeting page and submits their scores."""
    login(tab, base, email, factories.PASSWORD)
    tab.get_by_role("link", name="我的会评").click()
    tab.get_by_role("link", name="进入会评").first.click()
    expect(tab.locator("#panel-state")).to_have_text("独立评分中")
    if first:
        _checked(tab, "panel-04-member-scoring")
        tab.get_by_label(f"得分 {apps[0][1]}").fill("120")  # out of range
        tab.get_by_label(f"得分 {apps[1][1]}").fill(str(scores[1]))
        tab.get_by_label(re.compile("^本人声明")).check()
        tab.get_by_role("button", name="提交评分（提交后封存）").click()
        _alert(tab, "会评分数应为 0–100 的整数。")
        expect(tab.get_by_label(f"得分 {apps[1][1]}")).to_have_value(str(scores[1]))
    tab.get_by_label(f"得分 {apps[0][1]}").fill(str(scores[0]))
    tab.get_by_label(f"得分 {apps[1][1]}").fill(str(scores[1]))
    tab.get_by_label(f"意见 {apps[0][1]}").fill("答辩清楚。")
    tab.get_by_label(re.compile("^本人声明")).check()
    tab.get_by_role("button", name="提交评分（提交后封存）").click()
    _alert(tab, "评分已提交并封存。")
    expect(tab.locator("#own-marks")).to_contain_text(str(scores[0]))
    if first:  # the others' marks stay sealed
        expect(tab.locator("main")).not_to_contain_text("全体成员评分")
        _checked(tab, "panel-05-member-sealed")
    _logout(tab)


def test_panel_scores_signatures_dissent_and_ranking(live_app, live_server, page):
    base = live_server
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions: "yes"
    s = _setup(live_app)
    apps = s["apps"]

    # 1. The officer sets up the panel from the ranking page.
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(f"{base}/reviews/calls/{s['call_id']}/ranking")
    expect(page.locator("#panel-ranking")).to_contain_text("本批次未设立会议评审。")
    page.locator("#panel-ranking").get_by_role("link", name="设立会议评审").click()
    expect(page.locator("h1")).to_contain_text("会议评审（答辩）")
    _checked(page, "panel-01-setup")
    page.get_by_label("会评结果的使用方式").select_option("combine")
    page.get_by_label("加权合成时会评结果的权重（%）").fill("50")
    page.get_by_label("会议日期").fill("2026-12-10")
    page.get_by_label("会议地点").fill("省科协 3 楼会议室")
    page.get_by_role("button", name="设立会议评审").click()
    _alert(page, "会议评审设置已保存。")
    for (app_id, _number), when in zip(apps[:2], ("09:00", "10:00"), strict=True):
        page.get_by_label("入围申报书").select_option(str(app_id))
        page.get_by_label("答辩时间").fill(when)
        page.get_by_role("button", name="安排答辩").click()
        _alert(page, "已安排答辩。")
    expect(page.locator("#panel-slots tbody tr")).to_have_count(2)
    # An odd panel of five is required: opening with one member is refused.
    for i, (_email, name, org) in enumerate(s["members"]):
        page.get_by_label("专家", exact=True).select_option(label=f"{name}（{org}，研究员）")
        if i == 0:
            page.get_by_label("担任评审组组长").check()
        page.get_by_role("button", name="加入评审组").click()
        _alert(page, "已加入评审组。")
        if i == 0:
            page.get_by_role("button", name="开始会议评审（成员独立评分）").click()
            _alert(page, "评审组应为 5–9 人的奇数，现有 1 人。")
    members = page.locator("#panel-members tbody tr")
    expect(members).to_have_count(5)
    last = members.filter(has_text=MEMBERS[4])
    last.get_by_label("出席情况").select_option("half_day")
    last.get_by_role("button", name="登记").click()
    _alert(page, "出席情况已登记。")
    _checked(page, "panel-02-formed")
    page.get_by_role("button", name="开始会议评审（成员独立评分）").click()
    _alert(page, "会议评审已开始，成员可以评分。")
    expect(page.locator("#panel-state")).to_have_text("独立评分中")
    _checked(page, "panel-03-scoring")
    _logout(page)

    # 2. Each member scores independently; the fifth submission seals the scoring.
    for i, ((email, _name, _org), scores) in enumerate(zip(s["members"], SCORES, strict=True)):
        _member_turn(page, base, email, scores, apps, first=i == 0)

    # 3. The officer sees the sealed marks and puts the opinion to the members.
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(f"{base}/reviews/calls/{s['call_id']}/panel")
    expect(page.locator("#panel-state")).to_have_text("评分已封存，讨论中")
    expect(page.locator("#panel-marks tbody tr")).to_have_count(10)
    page.get_by_label("评审组意见").fill("建议按会评与通讯评审加权合成的得分排序。")
    page.get_by_role("button", name="提交成员签署").click()
    _alert(page, "评审组意见已提交成员签署。")
    _logout(page)

    # 4. Four members sign; the fifth will not and writes a dissent with a reason.
    for i, (email, _name, _org) in enumerate(s["members"]):
        login(page, base, email, factories.PASSWORD)
        page.get_by_role("link", name="我的会评").click()
        page.get_by_role("link", name="进入会评").first.click()
        expect(page.locator("#panel-opinion")).to_contain_text("加权合成")
        if i < 4:
            expect(page.locator("main")).to_contain_text("全体成员评分")
            page.get_by_role("button", name="同意并签署评审组意见").click()
            _alert(page, "已签署评审组意见。")
        else:
            _checked(page, "panel-06-member-signing")
            page.get_by_role("button", name="不同意，提交不同意见").click()
            _alert(page, "不同意签署时须写明不同意见及理由。")
            page.get_by_label("不同意见及理由（不签署时必填）").fill("第二项目预算测算依据不足。")
            page.get_by_role("button", name="不同意，提交不同意见").click()
            _alert(page, "已记录您的不同意见。")
        _logout(page)

    # 5. The officer concludes; the approver reads the final ranking.
    login(page, base, s["officer"], factories.PASSWORD)
    page.goto(f"{base}/reviews/calls/{s['call_id']}/panel")
    expect(page.locator("#panel-members")).to_contain_text("第二项目预算测算依据不足。")
    page.get_by_role("button", name="完成会议评审（结果计入排序）").click()
    _alert(page, "会议评审已完成。")
    _checked(page, "panel-07-concluded")
    _logout(page)
    login(page, base, s["approver"], factories.PASSWORD)
    page.goto(f"{base}/reviews/calls/{s['call_id']}/ranking")
    section = page.locator("#panel-ranking")
    # Final = 50% panel + 50% remote: second app .5·86 + .5·80 = 83, first .5·74 + .5·90 = 82.
    rows = section.locator("tbody tr")
    expect(rows.nth(0)).to_contain_text(apps[1][1])
    expect(rows.nth(0)).to_contain_text("83.00")
    expect(rows.nth(1)).to_contain_text(apps[0][1])
    expect(rows.nth(1)).to_contain_text("82.00")
    expect(rows.nth(2)).to_contain_text("未入围")
    _checked(page, "panel-08-ranking")
    with live_app.app_context():
        panel = db.session.scalar(db.select(ReviewPanel).where(ReviewPanel.call_id == s["call_id"]))
        assert panel.state == "concluded"
    assert not [e for e in errors if "Content Security Policy" in e], errors
