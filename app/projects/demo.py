"""Demo step: projects in every project state — with reports, payments, matching funds,
a change with its amendment, a closure with the balance returned or kept, and claw-backs —
through the real operations, with the clock moved (always into the past), on top of the
awards demo. The awards demo already leaves one project awaiting its agreement."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.accounts.models import User, UserRole
from app.applications.demo import FUND_NAME
from app.awards import operations as awards
from app.awards.demo import _call, _user
from app.awards.models import TaskAgreement
from app.calls.models import Call, Fund
from app.core import clock
from app.core.tick import run_tick
from app.demo import STEPS
from app.extensions import db
from app.projects import operations as ops
from app.projects.models import Project

TITLES = (
    "2025年度创新驱动助力工程项目（项目执行演示一）",
    "2025年度创新驱动助力工程项目（项目执行演示二）",
)
# The state each demo project is left in, in order.
PLAN = (
    "in_progress",
    "midterm",
    "rectifying",
    "suspended",
    "awaiting_acceptance",
    "accepting",
    "passed",
    "passed_after_rectification",
    "failed",
    "terminated",
    "revoked",
    "clawback",
    "closed",
    "archived",
)


def _partner(app) -> User:
    return db.session.scalar(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.org_id == app.co_government_id, UserRole.role == "local_partner")
    )


class _Ctx:
    def __init__(self, project: Project, day0):
        self.p, self.day0 = project, day0
        app = project.application
        self.applicant = db.session.get(User, app.created_by_id)
        self.admin = _user(self.applicant.email.replace("applicant", "society"))
        self.partner = _partner(app)
        self.officer, self.officer2 = _user("officer@demo.cn"), _user("officer2@demo.cn")
        self.approver, self.finance = _user("approver@demo.cn"), _user("finance@demo.cn")

    def at(self, days: int):
        return clock.frozen(self.day0 + timedelta(days=days))

    def day(self, days: int) -> date:
        return clock.local(self.day0 + timedelta(days=days)).date()


def _pay_first(c: _Ctx, n: int) -> None:
    with c.at(30):
        committed = c.p.application.matching_committed_fen or 0
        ops.record_matching_receipt(
            c.p, -(-committed * 6 // 10), c.day(30), f"PT-{n}-1", "首笔配套资金", actor=c.partner
        )
        first = c.p.tranches[0]
        ops.release_tranche(first, actor=c.approver)
        ops.pay_tranche(first, first.amount_fen, f"PZ-DEMO-{n}-1", c.day(31), actor=c.finance)


def _report(c: _Ctx, n: int, seq: int, days: int, accept=True) -> None:
    m = c.p.milestones[seq]
    with c.at(days):
        report = ops.open_report(c.p, m, actor=c.applicant)
        ops.save_report(
            report,
            {
                "narrative": "已组织专家团队赴园区企业开展技术服务。",
                "actual": {str(i): "2" for i in range(len(report.target_values))},
            },
            actor=c.applicant,
        )
        ops.add_expenditure(
            report,
            {
                "line_key": "expert_fee",
                "source": "fund",
                "spent_on": c.day(days - 5),
                "amount": "12000",
                "voucher_no": f"BX-{n}-{seq}-1",
                "payee": "沈教授",
            },
            actor=c.applicant,
        )
        ops.add_expenditure(
            report,
            {
                "line_key": "outreach",
                "source": "matching",
                "spent_on": c.day(days - 4),
                "amount": "3000",
                "voucher_no": f"BX-{n}-{seq}-2",
                "payee": "永康市科技馆",
            },
            actor=c.applicant,
        )
        ops.submit_report(report, actor=c.applicant)
        ops.endorse_report(report, actor=c.admin)  # 学会负责人审核
        if accept:
            ops.accept_report(report, actor=c.officer)


def _closing(c: _Ctx, days: int) -> None:
    with c.at(days):
        report = ops.open_report(c.p, None, actor=c.applicant)
        ops.save_report(
            report,
            {
                "narrative": "项目任务全面完成，经费决算见附表。",
                "actual": {str(i): "3" for i in range(len(report.target_values))},
            },
            actor=c.applicant,
        )
        ops.submit_report(report, actor=c.applicant)
        ops.endorse_report(report, actor=c.admin)  # 学会负责人审核


def _decide(c: _Ctx, kind: str, days: int, **extra) -> None:
    with c.at(days):
        row = ops.propose_decision(
            c.p,
            kind,
            "经核查，"
            + {
                "suspend": "经费使用不规范。",
                "terminate": "承担学会无法继续实施。",
                "revoke": "发现伪造服务记录。",
                "resume": "整改到位。",
            }[kind],
            actor=c.officer,
            **extra,
        )
        ops.decide_decision(row, True, "同意。", actor=c.approver)


def _drive(c: _Ctx, target: str, n: int) -> None:
    """Move one signed project to ``target`` through the real operations."""
    _pay_first(c, n)
    if target == "in_progress":
        _report(c, n, 1, 60)
        with c.at(62):
            change = ops.create_change(
                c.p,
                "extension",
                "园区企业需求增加，申请延期6个月。",
                {"months": 6},
                actor=c.applicant,
            )
            ops.submit_change(change, actor=c.applicant)
            ops.forward_change(change, actor=c.officer)
            ops.decide_change(change, True, "同意延期。", actor=c.approver)
            minor = ops.create_change(c.p, "minor", "项目联系人变更。", {}, actor=c.applicant)
            ops.submit_change(minor, actor=c.applicant)
            ops.record_change(minor, actor=c.officer)
        return
    if target in ("midterm", "rectifying", "suspended"):
        _report(c, n, 1, 60)
        with c.at(70):
            ops.begin_midterm(c.p, actor=c.officer)
            if target == "rectifying":
                ops.record_midterm(
                    c.p,
                    "rectify",
                    {
                        "findings": "服务台账不完整。",
                        "site_visit_on": c.day(68),
                        "site_visit_note": "现场核查服务站。",
                        "rectify_by": c.day(160),
                        "rectify_items": "补齐服务台账。",
                    },
                    actor=c.officer,
                )
            elif target == "suspended":
                ops.record_midterm(
                    c.p, "suspend", {"findings": "配套资金未按计划到位。"}, actor=c.officer
                )
        if target == "suspended":
            with c.at(72):
                from app.projects.models import ProjectDecision

                row = db.session.scalar(
                    select(ProjectDecision).where(
                        ProjectDecision.project_id == c.p.id, ProjectDecision.state == "proposed"
                    )
                )
                ops.decide_decision(row, True, "同意暂停拨付。", actor=c.approver)
        return
    if target == "terminated":
        _report(c, n, 1, 60, accept=False)
        _decide(c, "terminate", 80)
        return
    if target == "revoked":
        # Not for fraud here: a ban would keep the demo societies out of the other demos.
        _decide(c, "revoke", 80)
        return
    if target == "clawback":
        _report(c, n, 1, 60)
        _decide(c, "terminate", 80)
        with c.at(82):
            ops.settle_project(c.p, actor=c.officer)
            ops.record_clawback_receipt(c.p, 1_000_000, f"HK-{n}-1", c.day(82), actor=c.finance)
        return
    _report(c, n, 1, 60)
    _closing(c, 100)
    if target == "awaiting_acceptance":
        return
    with c.at(105):
        ops.begin_acceptance(c.p, actor=c.officer)
    if target == "accepting":
        return
    with c.at(110):
        if target == "passed_after_rectification":
            ops.record_acceptance(
                c.p, "rectify", "补充经费决算说明。", actor=c.officer, rectify_by=c.day(150)
            )
    if target == "passed_after_rectification":
        _closing(c, 120)
        with c.at(125):
            ops.record_acceptance(
                c.p, "passed_after_rectification", "整改后通过。", actor=c.officer
            )
        return
    with c.at(112):
        outcome = "failed" if target in ("failed", "archived") else "passed"
        ops.record_acceptance(c.p, outcome, "专家组验收意见。", actor=c.officer)
    if target in ("passed", "failed"):
        return
    with c.at(115):
        figures = ops.settle_project(c.p, actor=c.officer)
        if figures["demand"] > 0:  # the unspent balance returned
            ops.record_clawback_receipt(
                c.p, figures["demand"], f"HK-{n}-9", c.day(115), actor=c.finance
            )
        if target == "archived":
            ops.archive_project(c.p, actor=c.officer)


def demo_projects(password: str) -> list[tuple[str, str, str]]:
    """Two calls whose 14 projects end in every project state after the agreement."""
    fund = db.session.scalar(select(Fund).where(Fund.name == FUND_NAME))
    if fund is None or db.session.scalar(select(Call.id).where(Call.title == TITLES[0])):
        return []
    officer, approver = _user("officer@demo.cn"), _user("approver@demo.cn")
    now = clock.now().replace(second=0, microsecond=0)
    t0 = now - timedelta(days=330)
    projects = []
    for k, title in enumerate(TITLES):
        start = t0 + timedelta(days=k)
        names = [
            f"{s}学会服务站（执行{k + 1}-{i + 1}）"
            for i, s in enumerate(
                ("先进制造", "智慧农业", "海洋科普", "新能源", "医疗器械", "现代物流", "食品安全")
            )
        ]
        call, rows = _call(fund, officer, title, start, names)
        # 结余留用: the first call lets a passed project keep its unspent balance; the
        # second has it returned (the call rule of DOMAIN.md 16).
        call.balance_retention_allowed = k == 0
        with clock.frozen(start + timedelta(days=12)):
            for app in rows:
                award = awards.propose_award(
                    app, 5_000_000, "学会部集体研究，同意立项。", actor=officer
                )
                awards.approve_award(award, actor=approver)
            awards.publish_decisions(call, actor=officer)
        with clock.frozen(start + timedelta(days=19)):
            run_tick()
        day0 = start + timedelta(days=20)
        with clock.frozen(day0):
            for app in rows:
                award = next(a for a in awards.awards_of(call.id) if a.application_id == app.id)
                agreement = db.session.scalar(
                    select(TaskAgreement).where(TaskAgreement.award_id == award.id)
                )
                due = {
                    "1": clock.local(day0 + timedelta(days=90)).date().isoformat(),
                    "2": clock.local(day0 + timedelta(days=400)).date().isoformat(),
                }
                awards.update_agreement(agreement, {"due_on": due}, actor=officer)
                awards.send_agreement(agreement, actor=officer)
                admin = _user(
                    db.session.get(User, app.created_by_id).email.replace("applicant", "society")
                )
                awards.sign_agreement(agreement, actor=admin)
                projects.append((db.session.get(Project, award.id), day0))
    for n, ((project, day0), target) in enumerate(zip(projects, PLAN, strict=True), start=1):
        _drive(_Ctx(project, day0), target, n)
        assert project.state == target, (project.id, project.state, target)
    with clock.frozen(now):
        run_tick()
    return []


STEPS.append(demo_projects)
