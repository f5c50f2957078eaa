"""Demo step: a fund, calls in every state and applications in every state, made
through the real operations so the audit chain and the ledger are real."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.applications import operations as apps
from app.calls import operations as calls
from app.calls.models import DEFAULT_ATTACHMENTS, DEFAULT_BUDGET_LINES, DEFAULT_CATEGORIES, Fund
from app.core import clock
from app.demo import STEPS, reference_data
from app.extensions import db
from app.stations import operations as stations

FUND_NAME = "学会服务科技创新专项资金"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _rules(title: str, opens, closes, **extra) -> dict:
    rules = {
        "kind": "project",
        "title": title,
        "title_en": None,
        "guide": "申报单位为省级学会，须与市县政府（科协）共建学会服务站。\n"
        "申报书经学会秘书处审核盖章后报送学会部。",
        "guide_en": None,
        "categories": list(DEFAULT_CATEGORIES),
        "opens_at": opens,
        "closes_at": closes,
        "total_budget_fen": 60_000_000,
        "project_cap_fen": 20_000_000,
        "per_society_limit": 2,
        "budget_lines": [
            {"key": k, "zh": zh, "en": en, "cap_fen": None} for k, zh, en in DEFAULT_BUDGET_LINES
        ],
        "indirect_cap_pct": 10,
        "matching_required": True,
        "matching_ratio_pct": 50,
        "required_attachments": [
            {"key": k, "zh": zh, "en": en} for k, zh, en in DEFAULT_ATTACHMENTS
        ],
        "rubric_file": "assist-review.toml",
        "reviews_per_application": 3,
        "notice_days": 5,
        "number_pattern": "{year}-ZL-{seq:03d}",
        "max_returns": 1,
    }
    rules.update(extra)
    return rules


def _data(station, title: str, n: int) -> dict:
    return {
        "title": title,
        "category": DEFAULT_CATEGORIES[n % 5],
        "summary": f"{title}：依托学会服务站组织专家团队服务园区企业（示例{n}）。",
        "objectives": "建成运行规范的学会服务站，解决企业关键技术问题，开展精准科普。",
        "station_id": station.id,
        "park_id": station.park_id,
        "co_government_id": station.government_id,
        "chief_expert": {"name": "钱教授", "title": "教授", "organisation": "浙江大学"},
        "team": [{"name": "蒋研究员", "title": "研究员", "organisation": "浙江省农业科学院",
                  "role": "技术攻关"}],
        "excluded_experts": [],
        "pledge_integrity": True,
        "pledge_no_duplicate": True,
        "budget": [
            {"line_key": "expert_fee", "fund_fen": 6_000_000 + n * 100_000,
             "matching_fen": 6_000_000, "self_raised_fen": 0},
            {"line_key": "outreach", "fund_fen": 2_000_000, "matching_fen": 1_000_000,
             "self_raised_fen": 500_000},
            {"line_key": "indirect", "fund_fen": 500_000, "matching_fen": 0,
             "self_raised_fen": 0},
        ],
        "targets": [
            {"group": "output", "indicator": "解决关键技术问题", "unit": "项", "target_value": "3"},
            {"group": "effect", "indicator": "服务企业数", "unit": "家", "target_value": "20"},
            {"group": "satisfaction", "indicator": "企业满意度", "unit": "%",
             "target_value": "90"},
        ],
        "milestones": [
            {"seq": 0, "title": "签订任务书", "due_on": None, "deliverables": "",
             "tranche_pct": 60},
            {"seq": 1, "title": "中期检查", "due_on": date(2027, 6, 30),
             "deliverables": "中期报告", "tranche_pct": 30},
            {"seq": 2, "title": "结题验收", "due_on": date(2027, 12, 31),
             "deliverables": "结题报告", "tranche_pct": 10},
        ],
    }  # fmt: skip


class _Demo:
    def __init__(self):
        self.officer, self.approver = _user("officer@demo.cn"), _user("approver@demo.cn")
        self.finance = _user("finance@demo.cn")
        self.applicants = [_user(f"applicant{i}@demo.cn") for i in (1, 2, 3)]
        self.admins = [_user(f"society{i}@demo.cn") for i in (1, 2, 3)]
        self.partners = [_user(f"partner{i}@demo.cn") for i in (1, 2)]
        self.n = 0
        ref = reference_data()
        park = ref["pilot_park"]
        pilot = stations.create_park(park["zh"], park["city"], actor=self.officer,
                                     name_en=park["en"])  # fmt: skip
        ningbo = stations.create_park("宁波国家高新技术产业开发区", "330200", actor=self.officer)
        self.stations = []
        for i, applicant in enumerate(self.applicants):
            partner = self.partners[i % 2]
            self.stations.append(
                stations.create_station(
                    f"{applicant.org.name}{partner.org.name[:2]}学会服务站",
                    park_id=(pilot if i % 2 == 0 else ningbo).id,
                    government_id=partner.org_id,
                    society_id=applicant.org_id,
                    actor=self.officer,
                )
            )

    def call(self, fund, title, opens, closes, **extra):
        call = calls.create_call(fund.id, _rules(title, opens, closes, **extra),
                                 actor=self.officer)  # fmt: skip
        return call

    def application(self, call, i: int, title: str, state: str):
        """An application of society ``i`` moved to ``state`` by the real operations."""
        self.n += 1
        applicant, admin = self.applicants[i], self.admins[i]
        app = apps.create_application(call, actor=applicant)
        if state == "draft":
            apps.save_draft(app, {"title": title}, actor=applicant, expected_version=app.version)
            return app
        apps.save_draft(app, _data(self.stations[i], title, self.n), actor=applicant,
                        expected_version=app.version)  # fmt: skip
        for kind in call.required_attachments:
            apps.add_attachment(app, kind["key"], io.BytesIO(PDF), f"{kind['key']}.pdf",
                                actor=applicant)  # fmt: skip
        if state == "withdrawn":
            apps.withdraw_application(app, actor=applicant, reason="本年度暂不申报")
            return app
        apps.submit_application(app, actor=applicant)
        if state == "submitted":
            return app
        if state == "returned":
            apps.society_return_application(app, actor=admin, reason="请补充共建协议盖章页。")
            return app
        apps.endorse_application(app, io.BytesIO(PDF), "盖章申报书.pdf", actor=admin)
        partner = self.partners[i % 2]
        apps.confirm_matching(app, -(-app.requested_fen * 50 // 100) + 100_000, actor=partner)
        if state == "endorsed":
            return app
        if state == "rejected":
            reason = "服务站选址不在省级高新园区内，不符合申报条件。"
            apps.check_application(app, "reject", actor=self.officer, reason=reason)
            return app
        apps.check_application(app, "accept", actor=self.officer)
        steps = {
            "accepted": [],
            "in_review": ["start_review"],
            "reviewed": ["start_review", "finish_review"],
            "proposed": ["start_review", "finish_review", "propose"],
            "not_funded": ["start_review", "finish_review", "not_fund"],
            "awarded": ["start_review", "finish_review", "propose", "award"],
        }[state]
        for action in steps:
            apps.advance_application(app, action, actor=self.officer)
        return app


def demo_calls_and_applications(password: str) -> list[tuple[str, str, str]]:
    """Fund, parks, stations, calls in every call state and applications in every state."""
    if db.session.scalar(select(Fund.id).where(Fund.name == FUND_NAME)):
        return []
    demo = _Demo()
    now = clock.now().replace(second=0, microsecond=0)
    fund = calls.create_fund(FUND_NAME, now.year, actor=demo.officer)
    calls.record_appropriation(fund, 1_000_000_000, actor=demo.finance,
                               reference="浙科协财〔2026〕1号")  # fmt: skip
    day = timedelta(days=1)
    past = [("2025年度创新驱动助力工程项目（已归档）", "archived"),
            ("2026年度创新驱动助力工程项目（第一批，已立项）", "decided"),
            ("2026年度创新驱动助力工程项目（第二批，公示中）", "notice"),
            ("2026年度创新驱动助力工程项目（第三批，评审中）", "reviewing"),
            ("2026年度创新驱动助力工程项目（第四批，已截止）", "closed")]  # fmt: skip
    plans = {
        "archived": [(0, "awarded"), (1, "not_funded")],
        "decided": [(0, "awarded"), (2, "not_funded")],
        "notice": [(1, "proposed"), (2, "not_funded")],
        "reviewing": [(0, "in_review"), (1, "reviewed"), (2, "rejected")],
        "closed": [(0, "accepted"), (1, "endorsed"), (2, "returned")],
    }
    for k, (title, target) in enumerate(past):
        start = now - (120 - 20 * k) * day
        with clock.frozen(start):
            call = demo.call(fund, title, start - day, start + 10 * day)
            calls.publish_call(call, actor=demo.officer)
            calls.open_and_close_calls()
            for i, state in plans[target]:
                demo.application(call, i, f"{['机械', '农机', '科普'][i]}服务站项目{k + 1}", state)
        with clock.frozen(start + 11 * day):
            calls.open_and_close_calls()
            order = ["start_review", "start_notice", "decide", "archive"]
            stop = {"closed": 0, "reviewing": 1, "notice": 2, "decided": 3, "archived": 4}[target]
            for action in order[:stop]:
                calls.advance_call(call, action, actor=demo.officer)
    open_call = demo.call(fund, "2026年度创新驱动助力工程项目（第五批）", now - 2 * day,
                          now + 30 * day)  # fmt: skip
    calls.publish_call(open_call, actor=demo.officer)
    calls.open_and_close_calls()
    for i, state in [(0, "draft"), (1, "submitted"), (2, "withdrawn"), (0, "returned")]:
        demo.application(open_call, i, f"永康五金产业服务站项目{state}", state)
    upcoming = demo.call(fund, "2027年度市县试点（即将开始）", now + 30 * day, now + 60 * day,
                         kind="pilot")  # fmt: skip
    calls.publish_call(upcoming, actor=demo.officer)
    demo.call(fund, "2027年度创新驱动助力工程项目（草稿）", now + 90 * day, now + 120 * day)
    return []


STEPS.append(demo_calls_and_applications)
