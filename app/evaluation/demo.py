"""Demo step: third-party performance evaluations — one accepted with its grade, one in
progress, one returned — and rectification items in every state, through the real
operations with the clock moved, on top of the awards demo."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from app.accounts.models import Organisation, User
from app.applications import operations as apps
from app.applications.demo import FUND_NAME, PDF, _rules
from app.awards import operations as awards
from app.awards.demo import _reviewed
from app.awards.models import TaskAgreement
from app.calls import operations as calls
from app.calls.models import Fund
from app.core import clock
from app.core.tick import run_tick
from app.demo import STEPS
from app.evaluation import operations as ops
from app.evaluation.models import Engagement
from app.extensions import db
from app.projects.models import Project

CALL_TITLE = "2026年度创新驱动助力工程项目（第八批，绩效评价演示）"
ENGAGEMENT_TITLE = "2026年度创新驱动助力工程项目中期绩效评价"
AGENCY = "浙江求是科技评估咨询有限公司"


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _projects(fund, officer, approver, start) -> list[Project]:
    """Three running projects of a call of their own (agreements signed)."""
    day = timedelta(days=1)
    names = ["智能装备绩效评价演示", "数字农业绩效评价演示", "精准科普绩效评价演示"]
    with clock.frozen(start):
        call = calls.create_call(
            fund.id,
            _rules(
                CALL_TITLE,
                start - day,
                start + 10 * day,
                per_society_limit=3,
                total_budget_fen=60_000_000,
            ),
            actor=officer,
        )
        calls.publish_call(call, actor=officer)
        calls.open_and_close_calls()
        rows = [
            _reviewed(call, officer, i, f"{n}学会服务站项目", 20 + i) for i, n in enumerate(names)
        ]
    with clock.frozen(start + 11 * day):
        calls.open_and_close_calls()
        for app in rows:
            apps.check_application(app, "accept", actor=officer)
        calls.advance_call(call, "start_review", actor=officer)
        for app in rows:
            apps.advance_application(app, "start_review", actor=officer)
            apps.advance_application(app, "finish_review", actor=officer)
    with clock.frozen(start + 12 * day):
        for app in rows:
            award = awards.propose_award(
                app, app.requested_fen, "集体研究同意立项。", actor=officer
            )
            awards.approve_award(award, actor=approver)
        awards.publish_decisions(call, actor=officer)
    with clock.frozen(start + 20 * day):
        run_tick()
        agreements = db.session.scalars(
            select(TaskAgreement).where(TaskAgreement.call_id == call.id).order_by(TaskAgreement.id)
        ).all()
        for agreement in agreements:
            awards.send_agreement(agreement, actor=officer)
    with clock.frozen(start + 22 * day):
        for i, agreement in enumerate(agreements):
            awards.sign_agreement(agreement, actor=_user(f"society{i + 1}@demo.cn"))
    return [db.session.get(Project, a.award_id) for a in agreements]


def _sheet(evaluation, fraction: str) -> dict:
    out = {}
    for c in ops.rubric_for(evaluation).criteria:
        value = (c.max * Decimal(fraction) * 2).to_integral_value(rounding="ROUND_FLOOR") / 2
        out[c.key] = str(value)
    return out


def demo_evaluations(password: str) -> list[tuple[str, str, str]]:
    """An engagement of the demo agency for three projects: accepted (良) with problems
    open / submitted / closed / reopened, one still being evaluated, one returned."""
    fund = db.session.scalar(select(Fund).where(Fund.name == FUND_NAME))
    if fund is None or db.session.scalar(
        select(Engagement.id).where(Engagement.title == ENGAGEMENT_TITLE)
    ):
        return []
    officer, approver = _user("officer@demo.cn"), _user("approver@demo.cn")
    lead, second = _user("evaluator1@demo.cn"), _user("evaluator2@demo.cn")
    agency = db.session.scalar(select(Organisation).where(Organisation.name == AGENCY))
    if None in (officer, approver, lead, second, agency):
        return []
    now = clock.now().replace(second=0, microsecond=0)
    day = timedelta(days=1)
    start = now - 90 * day
    projects = _projects(fund, officer, approver, start)
    with clock.frozen(start + 40 * day):
        engagement = ops.create_engagement(
            {
                "agency_id": agency.id,
                "kind": "midterm",
                "title": ENGAGEMENT_TITLE,
                "scope": "按绩效评价指标体系，对项目决策、过程、产出、效益开展中期评价并现场核查。",
                "due_on": (now + 60 * day).date(),
                "project_ids": [p.id for p in projects],
                "evaluator_ids": [lead.id, second.id],
                "lead_id": lead.id,
            },
            actor=officer,
        )
        for member in engagement.members:
            ops.declare_independence(
                member,
                actor=member.user,
                statement="本人与被评价项目无利益关联，并对评价材料保密。",
            )
        evaluations = list(engagement.evaluations)
        for i, evaluation in enumerate(evaluations):
            admin = _user(f"society{i + 1}@demo.cn")
            ops.request_self_evaluation(evaluation, actor=officer)
            ops.save_sheet(evaluation, "self", _sheet(evaluation, "0.9"), actor=admin)
            ops.submit_self_evaluation(evaluation, actor=admin)
    accepted, in_progress, returned = evaluations
    with clock.frozen(start + 50 * day):
        ops.save_sheet(accepted, "agency", _sheet(accepted, "0.85"), actor=second)
        ops.save_notes(
            accepted,
            "现场查看服务站运行台账、专家服务记录和企业回访记录。",
            "项目总体进展良好，资金管理需进一步规范。",
            actor=lead,
        )
        ops.add_file(accepted, io.BytesIO(PDF), "现场核查记录.pdf", actor=lead)
        deadline = (now + 30 * day).date()
        problems = [
            ("地方配套资金到位滞后。", "督促共建地方按协议拨付配套资金。"),
            ("专家咨询费发放凭证不完整。", "补齐签收单和银行回单。"),
            ("服务企业回访记录缺失。", "建立企业回访台账。"),
            ("绩效目标完成进度低于计划。", "制定赶进度计划并报学会部。"),
        ]
        items = [ops.add_problem(accepted, p, req, deadline, actor=lead) for p, req in problems]
        ops.submit_evaluation(accepted, actor=lead)
        ops.save_sheet(in_progress, "agency", {"project_basis": "4.5"}, actor=second)
        ops.save_sheet(returned, "agency", _sheet(returned, "0.7"), actor=lead)
        ops.submit_evaluation(returned, actor=lead)
    with clock.frozen(start + 55 * day):
        ops.accept_evaluation(accepted, actor=approver, reason="同意评价结论，请承担学会按期整改。")
        ops.return_evaluation(returned, "现场核查记录不完整，请补充后重新委托评价。", actor=officer)
    admin = _user("society1@demo.cn")
    with clock.frozen(start + 60 * day):
        _open, submitted, closed, reopened = items
        for item in (closed, reopened):
            ops.add_evidence(item, io.BytesIO(PDF), "整改佐证.pdf", actor=admin)
        for item, text in (
            (submitted, "已补齐签收单，银行回单正在调取。"),
            (closed, "已建立企业回访台账并补录回访记录。"),
            (reopened, "已制定赶进度计划。"),
        ):
            ops.submit_rectification(item, text, actor=admin)
        ops.close_item(closed, actor=lead)
        ops.reopen_item(reopened, "赶进度计划缺少分月目标，请补充。", actor=officer)
    return []


STEPS.append(demo_evaluations)
