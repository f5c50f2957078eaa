"""Demo step: a pilot call with a county selected as pilot region, stations in every
state (one a demonstration base), needs in every state (matched ones linked to projects
of their station), yearly reports and an evaluation — through the real operations."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.applications import operations as apps
from app.applications.demo import PDF, _data, _rules
from app.applications.models import Application
from app.awards import operations as awards
from app.calls import operations as calls
from app.core import clock
from app.demo import STEPS, ensure_org, ensure_user, reference_data
from app.extensions import db
from app.projects.models import Project
from app.stations import needs, reporting
from app.stations import operations as ops
from app.stations.models import HighTechPark, Station

MARKER = "永康市人民政府学会服务站（试点筹建）"
NEED = {
    "kind": "key_tech",
    "industry": "五金制造",
    "description": "园区企业提出的共性技术需求，请学会组织专家对接。",
    "urgency": "normal",
    "contact_name": "徐经理",
    "contact_phone": "0579-87000000",
}
SCORES = {
    "station_conditions": 7,
    "co_building": 5.5,
    "work_plan": 5,
    "supervision": 7,
    "funds_management": 7,
    "budget_execution": 5,
    "records": 7,
    "consulting": 7,
    "talent": 6.5,
    "key_technology": 8,
    "transfer": 8,
    "outreach": 5,
    "enterprise_satisfaction": 7,
}


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _accounts(password: str):
    county = ensure_org("永康市人民政府", "local_government", city_code="330784", code_seed=510)
    applicant = ensure_user("county@demo.cn", "应科长", county, ["applicant"], password)
    admin = ensure_user("county_admin@demo.cn", "胡主任", county, ["society_admin"], password)
    lines = [
        ("applicant", applicant.email, applicant.name),
        ("society_admin", admin.email, admin.name),
    ]
    return county, applicant, admin, lines


def _pilot(county, applicant, admin, officer, approver, park):
    """A pilot call, long decided, in which the county was selected."""
    finance = _user("finance@demo.cn")
    now = clock.now().replace(second=0, microsecond=0)
    start = now - timedelta(days=200)
    day = timedelta(days=1)
    with clock.frozen(start):
        fund = calls.create_fund("市县试点专项资金", now.year, actor=officer)
        calls.record_appropriation(
            fund, 100_000_000, actor=finance, reference="浙科协财〔试点〕1号"
        )
        rules = _rules("市县试点单位申报（第一批）", start - day, start + 10 * day,
                       kind="pilot", matching_required=False, matching_ratio_pct=0,
                       number_pattern="{year}-SD-{seq:03d}")  # fmt: skip
        call = calls.create_call(fund.id, rules, actor=officer)
        calls.publish_call(call, actor=officer)
        calls.open_and_close_calls()
        station = ops.create_station(
            MARKER, park_id=park.id, government_id=county.id,
            society_id=_user("applicant2@demo.cn").org_id, actor=officer,
        )  # fmt: skip
        app = apps.create_application(call, actor=applicant)
        apps.save_draft(app, {**_data(station, "永康市创新驱动助力工程试点", 90),
                              "category": "consulting"},
                        actor=applicant, expected_version=app.version)  # fmt: skip
        ops.save_pilot_profile(
            app,
            {
                "park_id": park.id,
                "leading_industries": "五金制品、农机装备、电动工具",
                "needs": "电机能效提升、农机智能化、企业技术人员培训",
                "premises": "园区创新服务中心三层，约400平方米",
                "matching_funds_fen": 100_000_000,
                "staff_count": 4,
                "staff_note": "科技局、科协各派2名专职人员",
            },
            actor=applicant,
        )
        for kind in call.required_attachments:
            apps.add_attachment(app, kind["key"], io.BytesIO(PDF), f"{kind['key']}.pdf",
                                actor=applicant)  # fmt: skip
        apps.submit_application(app, actor=applicant)
        apps.endorse_application(app, io.BytesIO(PDF), "盖章申报书.pdf", actor=admin)
    with clock.frozen(start + 11 * day):
        calls.open_and_close_calls()
        apps.check_application(app, "accept", actor=officer)
        calls.advance_call(call, "start_review", actor=officer)
        apps.advance_application(app, "start_review", actor=officer)
        apps.advance_application(app, "finish_review", actor=officer)
        award = awards.propose_award(app, app.requested_fen, "学会部集体研究，同意列为试点单位。",
                                     actor=officer)  # fmt: skip
        awards.approve_award(award, actor=approver)
        awards.publish_decisions(call, actor=officer)
    with clock.frozen(start + 20 * day):
        awards.confirm_due_awards()
        ops.sync_pilot_regions()


def _forward(station, target, officer, approver):
    """Move a planned station to ``target`` through the real operations."""
    lead_admin = db.session.scalar(
        select(User).where(User.org_id == station.society_id, User.email.like("society%"))
    )
    gov_user = db.session.scalar(select(User).where(User.org_id == station.government_id))
    ops.upload_document(station, "agreement", io.BytesIO(PDF), "合作协议.pdf", actor=officer)
    ops.confirm_agreement(station, actor=lead_admin)
    ops.confirm_agreement(station, actor=gov_user)
    ops.advance_station(station, "establish", actor=officer)
    if target == "established":
        return
    ops.upload_document(station, "rules", io.BytesIO(PDF), "管理办法.pdf", actor=officer)
    ops.upload_document(station, "plan", io.BytesIO(PDF), "年度工作计划.pdf", actor=officer)
    ops.set_chief_expert(station, {"name": "钱教授", "title": "教授", "organisation": "浙江大学"},
                         actor=officer)  # fmt: skip
    ops.add_expert(station, {"name": "蒋研究员", "organisation": "浙江省农业科学院",
                             "field": "农机装备"}, actor=officer)  # fmt: skip
    ops.advance_station(station, "start", actor=officer)
    if target == "suspended":
        ops.advance_station(
            station, "suspend", actor=officer, reason="年度工作计划未落实，暂停整改。"
        )
    if target == "base":
        for key, *_rest in ops.base_criteria():
            ops.add_base_evidence(station, key, io.BytesIO(PDF), f"{key}.pdf", actor=officer)
        ops.confirm_base(station, actor=approver)


def _needs(station, officer, enterprise):
    """Needs of the station in every state; matched ones serve one of its projects."""
    project_id = db.session.scalar(
        select(Project.id)
        .join(Application, Application.id == Project.application_id)
        .where(Application.station_id == station.id)
        .order_by(Project.id)
    )
    states = ["posted", "not_accepted", "screened"]
    if project_id is not None:
        states += ["matched", "in_progress", "solved", "closed"]
    titles = {
        "posted": "电动工具电机温升控制",
        "not_accepted": "园区招商宣传策划",
        "screened": "农机装备产业技术路线图",
        "matched": "五金产品表面处理共性技术",
        "in_progress": "一线技术人员数控培训",
        "solved": "智能农机传感器选型",
        "closed": "企业科普开放日",
    }
    society_user = _user("applicant3@demo.cn")
    for state in states:
        need = needs.post_need(station, {**NEED, "title": titles[state]}, actor=enterprise)
        if state == "posted":
            continue
        if state == "not_accepted":
            needs.screen_need(need, False, actor=officer, reason="不属于服务站服务范围。")
            continue
        needs.screen_need(need, True, actor=officer)
        proposal = needs.propose(
            need,
            {"content": "组织学会专家团队赴企业现场诊断并提出解决方案。",
             "experts": [{"name": "沈教授", "title": "教授", "organisation": "中国计量大学"}]},
            actor=society_user,
        )  # fmt: skip
        if state == "screened":
            continue
        needs.match_need(need, project_id, actor=officer, proposal_id=proposal.id)
        if state == "matched":
            continue
        needs.advance_need(need, "start", actor=officer)
        if state == "in_progress":
            continue
        needs.advance_need(need, "solve", actor=officer)
        if state == "closed":
            needs.close_need(need, "专家现场诊断后形成改进方案，企业已采纳。", 5, actor=enterprise)


def demo_stations(password: str) -> list[tuple[str, str, str]]:
    """Pilot region, stations in every state with a base, needs, reports, an evaluation."""
    county, applicant, admin, lines = _accounts(password)
    if db.session.scalar(select(Station.id).where(Station.name == MARKER)):
        return lines
    officer, approver = _user("officer@demo.cn"), _user("approver@demo.cn")
    enterprise = _user("enterprise@demo.cn")
    ref = reference_data()
    park = db.session.scalar(
        select(HighTechPark).where(HighTechPark.name == ref["pilot_park"]["zh"])
    ) or ops.create_park(ref["pilot_park"]["zh"], ref["pilot_park"]["city"], actor=officer)
    ops.link_enterprise(enterprise.org_id, park.id, actor=officer)
    _pilot(county, applicant, admin, officer, approver, park)
    existing = db.session.scalars(
        select(Station)
        .where(Station.state == "planned", Station.name != MARKER)
        .order_by(Station.id)
    ).all()
    # The first demo station (in the pilot park, with awarded projects) becomes a base.
    targets = ["base", "operating", "established"]
    for station, target in zip(existing, targets, strict=False):
        _forward(station, target, officer, approver)
    societies = [_user(f"applicant{i}@demo.cn").org_id for i in (1, 2, 3)]
    city_parks = {}
    for i, (code, target) in enumerate([("330300", "suspended"), ("330500", "closed"),
                                        ("330600", "planned")]):  # fmt: skip
        city = next(c for c in ref["cities"] if c["code"] == code)
        gov = ensure_org(f"{city['zh']}科学技术协会", "local_government", city_code=code,
                         code_seed=520 + i)  # fmt: skip
        ensure_user(f"partner-{code}@demo.cn", f"{city['zh']}科协联络员", gov, ["local_partner"],
                    password)  # fmt: skip
        city_parks[code] = ops.create_park(f"{city['zh']}高新技术产业园区", code, actor=officer)
        station = ops.create_station(f"{city['zh']}学会服务站", park_id=city_parks[code].id,
                                     government_id=gov.id, society_id=societies[i],
                                     actor=officer)  # fmt: skip
        if target == "closed":
            ops.advance_station(station, "close", actor=officer, reason="共建单位调整，撤销筹建。")
        elif target == "suspended":
            _forward(station, "suspended", officer, approver)
    if existing:
        ops.add_partner(existing[0], societies[2], actor=officer)
        _needs(existing[0], officer, enterprise)
    year = clock.today().year - 1
    for station in existing[:2]:
        lead = db.session.scalar(select(User).where(User.org_id == station.society_id))
        reporting.submit_report(
            station, year,
            {"needs_collected": 7, "needs_solved": 3, "experts_stationed": 6,
             "enterprises_served": 25, "technicians_trained": 140, "events_held": 5,
             "patents": 3, "standards": 1, "products": 2, "revenue_fen": 2_600_000_000,
             "narrative": "围绕园区主导产业开展技术攻关、人才培训和精准科普。"},
            [(io.BytesIO(PDF), "年度工作报告.pdf")], actor=lead,
        )  # fmt: skip
    if existing:
        evaluator = _user("evaluator1@demo.cn")
        ops.engage_agency(existing[0], evaluator.org_id, actor=officer)
        reporting.evaluate_station(existing[0], year, SCORES, actor=evaluator,
                                   comment="服务站运行规范，服务成效明显。")  # fmt: skip
    return lines


STEPS.append(demo_stations)
