"""Demo step: awards in every award state, objections in every state, reconsiderations
and task agreements drafting / awaiting signature / signed — through the real operations,
with the clock moved, on top of the calls and applications demo."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.applications import operations as apps
from app.applications.demo import FUND_NAME, PDF, _data, _rules
from app.awards import operations as ops
from app.awards.models import TaskAgreement
from app.calls import operations as calls
from app.calls.models import Call, Fund
from app.core import clock
from app.demo import STEPS
from app.extensions import db
from app.stations.models import Station

TITLE = "2026年度创新驱动助力工程项目（第六批，立项演示）"
TITLE_B = "2026年度创新驱动助力工程项目（第七批，待审批）"


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _reviewed(call, officer, k: int, title: str, n: int):
    applicant, admin = _user(f"applicant{k + 1}@demo.cn"), _user(f"society{k + 1}@demo.cn")
    partner = _user(f"partner{k % 2 + 1}@demo.cn")
    station = db.session.scalar(
        select(Station).where(Station.society_id == applicant.org_id).order_by(Station.id)
    )
    app = apps.create_application(call, actor=applicant)
    apps.save_draft(
        app, _data(station, title, 20 + n), actor=applicant, expected_version=app.version
    )
    for kind in call.required_attachments:
        apps.add_attachment(
            app, kind["key"], io.BytesIO(PDF), f"{kind['key']}.pdf", actor=applicant
        )
    apps.submit_application(app, actor=applicant)
    apps.endorse_application(app, io.BytesIO(PDF), "盖章申报书.pdf", actor=admin)
    apps.confirm_matching(app, -(-app.requested_fen * 50 // 100) + 100_000, actor=partner)
    return app


def _call(fund, officer, title, start, names):
    with clock.frozen(start):
        call = calls.create_call(
            fund.id,
            _rules(
                title,
                start - timedelta(days=1),
                start + timedelta(days=10),
                per_society_limit=3,
                total_budget_fen=120_000_000,
            ),
            actor=officer,
        )
        calls.publish_call(call, actor=officer)
        calls.open_and_close_calls()
        rows = [_reviewed(call, officer, i % 3, name, i) for i, name in enumerate(names)]
    with clock.frozen(start + timedelta(days=11)):
        calls.open_and_close_calls()
        for app in rows:
            apps.check_application(app, "accept", actor=officer)
        calls.advance_call(call, "start_review", actor=officer)
        for app in rows:
            apps.advance_application(app, "start_review", actor=officer)
            apps.advance_application(app, "finish_review", actor=officer)
    return call, rows


def demo_awards(password: str) -> list[tuple[str, str, str]]:
    """Two calls: one through notice, objections, reconsideration and agreements; one
    with a proposal awaiting approval and an approved award awaiting the notice."""
    fund = db.session.scalar(select(Fund).where(Fund.name == FUND_NAME))
    if fund is None or db.session.scalar(select(Call.id).where(Call.title == TITLE)):
        return []
    officer, approver = _user("officer@demo.cn"), _user("approver@demo.cn")
    now = clock.now().replace(second=0, microsecond=0)
    t0 = now - timedelta(days=40)
    names = [
        "机械装备",
        "现代农业",
        "精准科普",
        "新材料",
        "数字经济",
        "生物医药",
        "节能环保",
        "文旅融合",
    ]
    call, rows = _call(fund, officer, TITLE, t0, [f"{n}学会服务站项目" for n in names])
    day = timedelta(days=1)
    with clock.frozen(t0 + 12 * day):
        awards = []
        for app in rows[:6]:
            award = ops.propose_award(
                app, app.requested_fen - 500_000, "学会部集体研究，同意拟立项。", actor=officer
            )
            ops.approve_award(award, actor=approver)
            awards.append(award)
        for app in rows[6:]:
            ops.mark_not_funded(app, "综合评分排名靠后，本批次不予立项。", actor=officer)
        ops.publish_decisions(call, actor=officer)
    with clock.frozen(t0 + 14 * day):
        upheld = ops.file_objection(
            awards[1],
            {
                "name": "周明",
                "contact": "0571-88000000",
                "grounds": "该项目服务站选址与申报材料不符。",
            },
        )
        ops.screen_objection(upheld, True, actor=officer)
        ops.handle_objection(
            upheld, True, "经实地核查，服务站尚未落地，异议成立，撤销拟立项。", actor=officer
        )
        pending = ops.file_objection(
            awards[2], {"organisation": "某市科协", "grounds": "首席专家同时承担其他财政项目。"}
        )
        ops.screen_objection(pending, True, actor=officer)
        dismissed = ops.file_objection(
            awards[3], {"organisation": "某研究院", "grounds": "预算编制偏高。"}
        )
        ops.screen_objection(dismissed, True, actor=officer)
        ops.handle_objection(
            dismissed, False, "经复核，预算编制符合本批次规定，异议不成立。", actor=officer
        )
        ops.file_objection(
            awards[4], {"name": "赵工", "contact": "13900000000", "grounds": "项目团队成员变动。"}
        )
        ops.file_objection(awards[4], {"grounds": "匿名举报：业绩不实。"})
        rejected = ops.file_objection(
            awards[0], {"name": "钱先生", "contact": "13700000000", "grounds": "对排序有意见。"}
        )
        ops.screen_objection(
            rejected, False, actor=officer, reason="未提出具体事实和证据，不予受理。"
        )
    with clock.frozen(t0 + 15 * day):
        nf7, nf6 = rows[7], rows[6]
        ops.file_reconsideration(
            nf6, "academic", "专家评分偏低。", actor=_user(f"applicant{6 % 3 + 1}@demo.cn")
        )
        rec = ops.file_reconsideration(
            nf7,
            "conflict",
            "一位评审专家与竞争项目同属一单位。",
            actor=_user(f"applicant{7 % 3 + 1}@demo.cn"),
        )
        ops.screen_reconsideration(rec, True, actor=officer)
        ops.screen_reconsideration(
            db.session.scalars(select(type(rec)).where(type(rec).application_id == nf6.id)).first(),
            False,
            actor=officer,
            reason="仅对专家学术判断有不同意见，不属于复审范围。",
        )
    with clock.frozen(t0 + 20 * day):
        from app.core.tick import run_tick

        run_tick()
        agreements = {
            a.award_id: a
            for a in db.session.scalars(select(TaskAgreement).order_by(TaskAgreement.id))
        }
        signed, waiting = agreements.get(awards[0].id), agreements.get(awards[3].id)
        for row in (signed, waiting):
            if row is not None:
                ops.send_agreement(row, actor=officer)
    with clock.frozen(t0 + 22 * day):
        if signed is not None:
            ops.sign_agreement(signed, actor=_user(f"society{0 % 3 + 1}@demo.cn"))
    with clock.frozen(t0 + 45 * day if t0 + 45 * day < now else now):
        ops.flag_overdue_agreements()
    call_b, rows_b = _call(
        fund,
        officer,
        TITLE_B,
        now - 15 * day,
        ["智能制造学会服务站项目", "海洋科普学会服务站项目", "乡村振兴学会服务站项目"],
    )
    ops.propose_award(rows_b[0], rows_b[0].requested_fen, "同意拟立项。", actor=officer)
    approved = ops.propose_award(rows_b[1], rows_b[1].requested_fen, "同意拟立项。", actor=officer)
    ops.approve_award(approved, actor=approver)
    # A proposal withdrawn before approval: the application is back at the decision.
    withdrawn = ops.propose_award(rows_b[2], rows_b[2].requested_fen, "同意拟立项。", actor=officer)
    ops.withdraw_award(withdrawn, "申报单位资格需进一步核实，撤回立项建议。", actor=officer)
    return []


STEPS.append(demo_awards)
