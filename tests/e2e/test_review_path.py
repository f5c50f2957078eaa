"""The expert review path in a real browser, in Chinese, through the UI only.

Factories make an open call with two accepted applications and a pool of five
experts; everything after that is clicked and typed: the officer draws (with a
seed) and confirms, reviewers declare no conflict and score (one tries an
out-of-range score first), one recuses and a reserve is invited in their place,
the officer closes the round and the approver reads and downloads the ranking.
"""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from playwright.sync_api import expect

from app.applications.models import Application
from app.audit.verify import verify_all
from app.extensions import db
from app.reviews.models import ReviewAssignment
from tests import factories
from tests.e2e.conftest import axe_violations, login, screenshot

SEED = "20260601"
TITLES = ("永康五金装备共性技术服务站", "义乌小商品数字化服务站")
HIGH = {
    "need": "8.5",
    "service_plan": "8",
    "expert_team": "9",
    "co_building": "8",
    "outcomes": "8.5",
    "budget": "9",
}  # 17 + 16 + 13.5 + 12 + 17 + 9 = 84.50
LOW = dict.fromkeys(HIGH, "4")  # 40.00: more than 30 below the others (分歧较大)
NEED_TITLE = "需求与契合度：园区及地方产业需求明确，服务站定位契合"


def _checked(tab, name: str) -> None:
    """No serious accessibility problem on the page; keep a screenshot of it."""
    tab.wait_for_load_state()  # axe goes into the document's head: let the page finish loading
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
        officer = factories.user("officer", name="周经办")
        approver = factories.user("approver", name="孙处长")
        the_call = factories.call(
            officer=officer,
            reviews_per_application=3,
            title="2026年度学会服务站项目评审（浏览器测试）",
        )
        apps = [factories.accepted(the_call, officer=officer, title=t) for t in TITLES]
        names = ("赵一鸣", "钱二清", "孙三立", "李四海", "周五洲")
        experts = [factories.expert(officer, name=n, title="教授") for n in names]
        db.session.commit()
        return {
            "officer": officer.email,
            "approver": approver.email,
            "call_id": the_call.id,
            "call_title": the_call.title,
            "apps": [(a.id, a.project_number) for a in apps],
            "reviewers": {e.id: (e.user.email, e.user.name) for e in experts},
        }


def _assignments(live_app, call_id: int) -> list[tuple[int, int, int, str]]:
    """(assignment id, application id, expert id, state) of the call — read to know who
    was drawn; every change is made in the browser."""
    with live_app.app_context():
        rows = db.session.scalars(
            db.select(ReviewAssignment)
            .where(ReviewAssignment.call_id == call_id)
            .order_by(ReviewAssignment.id)
        ).all()
        return [(r.id, r.application_id, r.expert_id, r.state) for r in rows]


def _open_invitation(tab, number: str) -> None:
    tab.get_by_role("link", name="我的评审").click()
    tab.locator("tbody tr", has_text=number).get_by_role("link", name="打开").click()
    expect(tab.locator("h1")).to_contain_text("评审任务")


def _accept(tab) -> None:
    tab.get_by_label(re.compile("^本人声明")).check()
    tab.get_by_label(re.compile("^本人承诺")).check()
    tab.get_by_role("button", name="接受评审").click()
    _alert(tab, "已确认，可以查看申报材料并评分。")


def _fill(tab, scores: dict[str, str]) -> None:
    for key, value in scores.items():
        tab.locator(f"#score-{key}").fill(value)


def _score(tab, number: str, scores: dict[str, str]) -> None:
    """Accept the invitation for ``number`` and submit ``scores``."""
    _open_invitation(tab, number)
    _accept(tab)
    tab.get_by_role("link", name="评分表").click()
    _fill(tab, scores)
    tab.locator("#overall_comment").fill("方案可行，建议按评分结果处理。")
    tab.get_by_role("button", name="提交评分（提交后锁定）").click()
    _alert(tab, "评分已提交并锁定。")


def test_draw_score_recuse_and_rank(live_app, live_server, page, tmp_path):
    base = live_server
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions: "yes"
    s = _setup(live_app)
    (app_a, number_a), (app_b, number_b) = s["apps"]

    # 1. The officer draws with a seed, checks the result and confirms it.
    login(page, base, s["officer"], factories.PASSWORD)
    page.get_by_role("link", name="专家评审").click()
    row = page.locator("tbody tr", has_text=s["call_title"])
    expect(row).to_contain_text("申报中")
    row.get_by_role("link", name="抽取与分配").click()
    expect(page.locator("h1")).to_have_text(f"专家抽取与分配：{s['call_title']}")
    expect(page.locator("main")).to_contain_text(
        "待抽取的已受理申报书：2 份；在库专家：5 人；每份申报书专家数：3"
    )
    _checked(page, "review-01-draw")
    page.get_by_label("随机种子（留空则随机生成）").fill(SEED)
    page.get_by_role("button", name="随机抽取").click()
    _alert(page, f"抽取完成（随机种子 {SEED}），请核对后确认。")
    pending = page.locator("section", has_text="待确认的抽取结果")
    expect(pending).to_contain_text(SEED)
    expect(pending.locator("tbody tr")).to_have_count(2)
    _checked(page, "review-02-drawn")
    page.get_by_role("button", name="确认抽取结果并发出邀请").click()
    _alert(page, "已确认抽取结果并向 6 位次专家发出评审邀请。")
    tasks = page.locator("table", has_text="专家").last.locator("tbody tr")
    expect(tasks).to_have_count(6)
    expect(tasks.filter(has_text="已通知")).to_have_count(6)
    expect(page.get_by_role("link", name="专家抽取记录表")).to_be_visible()
    _logout(page)

    drawn = _assignments(live_app, s["call_id"])
    on_a = [e for _i, a, e, _s in drawn if a == app_a]
    on_b = [e for _i, a, e, _s in drawn if a == app_b]
    first, low = on_a[0], on_a[1]
    recusing = next(e for e in on_b if e != first)
    email = {e: s["reviewers"][e][0] for e in s["reviewers"]}

    # 2. The first reviewer: invitation, declaration, the application, the score sheet.
    login(page, base, email[first], factories.PASSWORD)
    page.get_by_role("link", name="我的评审").click()
    expect(page.locator("h1")).to_have_text("我的评审")
    expect(page.locator("tbody tr", has_text=number_a)).to_contain_text("已通知")
    _checked(page, "review-03-mine")
    _open_invitation(page, number_a)
    expect(page.locator("dl")).to_contain_text("相关单位（请据此判断是否需要回避）")
    expect(page.locator("dl")).to_contain_text("浙江大学")
    _checked(page, "review-04-invitation")
    page.get_by_role("button", name="接受评审").click()  # without the declaration
    _alert(page, "接受评审前须声明与该申报无利益冲突并签署保密承诺。")
    _accept(page)
    expect(page.locator("dl")).to_contain_text("已接受（已声明无利益冲突）")
    page.get_by_role("link", name="查看申报材料").click()
    expect(page.locator("h1")).to_have_text(TITLES[0])
    expect(page.locator("main")).to_contain_text("首席科技专家：钱教授")
    expect(page.locator("main table tbody tr").first).to_contain_text("专家咨询费")
    _checked(page, "review-05-application")
    page.get_by_role("link", name="评分表").first.click()
    expect(page.locator("h1")).to_have_text("创新驱动助力工程项目评审评分表")
    total = page.locator("#live-total")
    expect(total).to_have_text("—")
    page.locator("#score-need").fill("8.5")
    expect(total).to_have_text("85.00")
    _fill(page, {**HIGH, "expert_team": "12"})  # out of 0–10
    expect(page.locator("#score-expert_team")).to_have_class(re.compile("is-invalid"))
    expect(total).to_have_text("83.53")  # the bad score is left out of the live total
    page.locator("#overall_comment").fill("需求调研扎实，团队结构合理。")
    page.get_by_role("button", name="提交评分（提交后锁定）").click()
    _alert(page, "评分表有 1 处问题，未提交。")
    _alert(page, "「专家团队：首席科技专家水平与投入，团队结构合理」的得分 12 超出 0–10")
    expect(page.locator("#score-expert_team")).to_have_value("12")  # what was typed stays
    expect(page.locator("#overall_comment")).to_have_value("需求调研扎实，团队结构合理。")
    _checked(page, "review-06-sheet-error")
    page.locator("#score-expert_team").fill("9")
    expect(total).to_have_text("84.50")
    page.get_by_role("button", name="提交评分（提交后锁定）").click()
    _alert(page, "评分已提交并锁定。")
    expect(page.locator("main")).to_contain_text("状态：已提交评分")
    expect(page.locator("#score-need")).to_be_disabled()
    expect(total).to_have_text("84.50")
    _checked(page, "review-07-submitted")
    if first in on_b:
        _score(page, number_b, HIGH)
    _logout(page)

    # 3. A reviewer recuses from B with a reason (and scores A if drawn for it).
    login(page, base, email[recusing], factories.PASSWORD)
    _open_invitation(page, number_b)
    page.get_by_role("button", name="申请回避").click()  # without a reason
    _alert(page, "请填写回避理由。")
    page.get_by_label("谢绝或回避理由").fill("本人近三年与该学会合作开展过技术服务项目。")
    page.get_by_role("button", name="申请回避").click()
    _alert(page, "已记录您的答复。")
    expect(page.locator("dl")).to_contain_text("已回避")
    expect(page.locator("main")).to_contain_text("本人近三年与该学会合作开展过技术服务项目。")
    if recusing in on_a:
        _score(page, number_a, LOW if recusing == low else HIGH)
    _logout(page)

    # 4. The other reviewers score; the reserve invited for B does not answer yet.
    done = {(first, app_a), (recusing, app_b)} | ({(first, app_b)} if first in on_b else set())
    if recusing in on_a:
        done.add((recusing, app_a))
    todo: dict[int, list[tuple[str, dict]]] = {}
    for expert_id in on_a:
        if (expert_id, app_a) not in done:
            todo.setdefault(expert_id, []).append((number_a, LOW if expert_id == low else HIGH))
    for expert_id in on_b:
        if (expert_id, app_b) not in done:
            todo.setdefault(expert_id, []).append((number_b, HIGH))
    for expert_id, sheets in todo.items():
        login(page, base, email[expert_id], factories.PASSWORD)
        for number, scores in sheets:
            _score(page, number, scores)
        _logout(page)

    # 5. The officer sees the recusal and its replacement, and closes the round.
    login(page, base, s["officer"], factories.PASSWORD)
    page.get_by_role("link", name="专家评审").click()
    page.locator("tbody tr", has_text=s["call_title"]).get_by_role(
        "link", name="抽取与分配"
    ).click()
    tasks = page.locator("table", has_text="专家").last.locator("tbody tr")
    expect(tasks).to_have_count(7)
    recused = tasks.filter(has_text="已回避")
    expect(recused).to_have_count(1)
    expect(recused).to_contain_text(s["reviewers"][recusing][1])
    replacement = tasks.filter(has_text="（替换")
    expect(replacement).to_have_count(1)
    expect(replacement).to_contain_text("已通知")
    expect(replacement).to_contain_text(number_b)
    expect(tasks.filter(has_text="已提交评分")).to_have_count(5)
    _checked(page, "review-08-replaced")
    page.get_by_role("link", name="评审结果").click()
    page.get_by_role("button", name=re.compile("^结束本轮评审")).click()
    _alert(page, "1 份申报书评审完成，1 份尚有专家未提交。")
    with live_app.app_context():
        assert db.session.get(Application, app_a).state == "reviewed"
        assert db.session.get(Application, app_b).state == "in_review"
    _logout(page)

    # 6. The approver reads the ranking with its flags and downloads the sheet.
    login(page, base, s["approver"], factories.PASSWORD)
    page.get_by_role("link", name="专家评审").click()
    page.locator("tbody tr", has_text=s["call_title"]).get_by_role("link", name="评审结果").click()
    expect(page.locator("h1")).to_have_text(f"评审结果汇总排序：{s['call_title']}")
    expect(page.get_by_role("button", name=re.compile("^结束本轮评审"))).to_have_count(0)
    expect(page.locator("main")).to_contain_text("已提交评分 5 份")
    row_a = page.locator("tbody tr", has_text=number_a)
    row_b = page.locator("tbody tr", has_text=number_b)
    expect(row_a.locator(".badge")).to_have_text(["分歧较大"])
    expect(row_b.locator(".badge")).to_have_text(["评审人数不足"])
    cells_a = row_a.locator("td").all_inner_texts()
    cells_b = row_b.locator("td").all_inner_texts()
    # 评审人数, 各专家总分 (in assignment order), 汇总得分, 推荐档次
    assert cells_a[3] == "3" and cells_b[3] == "2"
    assert sorted(cells_a[4].split(" / ")) == ["40.00", "84.50", "84.50"]
    assert cells_b[4] == "84.50 / 84.50"
    assert cells_a[5] == "69.67" and cells_a[6] == "可以资助"
    assert cells_b[5] == "84.50" and cells_b[6] == "建议资助"
    _checked(page, "review-09-ranking")
    page.get_by_label("标记").select_option(label="分歧较大")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text(number_a)
    with page.expect_download() as download:
        page.get_by_role("link", name="评审结果汇总排序表").click()
    assert download.value.suggested_filename == f"评审结果汇总排序表-{s['call_id']}.xlsx"
    saved = tmp_path / "ranking.xlsx"
    download.value.save_as(saved)
    sheet = load_workbook(io.BytesIO(saved.read_bytes()), read_only=True).active
    cells = [str(c) for r in sheet.iter_rows(values_only=True) for c in r if c is not None]
    text = " ".join(cells)
    assert "评审结果汇总排序表" in text
    assert number_a in text and number_b in text
    assert TITLES[0] in text and TITLES[1] in text
    _logout(page)

    assert not [e for e in errors if "Content Security Policy" in e], errors
    with live_app.app_context():
        fault, _last, _head = verify_all()
        assert fault is None, fault


def test_queued_draw_page_stops_polling_when_done(live_app, live_server, page):
    """A big call's draw runs in the worker; its page reloads once when the job ends,
    not for ever (it used to poll the finished job and reload in a loop)."""
    from app.core import jobs

    with live_app.app_context():
        r = factories.review_round(n_apps=1, n_experts=4, k=3)
        db.session.commit()
        email, call_id = r.officer.email, r.call.id
    missing = object()
    inline_max = live_app.config.get("REVIEW_DRAW_INLINE_MAX", missing)
    live_app.config["REVIEW_DRAW_INLINE_MAX"] = 0  # every draw is queued
    try:
        login(page, live_server, email, factories.PASSWORD)
        page.goto(f"{live_server}/reviews/calls/{call_id}/draw")
        page.get_by_label("随机种子（留空则随机生成）").fill("5")
        page.get_by_role("button", name="随机抽取").click()
        _alert(page, "专家较多，抽取已转入后台执行，请稍候查看进度。")
        with live_app.app_context():
            jobs.run_one()  # the worker
            db.session.commit()
        expect(page.locator("section", has_text="待确认的抽取结果")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(1500)  # app.js and reviews.js may each reload once at the end
        loads = []
        page.on("load", lambda: loads.append(page.url))
        page.wait_for_timeout(2500)
        assert loads == []
    finally:
        if inline_max is missing:
            live_app.config.pop("REVIEW_DRAW_INLINE_MAX")
        else:
            live_app.config["REVIEW_DRAW_INLINE_MAX"] = inline_max
