"""The expert review part of ``flask demo``: a pool, a completed draw and score sheets
in every assignment state, made through the real operations (idempotent)."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import select

from app.accounts.models import Organisation, User
from app.core import clock
from app.extensions import db
from app.reviews.models import Expert

CALL_TITLE = "2026年度学会服务站项目申报（专家评审演示）"
FIELDS = [
    ["key_tech", "transfer"],
    ["key_tech", "consulting"],
    ["key_tech", "talent"],
    ["key_tech", "outreach", "transfer"],
    ["key_tech", "transfer"],
    ["key_tech", "consulting", "talent"],
]
EXTRA = [
    ("expert7@demo.cn", "许研究员", "宁波大学", True),
    ("expert8@demo.cn", "邵教授", "温州大学", True),
    ("expert9@demo.cn", "孔高工", "浙江省机电设计研究院", False),
    ("expert10@demo.cn", "曹教授", "浙江师范大学", True),
    ("expert11@demo.cn", "严研究员", "浙江省科技信息研究院", False),
    ("expert12@demo.cn", "华高工", "杭州市特种设备检测研究院", False),
]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _pool(officer, password: str) -> list[tuple[str, str, str]]:
    from app.demo import ensure_org, ensure_user
    from app.reviews.operations.pool import create_expert

    lines = []
    for i in range(1, 7):
        user = _user(f"expert{i}@demo.cn")
        if user is None:
            continue
        if not db.session.scalar(select(Expert.id).where(Expert.user_id == user.id)):
            create_expert(
                {
                    "user_id": user.id,
                    "org_id": user.org_id,
                    "fields": FIELDS[i - 1],
                    "keywords": ["五金装备", "智能制造"] if i % 2 else ["农业", "科普"],
                    "title": "教授" if i % 2 else "研究员",
                    "is_senior": True,
                    "region": "330100",
                },
                actor=officer,
            )
    for n, (email, name, org_name, senior) in enumerate(EXTRA):
        org = ensure_org(org_name, "expert_org", city_code="330100", code_seed=320 + n)
        user = ensure_user(email, name, org, ["reviewer"], password)
        lines.append(("reviewer", email, name))
        if not db.session.scalar(select(Expert.id).where(Expert.user_id == user.id)):
            create_expert(
                {
                    "user_id": user.id,
                    "org_id": org.id,
                    "fields": ["key_tech", "transfer"],
                    "title": "研究员" if senior else "高级工程师",
                    "is_senior": senior,
                    "region": "330200",
                },
                actor=officer,
            )
    return lines


def _accepted_applications(officer):
    """Three accepted applications of the demo societies in a call of their own."""
    from app.applications import operations as apps
    from app.calls import operations as calls
    from app.calls.models import (
        DEFAULT_ATTACHMENTS,
        DEFAULT_BUDGET_LINES,
        DEFAULT_CATEGORIES,
        Call,
    )
    from app.stations import operations as stations

    if db.session.scalar(select(Call.id).where(Call.title == CALL_TITLE)):
        return None
    finance = _user("finance@demo.cn")
    fund = calls.create_fund("专家评审演示专项资金", clock.today().year, actor=officer)
    calls.record_appropriation(fund, 60_000_000, actor=finance, reference="演示-评审")
    now = clock.now()
    call = calls.create_call(
        fund.id,
        {
            "kind": "project",
            "title": CALL_TITLE,
            "title_en": "Society service station projects (expert review demo)",
            "guide": "演示用申报批次：已受理的申报书进入专家评审。",
            "guide_en": "Demo call whose accepted applications are under expert review.",
            "categories": list(DEFAULT_CATEGORIES),
            "opens_at": now - timedelta(days=40),
            "closes_at": now + timedelta(days=20),
            "total_budget_fen": 50_000_000,
            "project_cap_fen": 10_000_000,
            "per_society_limit": 1,
            "budget_lines": [
                {"key": k, "zh": zh, "en": en, "cap_fen": None}
                for k, zh, en in DEFAULT_BUDGET_LINES
            ],
            "indirect_cap_pct": 10,
            "matching_required": False,
            "matching_ratio_pct": 0,
            "required_attachments": [
                {"key": k, "zh": zh, "en": en} for k, zh, en in DEFAULT_ATTACHMENTS
            ],
            "rubric_file": "assist-review.toml",
            "reviews_per_application": 3,
            "notice_days": 5,
            "number_pattern": "{year}-PS-{seq:03d}",
            "max_returns": 1,
        },
        actor=officer,
    )
    calls.publish_call(call, actor=officer)
    calls.open_and_close_calls()
    gov = db.session.scalar(
        select(Organisation)
        .where(Organisation.kind == "local_government")
        .order_by(Organisation.id)
    )
    park = stations.create_park("永康五金科技工业园区（评审演示）", "330700", actor=None)
    out = []
    titles = ["五金装备共性技术服务站", "智能农机产学研转化服务站", "园区企业精准科普服务站"]
    for i in range(1, 4):
        applicant = _user(f"applicant{i}@demo.cn")
        station = stations.create_station(
            f"{titles[i - 1]}（评审演示）",
            park_id=park.id,
            government_id=gov.id,
            society_id=applicant.org_id,
            actor=None,
        )
        row = apps.create_application(call, actor=applicant)
        apps.save_draft(
            row, _data(station, titles[i - 1]), actor=applicant, expected_version=row.version
        )
        for kind in call.required_attachments:
            apps.add_attachment(
                row, kind["key"], io.BytesIO(PDF), f"{kind['key']}.pdf", actor=applicant
            )
        apps.submit_application(row, actor=applicant)
        apps.endorse_application(
            row, io.BytesIO(PDF), "sealed.pdf", actor=_user(f"society{i}@demo.cn")
        )
        apps.check_application(row, "accept", actor=officer)
        out.append(row)
    return call


def _data(station, title: str) -> dict:
    return {
        "title": title,
        "category": "key_tech",
        "summary": "围绕园区企业的共性需求组织学会专家团队开展服务。",
        "objectives": "建成学会服务站，解决三项关键问题，服务企业二十家。",
        "station_id": station.id,
        "park_id": station.park_id,
        "co_government_id": station.government_id,
        "chief_expert": {"name": "陆教授", "title": "教授", "organisation": "宁波诺丁汉大学"},
        "team": [{"name": "李工", "title": "高工", "organisation": "浙江工业大学", "role": "技术"}],
        "excluded_experts": [],
        "pledge_integrity": True,
        "pledge_no_duplicate": True,
        "budget": [
            {
                "line_key": "expert_fee",
                "fund_fen": 3_000_000,
                "matching_fen": 0,
                "self_raised_fen": 0,
                "note": "",
            },
            {
                "line_key": "travel",
                "fund_fen": 1_000_000,
                "matching_fen": 0,
                "self_raised_fen": 500_000,
                "note": "",
            },
        ],
        "targets": [
            {"group": "output", "indicator": "解决关键技术问题", "unit": "项", "target_value": "3"},
            {"group": "effect", "indicator": "服务企业数", "unit": "家", "target_value": "20"},
            {"group": "satisfaction", "indicator": "企业满意度", "unit": "%", "target_value": "90"},
        ],
        "milestones": [
            {
                "seq": 0,
                "title": "签订任务书",
                "due_on": None,
                "deliverables": "",
                "tranche_pct": 60,
            },
            {
                "seq": 1,
                "title": "结题验收",
                "due_on": date(clock.today().year + 1, 12, 31),
                "deliverables": "结题报告",
                "tranche_pct": 40,
            },
        ],
    }


def _scores(base: str) -> dict:
    keys = ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")
    return {k: base for k in keys}


def review_demo(password: str) -> list[tuple[str, str, str]]:
    """Demo step: the pool, a confirmed draw and sheets in every assignment state."""
    from app.reviews.operations import confirm_draw, reopen_sheet, respond, run_draw, submit_sheet

    officer = _user("officer@demo.cn")
    if officer is None:
        return []
    lines = _pool(officer, password)
    call = _accepted_applications(officer)
    if call is None:
        return lines
    rows = confirm_draw(run_draw(call, actor=officer, seed=20260315), actor=officer)
    by_app: dict[int, list] = {}
    for row in rows:
        by_app.setdefault(row.application_id, []).append(row)
    first, second, third = (by_app[k] for k in sorted(by_app))

    def accept(row):
        respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)

    def submit(row, base):
        accept(row)
        submit_sheet(
            row, {"scores": _scores(base), "overall_comment": "方案可行。"}, actor=row.expert.user
        )

    # Application 1: two submitted, one of them reopened; one accepted but not scored yet.
    submit(first[0], "9")
    submit(first[1], "7")
    reopen_sheet(first[1], actor=officer, reason="评语与分数不一致，请核实。")
    accept(first[2])
    # Application 2: one declined, one recused (replacements invited from the reserve).
    respond(second[0], "decline", actor=second[0].expert.user, reason="评审期间出国访问。")
    respond(second[1], "recuse", actor=second[1].expert.user, reason="曾与申报团队合作发表论文。")
    submit(second[2], "6")
    # Application 3: complete.
    for row, base in zip(third, ("9", "8", "7"), strict=True):
        submit(row, base)
    _panel_demo(call, officer, [third[0].application, first[0].application])
    return lines


def _panel_demo(call, officer, shortlist) -> None:
    """A concluded panel (会议评审) for the demo call: five members (one half day),
    scores, the opinion signed by four and one written dissent."""
    from datetime import time

    from app.reviews.operations import panel as panels

    panel = panels.save_panel(
        call,
        {
            "mode": "combine",
            "panel_weight": 50,
            "method": "score",
            "meeting_date": clock.today(),
            "meeting_place": "省科协 3 楼会议室",
        },
        actor=officer,
    )
    for i, app in enumerate(shortlist):
        panels.add_slot(panel, app, actor=officer, starts_at=time(9 + i, 0))
    members = []
    for i, (email, _name, _org, _senior) in enumerate(EXTRA[:5]):
        expert = db.session.scalar(select(Expert).where(Expert.user_id == _user(email).id))
        members.append(panels.add_member(panel, expert, actor=officer, is_chair=i == 0))
    panels.set_attendance(panel, members[4], "half_day", actor=officer)
    panels.open_panel(panel, actor=officer)
    scores = ((88, 76), (85, 80), (90, 74), (82, 70), (86, 78))
    for member, (first, second) in zip(members, scores, strict=True):
        marks = {
            shortlist[0].id: {"score": first, "comment": "答辩清楚，方案可行。"},
            shortlist[1].id: {"score": second, "comment": "服务对象需进一步明确。"},
        }
        panels.submit_marks(member, marks, actor=member.expert.user, declared=True)
    panels.propose_opinion(
        panel,
        "评审组经答辩和讨论，建议按会议评审与通讯评审加权合成的得分排序，优先支持第一顺序项目。",
        actor=officer,
    )
    for member in members[:4]:
        panels.sign_opinion(member, actor=member.expert.user)
    panels.sign_opinion(
        members[4],
        actor=members[4].expert.user,
        dissent="第二顺序项目的共建地方配套承诺不够具体，不宜与第一顺序项目同等对待。",
    )
    panels.conclude_panel(panel, actor=officer)
