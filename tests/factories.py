"""Test data made through the real operations (so audit events exist too)."""

from __future__ import annotations

import itertools

from app.accounts import credit_code
from app.accounts import operations as accounts
from app.accounts.models import Organisation, User

PASSWORD = "Passw0rd-test"
_seq = itertools.count(1)


def org(kind: str = "society", name: str | None = None, **kwargs) -> Organisation:
    """A new organisation of ``kind`` with a valid credit code."""
    n = next(_seq)
    return accounts.create_organisation(
        name or f"测试单位{n}-{kind}",
        kind,
        actor=None,
        credit_code_text=credit_code.make(f"5133{n:013d}"),
        **kwargs,
    )


def user(
    *roles: str,
    organisation: Organisation | None = None,
    password: str = PASSWORD,
    name: str | None = None,
) -> User:
    """A new user holding ``roles`` (default: applicant) in ``organisation``."""
    roles = roles or ("applicant",)
    if organisation is None:
        kind = {
            "applicant": "society",
            "society_admin": "society",
            "local_partner": "local_government",
            "evaluator": "evaluation_agency",
            "enterprise": "enterprise",
            "reviewer": "expert_org",
            "finance": "finance",
            "auditor": "audit",
        }.get(roles[0], "department")
        organisation = org(kind)
    n = next(_seq)
    return accounts.create_user(
        f"user{n}@test.cn",
        name or f"用户{n}",
        organisation.id,
        roles,
        password=password,
        actor=None,
        bootstrap=True,
    )


# --- calls and applications (appended by the calls/applications issue) ---


def fund(amount_fen: int = 100_000_000, year: int = 2026, name: str | None = None):
    """A fund with ``amount_fen`` appropriated through the ledger by a finance user."""
    from app.calls import operations as calls

    row = calls.create_fund(name or f"测试专项资金{next(_seq)}", year, actor=None)
    if amount_fen:
        calls.record_appropriation(row, amount_fen, actor=user("finance"), reference=f"F{row.id}")
    return row


def call_rules(**overrides) -> dict:
    """Valid rules for a call that is open now and closes in 30 days."""
    from datetime import timedelta

    from app.calls.models import DEFAULT_ATTACHMENTS, DEFAULT_BUDGET_LINES, DEFAULT_CATEGORIES
    from app.core import clock

    now = clock.now()
    rules = {
        "kind": "project",
        "title": "2026年度学会服务站项目申报",
        "title_en": "2026 society service station projects",
        "guide": "申报指南正文。",
        "guide_en": "Guide text.",
        "categories": list(DEFAULT_CATEGORIES),
        "opens_at": now - timedelta(hours=1),
        "closes_at": now + timedelta(days=30),
        "total_budget_fen": 50_000_000,
        "project_cap_fen": 10_000_000,
        "per_society_limit": 1,
        "budget_lines": [
            {"key": k, "zh": zh, "en": en, "cap_fen": None} for k, zh, en in DEFAULT_BUDGET_LINES
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
        "number_pattern": "{year}-ZL-{seq:03d}",
        "max_returns": 1,
    }
    rules.update(overrides)
    return rules


def call(state: str = "open", officer=None, the_fund=None, **overrides):
    """A call in ``draft``, ``published`` or ``open`` (opened by the tick)."""
    from app.calls import operations as calls

    officer = officer or user("officer")
    the_fund = the_fund or fund()
    row = calls.create_call(the_fund.id, call_rules(**overrides), actor=officer)
    if state in ("published", "open"):
        calls.publish_call(row, actor=officer)
    if state == "open":
        calls.open_and_close_calls()
        assert row.state == "open"
    return row


def station_for(society):
    """A park, a co-building city government and a station of ``society``."""
    from app.stations import operations as stations

    n = next(_seq)
    park = stations.create_park(f"测试高新园区{n}", "330700", actor=None)
    gov = org("local_government", city_code="330700")
    row = stations.create_station(
        f"测试服务站{n}", park_id=park.id, government_id=gov.id, society_id=society.id, actor=None
    )
    return row


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def application_data(station, **overrides) -> dict:
    """Complete plain data for ``save_draft``."""
    from datetime import date

    data = {
        "title": "永康五金产业关键技术服务站建设",
        "category": "key_tech",
        "summary": "围绕园区五金装备企业的共性技术难题组织专家团队开展攻关。",
        "objectives": "建成学会服务站，解决三项关键技术问题。",
        "station_id": station.id,
        "park_id": station.park_id,
        "co_government_id": station.government_id,
        "chief_expert": {"name": "钱教授", "title": "教授", "organisation": "浙江大学"},
        "team": [{"name": "李工", "title": "高工", "organisation": "浙江工业大学", "role": "技术"}],
        "excluded_experts": [],
        "pledge_integrity": True,
        "pledge_no_duplicate": True,
        "budget": [
            {
                "line_key": "expert_fee",
                "fund_fen": 3_000_000,
                "matching_fen": 3_000_000,
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
            {
                "line_key": "indirect",
                "fund_fen": 400_000,
                "matching_fen": 0,
                "self_raised_fen": 0,
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
                "title": "中期检查",
                "due_on": date(2027, 6, 30),
                "deliverables": "中期报告",
                "tranche_pct": 30,
            },
            {
                "seq": 2,
                "title": "结题验收",
                "due_on": date(2027, 12, 31),
                "deliverables": "结题报告",
                "tranche_pct": 10,
            },
        ],
    }
    data.update(overrides)
    return data


def application(the_call, applicant=None, complete: bool = True, **overrides):
    """A draft application of ``applicant``'s society, complete with attachments by default."""
    import io

    from app.applications import operations as apps

    applicant = applicant or user("applicant")
    row = apps.create_application(the_call, actor=applicant)
    if complete:
        station = station_for(applicant.org)
        apps.save_draft(
            row,
            application_data(station, **overrides),
            actor=applicant,
            expected_version=row.version,
        )
        for kind in the_call.required_attachments:
            apps.add_attachment(
                row, kind["key"], io.BytesIO(PDF_BYTES), f"{kind['key']}.pdf", actor=applicant
            )
    return row


def society_admin_of(society):
    """A society_admin user of ``society``."""
    return user("society_admin", organisation=society)


def submitted(the_call, applicant=None, **overrides):
    """A submitted application."""
    from app.applications import operations as apps

    row = application(the_call, applicant, **overrides)
    apps.submit_application(row, actor=applicant or _applicant_of(row))
    return row


def _applicant_of(row):
    from app.accounts.models import User
    from app.extensions import db

    return db.session.get(User, row.created_by_id)


def endorsed(the_call, applicant=None, **overrides):
    """A submitted application endorsed by its society's admin."""
    import io

    from app.applications import operations as apps

    applicant = applicant or user("applicant")
    row = submitted(the_call, applicant, **overrides)
    apps.endorse_application(
        row, io.BytesIO(PDF_BYTES), "sealed.pdf", actor=society_admin_of(applicant.org)
    )
    return row


# --- expert review (appended by the expert review issue) ---


def accepted(the_call, applicant=None, officer=None, **overrides):
    """An endorsed application accepted by an officer in the eligibility check."""
    from app.applications import operations as apps

    row = endorsed(the_call, applicant, **overrides)
    apps.check_application(row, "accept", actor=officer or user("officer"))
    return row


def expert(officer=None, organisation=None, fields=("key_tech",), **values):
    """A pool expert with a new reviewer account in ``organisation`` (a new expert_org)."""
    from app.reviews import operations as reviews

    organisation = organisation or org("expert_org")
    reviewer = user("reviewer", organisation=organisation, name=values.pop("name", None))
    data = {"user_id": reviewer.id, "org_id": organisation.id, "fields": list(fields), **values}
    return reviews.create_expert(data, actor=officer or user("officer"))


def review_round(n_apps: int = 3, n_experts: int = 6, k: int = 3):
    """An open call with ``n_apps`` accepted applications (each its own society) and
    ``n_experts`` key_tech experts from distinct organisations; returns a namespace."""
    from types import SimpleNamespace

    officer = user("officer")
    the_call = call(officer=officer, reviews_per_application=k, per_society_limit=1)
    apps = [accepted(the_call, officer=officer) for _ in range(n_apps)]
    experts = [expert(officer) for _ in range(n_experts)]
    return SimpleNamespace(officer=officer, call=the_call, apps=apps, experts=experts)


# --- awards (appended by the awards issue) ---


def reviewed_call(n_apps: int = 3, officer=None, **overrides):
    """A call in review (reviewing) with ``n_apps`` reviewed applications; a namespace
    with the officer, two approvers, the call and the applications."""
    from datetime import timedelta
    from types import SimpleNamespace

    from app.applications import operations as apps
    from app.calls import operations as calls
    from app.core import clock

    officer = officer or user("officer")
    the_call = call(officer=officer, **overrides)
    rows = [accepted(the_call, officer=officer) for _ in range(n_apps)]
    with clock.frozen(clock.as_utc(the_call.closes_at) + timedelta(seconds=1)):
        calls.open_and_close_calls()
    calls.advance_call(the_call, "start_review", actor=officer)
    for row in rows:
        apps.advance_application(row, "start_review", actor=officer)
        apps.advance_application(row, "finish_review", actor=officer)
    return SimpleNamespace(
        officer=officer,
        approver=user("approver"),
        approver2=user("approver"),
        call=the_call,
        apps=rows,
    )


def noticed_call(n_awards: int = 2, n_not_funded: int = 1, amount_fen: int | None = None):
    """A call in notice: ``n_awards`` approved and published awards, ``n_not_funded``
    published not-funded decisions. Adds ``awards``, ``notice``, ``not_funded``."""
    from app.awards import operations as awards

    r = reviewed_call(n_awards + n_not_funded)
    r.awards = []
    for row in r.apps[:n_awards]:
        award = awards.propose_award(
            row, amount_fen or row.requested_fen, "集体研究同意立项。", actor=r.officer
        )
        awards.approve_award(award, actor=r.approver)
        r.awards.append(award)
    r.not_funded = [
        awards.mark_not_funded(row, "排名靠后，本批次不予立项。", actor=r.officer)
        for row in r.apps[n_awards:]
    ]
    r.notice = awards.publish_decisions(r.call, actor=r.officer)
    return r


# --- stations, pilot regions and needs (appended by the stations issue) ---


def confirmed_awards(entries, kind: str = "project", officer=None):
    """A call of ``kind`` whose applications ``entries`` = [(applicant, station)] (each
    naming the station) are all awarded and confirmed after the notice (projects
    created); a namespace with officer, approver, call, apps, awards."""
    import io
    from datetime import timedelta
    from types import SimpleNamespace

    from app.applications import operations as apps
    from app.awards import operations as awards
    from app.calls import operations as calls
    from app.core import clock

    officer = officer or user("officer")
    approver = user("approver")
    the_call = call(officer=officer, kind=kind, per_society_limit=3, total_budget_fen=90_000_000)
    rows = []
    for applicant, station in entries:
        row = apps.create_application(the_call, actor=applicant)
        apps.save_draft(
            row, application_data(station), actor=applicant, expected_version=row.version
        )
        for kind_ in the_call.required_attachments:
            apps.add_attachment(
                row, kind_["key"], io.BytesIO(PDF_BYTES), f"{kind_['key']}.pdf", actor=applicant
            )
        apps.submit_application(row, actor=applicant)
        apps.endorse_application(
            row, io.BytesIO(PDF_BYTES), "sealed.pdf", actor=society_admin_of(applicant.org)
        )
        apps.check_application(row, "accept", actor=officer)
        rows.append(row)
    with clock.frozen(clock.as_utc(the_call.closes_at) + timedelta(seconds=1)):
        calls.open_and_close_calls()
    calls.advance_call(the_call, "start_review", actor=officer)
    found = []
    for row in rows:
        apps.advance_application(row, "start_review", actor=officer)
        apps.advance_application(row, "finish_review", actor=officer)
        award = awards.propose_award(row, row.requested_fen, "集体研究同意立项。", actor=officer)
        awards.approve_award(award, actor=approver)
        found.append(award)
    notice = awards.publish_decisions(the_call, actor=officer)
    with clock.frozen(clock.as_utc(notice.ends_at) + timedelta(seconds=1)):
        awards.confirm_due_awards()
    return SimpleNamespace(
        officer=officer, approver=approver, call=the_call, apps=rows, awards=found
    )


def station_in(state: str = "operating", society=None, city_code: str = "330700", park=None):
    """A station of ``society`` (a new one by default) moved to ``state`` by the real
    operations (its officer is kept on ``station.test_officer``)."""
    import io

    from app.stations import operations as stations

    society = society or org("society")
    officer = user("officer")
    n = next(_seq)
    park = park or stations.create_park(f"测试园区{n}", city_code, actor=officer)
    gov = org("local_government", city_code=city_code)
    station = stations.create_station(
        f"测试学会服务站{n}",
        park_id=park.id,
        government_id=gov.id,
        society_id=society.id,
        actor=officer,
    )
    station.test_officer = officer
    if state == "planned":
        return station
    if state == "closed":
        stations.advance_station(station, "close", actor=officer, reason="选址调整，撤销筹建。")
        return station
    stations.upload_document(station, "agreement", io.BytesIO(PDF_BYTES), "协议.pdf", actor=officer)
    stations.confirm_agreement(station, actor=user("society_admin", organisation=society))
    stations.confirm_agreement(station, actor=user("local_partner", organisation=gov))
    stations.advance_station(station, "establish", actor=officer)
    if state == "established":
        return station
    stations.upload_document(station, "rules", io.BytesIO(PDF_BYTES), "办法.pdf", actor=officer)
    stations.upload_document(station, "plan", io.BytesIO(PDF_BYTES), "计划.pdf", actor=officer)
    stations.set_chief_expert(
        station, {"name": "钱教授", "title": "教授", "organisation": "浙江大学"}, actor=officer
    )
    stations.advance_station(station, "start", actor=officer)
    if state == "operating":
        return station
    if state == "suspended":
        stations.advance_station(station, "suspend", actor=officer, reason="整改。")
        return station
    for key, *_rest in stations.base_criteria():
        stations.add_base_evidence(station, key, io.BytesIO(PDF_BYTES), f"{key}.pdf", actor=officer)
    stations.confirm_base(station, actor=user("approver"))
    return station


def station_evaluator(station):
    """An evaluator of a new evaluation agency the department engaged on ``station``."""
    from app.stations import operations as stations

    evaluator = user("evaluator")
    stations.engage_agency(station, evaluator.org_id, actor=user("officer"))
    return evaluator


# --- performance evaluation (appended by the evaluation issue) ---


def evaluation_projects(n: int = 1, start=None):
    """``n`` running projects (agreements signed, in_progress) of one call, made through
    the awards path; the ``noticed_call`` namespace plus ``projects``."""
    from datetime import UTC, datetime, timedelta

    from app.awards import operations as awards
    from app.awards.models import TaskAgreement
    from app.core import clock
    from app.core.tick import run_tick
    from app.extensions import db
    from app.projects.models import Project

    start = start or datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with clock.frozen(start):
        r = noticed_call(n_awards=n, n_not_funded=0)
    with clock.frozen(start + timedelta(days=6)):
        run_tick()
    for award in r.awards:
        agreement = db.session.query(TaskAgreement).filter_by(award_id=award.id).one()
        with clock.frozen(start + timedelta(days=7)):
            awards.send_agreement(agreement, actor=r.officer)
        with clock.frozen(start + timedelta(days=8)):
            awards.sign_agreement(agreement, actor=society_admin_of(award.society))
    r.projects = [db.session.get(Project, a.id) for a in r.awards]
    return r


def engagement(projects, *, n_evaluators: int = 2, officer=None, agency=None, **data):
    """An engagement of a new agency (or ``agency``) for ``projects``; the first evaluator
    leads. Returns the engagement; its evaluators are ``engagement.members``."""
    from datetime import timedelta

    from app.core import clock
    from app.evaluation import operations as evaluation

    agency = agency or org("evaluation_agency")
    evaluators = [user("evaluator", organisation=agency) for _ in range(n_evaluators)]
    values = {
        "agency_id": agency.id,
        "kind": "midterm",
        "title": "2026年度项目中期绩效评价",
        "scope": "对项目决策、过程、产出和效益开展第三方绩效评价。",
        "due_on": clock.today() + timedelta(days=60),
        "project_ids": [p.id for p in projects],
        "evaluator_ids": [u.id for u in evaluators],
        "lead_id": evaluators[0].id if evaluators else None,
        **data,
    }
    return evaluation.create_engagement(values, actor=officer or user("officer"))


# --- projects (appended by the projects issue) ---


def signed_project(amount_fen: int | None = None, matching_fen: int | None = None):
    """A project in progress: one award confirmed at 2026-03-08, its agreement signed
    (milestone 0 accepted; milestones 1 and 2 due 2027-06-30 and 2027-12-31; tranches
    60/30/10%). ``matching_fen`` records a co-building government's commitment.
    Returns a namespace with the project and the people around it (officer, approver,
    approver2, applicant, admin, partner, finance)."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from app.awards import operations as awards
    from app.awards.models import TaskAgreement
    from app.core import clock
    from app.core.tick import run_tick
    from app.extensions import db
    from app.projects.models import Project

    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with clock.frozen(start):
        r = noticed_call(n_awards=1, n_not_funded=0, amount_fen=amount_fen)
    award = r.awards[0]
    app = award.application
    if matching_fen is not None:
        app.matching_committed_fen = matching_fen
        app.matching_confirmed_at = start
    with clock.frozen(start + timedelta(days=6)):
        run_tick()
    agreement = db.session.query(TaskAgreement).filter_by(award_id=award.id).one()
    admin = society_admin_of(award.society)
    with clock.frozen(start + timedelta(days=7)):
        awards.send_agreement(agreement, actor=r.officer)
    with clock.frozen(start + timedelta(days=8)):
        awards.sign_agreement(agreement, actor=admin)
    r.project = db.session.get(Project, award.id)
    r.agreement = agreement
    r.admin = admin
    r.applicant = _applicant_of(app)
    r.partner = user("local_partner", organisation=app.co_government)
    r.finance = user("finance")
    r.officer2 = user("officer")
    return SimpleNamespace(**vars(r))
