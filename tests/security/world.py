"""One small world with an object of every kind that appears in a URL, and a user of
every role, built through the real operations (so audit events exist too).

Society A is "ours": its applicant, society admin and co-building local partner
own ``app_a``; the assigned reviewer scores it. Society B is "the other one"
(``app_b``), and the outsiders (``outsiders``) are users who must never see A's objects:
B's staff, B's local partner, a reviewer of the pool who was not assigned, an
evaluator with no engagement.
"""

from __future__ import annotations

import io
import itertools
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import select

from app.accounts import credit_code
from app.accounts import operations as accounts
from app.accounts.models import Organisation, User
from app.applications.models import Attachment, Revision
from app.core import jobs
from app.core.permissions import ROLES
from app.extensions import db
from app.ledger.models import LedgerTransfer
from app.reviews import operations as reviews
from app.reviews.models import Expert, ReviewAssignment
from tests import factories

PASSWORD = factories.PASSWORD
_seq = itertools.count(1)
# Society A's titles: an outsider's response must never contain them.
SECRET_TITLE = "甲学会保密申报标题Q7"
SECRET_DRAFT_TITLE = "甲学会未提交草稿标题Z9"
SECRET_AWARD_TITLE = "甲学会立项项目标题K3"
ANONYMOUS = "anonymous"
IDENTITIES = (*ROLES, ANONYMOUS)


@dataclass
class World:
    users: dict[str, User]  # role → the user acting in that role on society A's side
    outsiders: dict[str, User]  # name → a user who must not see A's objects
    ids: dict[str, int]  # URL parameter name → an id of a real object
    objects: SimpleNamespace = field(default_factory=SimpleNamespace)
    tokens: dict[str, str] = field(default_factory=dict)  # role → bearer token


def _user(role: str, organisation=None, name=None) -> User:
    return factories.user(role, organisation=organisation, name=name)


def build(*, with_awards: bool = True) -> World:
    """Create the world in the current session (flushed, not committed)."""
    officer = _user("officer")
    call = factories.call(officer=officer, reviews_per_application=3, per_society_limit=2)
    society_a = factories.org("society")
    society_b = factories.org("society")
    applicant_a = _user("applicant", society_a)
    applicant_b = _user("applicant", society_b)
    app_a = factories.accepted(call, applicant_a, officer=officer, title=SECRET_TITLE)
    app_b = factories.accepted(call, applicant_b, officer=officer)
    draft_a = factories.application(call, applicant_a, title=SECRET_DRAFT_TITLE)
    partner_a = _user("local_partner", db.session.get(Organisation, app_a.co_government_id))
    partner_b = _user("local_partner", db.session.get(Organisation, app_b.co_government_id))

    experts = [factories.expert(officer) for _ in range(4)]
    draw = reviews.run_draw(call, actor=officer, seed=7)
    assignments = reviews.confirm_draw(draw, actor=officer)
    mine = next(a for a in assignments if a.application_id == app_a.id)
    reviewer = mine.expert.user
    reviews.respond(mine, "accept", actor=reviewer, no_conflict=True, pledge=True)
    # In the pool, never drawn: must see nothing of anybody's application.
    idle_expert = factories.expert(officer)

    auditor = _user("auditor")
    from app.audit import bundle

    job = jobs.enqueue(bundle.JOB_KIND, {"filters": {}}, actor=auditor)

    from app.calls import societies

    n = next(_seq) + 1000 * (uuid.uuid4().int % 100000)
    registered, _admin = societies.register_society(
        name=f"自行注册学会{n}",
        credit_code_text=credit_code.make(f"5244{n:013d}"),
        contact_name="联系人",
        email=f"reg{n}@test.cn",
        password=PASSWORD,
        certificate=io.BytesIO(factories.PDF_BYTES),
        certificate_name="certificate.pdf",
    )

    users = {
        "applicant": applicant_a,
        "society_admin": _user("society_admin", society_a),
        "local_partner": partner_a,
        "officer": officer,
        "approver": _user("approver"),
        "reviewer": reviewer,
        "evaluator": _user("evaluator"),
        "finance": _user("finance"),
        "auditor": auditor,
        "admin": _user("admin"),
        "security_admin": _user("security_admin"),
        "audit_admin": _user("audit_admin"),
        "enterprise": _user("enterprise"),
    }
    outsiders = {
        "other_applicant": applicant_b,
        "other_society_admin": _user("society_admin", society_b),
        "other_local_partner": partner_b,
        "unassigned_reviewer": idle_expert.user,
        "unengaged_evaluator": _user("evaluator"),
        "enterprise": _user("enterprise"),
    }
    db.session.flush()
    attachment = db.session.scalars(
        select(Attachment).where(Attachment.application_id == app_a.id).order_by(Attachment.id)
    ).first()
    revision = db.session.scalar(select(Revision).where(Revision.application_id == app_a.id))
    transfer = db.session.scalar(select(LedgerTransfer).order_by(LedgerTransfer.id))
    ids = {
        "app_id": app_a.id,
        "file_id": attachment.file_id,
        "number": revision.number,
        "call_id": call.id,
        "fund_id": call.fund_id,
        "assignment_id": mine.id,
        "draw_id": draw.id,
        "expert_id": mine.expert_id,
        "job_id": job.id,
        "org_id": registered.id,
        "user_id": users["enterprise"].id,
        "transfer_id": transfer.id,
    }
    world = World(
        users=users,
        outsiders=outsiders,
        ids=ids,
        objects=SimpleNamespace(
            call=call,
            app_a=app_a,
            app_b=app_b,
            draft_a=draft_a,
            draw=draw,
            assignment=mine,
            assignments=assignments,
            experts=experts,
            idle_expert=idle_expert,
            job=job,
            society_a=society_a,
            society_b=society_b,
            registered=registered,
        ),
    )
    for role, user in users.items():
        _row, plain = accounts.create_api_token(user, actor=None)
        world.tokens[role] = plain
    if with_awards:
        _add_awards(world)
        _add_project(world)
        _add_evaluation(world)
    _add_station(world)
    db.session.flush()
    return world


def _add_awards(world: World) -> None:
    """A second call taken through review to a published award (A) and a not-funded
    decision (B), and A's task agreement."""
    from datetime import timedelta

    from app.applications import operations as apps
    from app.awards import operations as awards
    from app.awards.models import TaskAgreement
    from app.calls import operations as calls
    from app.core import clock

    officer = world.users["officer"]
    approver = world.users["approver"]
    call = factories.call(officer=officer, per_society_limit=2)
    rows = [
        factories.accepted(
            call,
            world.users["applicant"],
            officer=officer,
            title=SECRET_AWARD_TITLE,
            # A's local partner co-builds this one too (it then sees the project).
            co_government_id=world.users["local_partner"].org_id,
        ),
        factories.accepted(call, world.outsiders["other_applicant"], officer=officer),
    ]
    with clock.frozen(clock.as_utc(call.closes_at) + timedelta(seconds=1)):
        calls.open_and_close_calls()
    calls.advance_call(call, "start_review", actor=officer)
    for row in rows:
        apps.advance_application(row, "start_review", actor=officer)
        apps.advance_application(row, "finish_review", actor=officer)
    award = awards.propose_award(rows[0], rows[0].requested_fen, "同意立项。", actor=officer)
    awards.approve_award(award, actor=approver)
    awards.mark_not_funded(rows[1], "排名靠后。", actor=officer)
    notice = awards.publish_decisions(call, actor=officer)
    with clock.frozen(clock.as_utc(notice.ends_at) + timedelta(seconds=1)):
        awards.confirm_award(award, actor=None)
    db.session.flush()
    agreement = db.session.scalar(select(TaskAgreement).where(TaskAgreement.award_id == award.id))
    world.ids.update(
        award_call_id=call.id,
        award_app_id=rows[0].id,
        award_id=award.id,
        notice_id=notice.id,
        agreement_id=agreement.id,
    )
    world.objects.award_call = call
    world.objects.award = award
    world.objects.award_apps = rows
    world.objects.notice = notice
    world.objects.agreement = agreement


def _add_project(world: World) -> None:
    """A's task agreement sent and signed: the project (in progress) with its milestones
    and tranches, a draft report on its first open milestone and a submitted change."""
    from app.awards import operations as awards
    from app.core import clock
    from app.projects import operations as projects
    from app.projects.models import Project, Tranche
    from app.projects.operations.common import approved_budget

    agreement = world.objects.agreement
    awards.send_agreement(agreement, actor=world.users["officer"])
    awards.sign_agreement(agreement, actor=world.users["society_admin"])
    db.session.flush()
    project = db.session.get(Project, world.objects.award.id)
    applicant = world.users["applicant"]
    report = projects.open_report(project, actor=applicant)
    # A voucher scan and an attachment on the draft (downloads: society, staff, evaluator).
    line = approved_budget(project)[0]["line_key"]
    voucher, _warnings = projects.add_expenditure(
        report,
        {
            "line_key": line,
            "source": "fund",
            "spent_on": clock.today(),
            "amount": "1",
            "voucher_no": "WORLD-V-1",
            "payee": "某印刷厂",
        },
        (io.BytesIO(factories.PDF_BYTES), "凭证.pdf"),
        actor=applicant,
    )
    attachment = projects.attach_file(
        report, io.BytesIO(factories.PDF_BYTES), "成果.pdf", "成果材料", actor=applicant
    )
    change = projects.create_change(
        project, "extension", "延期半年。", {"months": 6}, actor=applicant
    )
    projects.submit_change(change, actor=applicant)
    tranche = db.session.scalar(
        select(Tranche).where(Tranche.project_id == project.id).order_by(Tranche.seq.desc())
    )
    db.session.flush()
    world.ids.update(
        project_id=project.id,
        report_id=report.id,
        change_id=change.id,
        tranche_id=tranche.id,
        expenditure_id=voucher.id,
        report_attachment_id=attachment.id,
    )
    world.objects.project = project


def _add_evaluation(world: World) -> None:
    """An engagement of the world's evaluator (its agency) for A's project; the evaluator
    declared independence, A submitted its self-evaluation, the evaluation is being scored,
    with one uploaded file and one problem (a rectification item)."""
    from datetime import timedelta
    from decimal import Decimal

    from app.core import clock
    from app.evaluation import operations as evaluation
    from tests.evaluation.helpers import full_sheet

    evaluator, officer = world.users["evaluator"], world.users["officer"]
    admin = world.users["society_admin"]
    engagement = evaluation.create_engagement(
        {
            "agency_id": evaluator.org_id,
            "kind": "midterm",
            "title": "2026年度项目中期绩效评价",
            "scope": "对项目决策、过程、产出和效益开展第三方绩效评价。",
            "due_on": clock.today() + timedelta(days=60),
            "project_ids": [world.objects.project.id],
            "evaluator_ids": [evaluator.id],
            "lead_id": evaluator.id,
        },
        actor=officer,
    )
    (member,) = engagement.members
    evaluation.declare_independence(member, actor=evaluator, statement="无关联。")
    (row,) = engagement.evaluations
    evaluation.request_self_evaluation(row, actor=officer)
    evaluation.save_sheet(row, "self", full_sheet(Decimal("0.9")), actor=admin)
    evaluation.submit_self_evaluation(row, actor=admin)
    stored = evaluation.add_file(row, io.BytesIO(factories.PDF_BYTES), "现场.pdf", actor=evaluator)
    item = evaluation.add_problem(
        row, "台账不完整。", "补齐台账。", clock.today() + timedelta(days=60), actor=evaluator
    )
    db.session.flush()
    world.ids.update(
        engagement_id=engagement.id,
        evaluation_id=row.id,
        evaluation_file_id=stored.id,
        item_id=item.id,
    )
    world.objects.engagement = engagement
    world.objects.evaluation = row


def _add_station(world: World) -> None:
    """An established station led by society A, co-built by A's local partner, with a
    posted need and an uploaded document; the world's enterprise is in its park and the
    world's evaluator's agency is engaged on it (the outsiders are neither)."""
    from app.stations import needs
    from app.stations import operations as stations
    from app.stations.models import Station

    officer = world.users["officer"]
    partner = world.users["local_partner"]
    n = next(_seq) + 1000 * (uuid.uuid4().int % 100000)
    park = stations.create_park(f"安全测试园区{n}", "330700", actor=officer)
    station = stations.create_station(
        f"甲学会服务站{n}",
        park_id=park.id,
        government_id=partner.org_id,
        society_id=world.objects.society_a.id,
        actor=officer,
    )
    pdf = factories.PDF_BYTES
    stations.upload_document(station, "agreement", io.BytesIO(pdf), "协议.pdf", actor=officer)
    stations.confirm_agreement(station, actor=world.users["society_admin"])
    stations.confirm_agreement(station, actor=partner)
    stations.advance_station(station, "establish", actor=officer)
    stations.link_enterprise(world.users["enterprise"].org_id, park.id, actor=officer)
    stations.engage_agency(station, world.users["evaluator"].org_id, actor=officer)
    need = needs.post_need(
        station,
        {
            "kind": "key_tech",
            "industry": "五金制造",
            "title": "电动工具电机温升控制",
            "description": "园区企业电动工具电机温升过高，需要专家团队攻关。",
            "urgency": "high",
            "contact_name": "徐经理",
            "contact_phone": "13800001111",
        },
        actor=partner,
    )
    db.session.flush()
    station = db.session.get(Station, station.id)
    world.ids.update(
        station_id=station.id,
        station_file_id=station.agreement_file_id,
        need_id=need.id,
    )
    world.objects.station = station
    world.objects.need = need


def assigned_expert_ids(world: World) -> set[int]:
    """Experts with any assignment (the idle expert is not among them)."""
    return set(db.session.scalars(select(ReviewAssignment.expert_id)))


def expert_of(user: User) -> Expert | None:
    return db.session.scalar(select(Expert).where(Expert.user_id == user.id))
