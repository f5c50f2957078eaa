"""Engaging an agency: independence checks of the agency and each evaluator against each
project, the evaluators' declarations, the lead."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Organisation, User
from app.applications.models import Application
from app.audit import trail
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.models import StoredFile
from app.core.outbox import queue_mail
from app.evaluation.models import (
    Engagement,
    EngagementMember,
    Evaluation,
    EvaluationScore,
    EvaluationVeto,
    EvaluatorTie,
    IndependenceCheck,
    RectificationItem,
)
from app.evaluation.operations.common import lock, performance_snapshot, require
from app.evaluation.permissions import can_engage
from app.evaluation.states import KINDS
from app.extensions import db
from app.projects.models import Project
from app.reviews.models import Expert, ExpertRelation
from app.reviews.operations.common import norm
from app.reviews.operations.conflicts import PRECEDENCE, relation_counts
from app.reviews.states import CONFLICT_LABELS, RELATION_KINDS

# Projects that can be evaluated: started, and neither revoked nor archived.
NOT_EVALUABLE = ("awaiting_agreement", "revoked", "archived")
# An evaluation still running blocks a second engagement for the same project.
LIVE_STATES = ("engaged", "self_evaluating", "evaluating", "submitted")


def project_ties(
    project: Project, *, agency: Organisation, user: User | None = None
) -> list[tuple[str, str]]:
    """Every (reason, detail) tying the agency — or, with ``user``, that evaluator — to
    the project: the review conflict rules applied to the agency and its staff.

    Automatic: the agency is the applicant society, the co-building government or a
    team member's organisation; the evaluator is on the team (name and organisation)
    or was excluded by name by the applicant. Declared: a relation of the evaluator
    (declared here, or in the expert pool) with the society, the co-building government
    or a team organisation that still counts (``relation_counts``: relatives always,
    employment/directorship/collaboration within the configured years).
    Sorted by the review precedence, first reason first.
    """
    app: Application = db.session.get(Application, project.application_id)
    members = [app.chief_expert or {}, *(app.team or [])]
    member_orgs = {norm(m.get("organisation")) for m in members if m.get("organisation")}
    found: list[tuple[str, str]] = []
    if agency.id == app.society_id:
        found.append(("same_organisation", app.society.name))
    if app.co_government_id and agency.id == app.co_government_id:
        found.append(("co_government", agency.name))
    if norm(agency.name) in member_orgs:
        found.append(("team_member", agency.name))
    if user is not None:
        person = (norm(user.name), norm(user.org.name))
        people = {(norm(m.get("name")), norm(m.get("organisation"))) for m in members}
        if person in people:
            found.append(("team_member", user.name))
        excluded = {
            (norm(e.get("name")), norm(e.get("organisation"))) for e in app.excluded_experts or []
        }
        if person in excluded:
            found.append(("excluded_by_applicant", user.name))
        names = {
            norm(name): oid
            for oid, name in db.session.execute(select(Organisation.id, Organisation.name))
        }
        related = {app.society_id, app.co_government_id} | {
            names[n] for n in member_orgs if n in names
        }
        related.discard(None)
        for relation in _relations(user):
            reason = relation_counts(relation)
            if reason and relation.org_id in related:
                found.append((reason, relation.org.name))
    found.sort(key=lambda r: PRECEDENCE.index(r[0]))
    return found


def _relations(user: User) -> list:
    """The evaluator's declared ties, and their relations in the expert pool if any."""
    rows: list = list(
        db.session.scalars(select(EvaluatorTie).where(EvaluatorTie.user_id == user.id))
    )
    expert = db.session.scalar(select(Expert).where(Expert.user_id == user.id))
    if expert is not None:
        rows += list(
            db.session.scalars(select(ExpertRelation).where(ExpertRelation.expert_id == expert.id))
        )
    return rows


def _record(engagement, project, *, agency, user, ties, stage, actor) -> IndependenceCheck:
    reason, detail = ties[0] if ties else (None, None)
    row = IndependenceCheck(
        engagement_id=engagement.id if engagement is not None else None,
        project_id=project.id,
        subject="agency" if user is None else "evaluator",
        org_id=agency.id,
        user_id=getattr(user, "id", None),
        outcome="tie" if ties else "clear",
        reason=reason,
        detail=detail,
        stage=stage,
        checked_by_id=getattr(actor, "id", None),
        checked_at=clock.now(),
    )
    db.session.add(row)
    return row


def tie_message(reason: str, detail: str | None) -> str:
    """A tie in words, e.g. "与申报单位为同一单位（浙江省机械工程学会）"."""
    label = str(CONFLICT_LABELS.get(reason, reason))
    return f"{label}（{detail}）" if detail else label


def create_engagement(data: dict, *, actor) -> Engagement:
    """The department engages an evaluation agency for a set of projects.

    ``data``: ``agency_id``, ``kind`` (midterm / acceptance / follow_up), ``title``,
    ``scope``, ``due_on`` (a date after today), ``project_ids``, ``evaluator_ids``
    (evaluators of the agency), ``lead_id`` (one of them), optional ``rubric_file``.

    Every check runs before anything is written. The agency and every evaluator are
    checked for independence against every project (``project_ties``): any tie refuses
    the engagement, naming who and why. The performance rubric is pinned (bytes and
    sha256). Effects: the engagement, its members (the lead flagged), one evaluation
    per project (engaged), one kept ``IndependenceCheck`` per (agency or evaluator,
    project), mail asking each evaluator to declare. Audited as
    ``evaluation_engagement.create`` and ``evaluation.engage`` per project.

    Raises ``NotAllowed`` (not an officer), ``ValidationFailed`` (bad data, ties,
    a rubric that is not a performance rubric), ``Conflict`` (a project already under
    a running evaluation).
    """
    require(can_engage(actor))
    agency = db.session.get(Organisation, int(data.get("agency_id") or 0))
    if agency is None or agency.kind != "evaluation_agency":
        raise ValidationFailed(_("请选择第三方评估机构。"), field="agency_id")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValidationFailed(_("请选择评价类型。"), field="kind")
    title = (data.get("title") or "").strip()[:200]
    scope = (data.get("scope") or "").strip()
    if not title:
        raise ValidationFailed(_("请填写委托名称。"), field="title")
    if not scope:
        raise ValidationFailed(_("请填写评价范围与内容。"), field="scope")
    due_on = data.get("due_on")
    if not isinstance(due_on, date) or due_on <= clock.today():
        raise ValidationFailed(_("完成期限须晚于今天。"), field="due_on")
    project_ids = sorted({int(i) for i in data.get("project_ids") or []})
    projects = [db.session.get(Project, i) for i in project_ids]
    if not projects or any(p is None for p in projects):
        raise ValidationFailed(_("请选择被评价的项目。"), field="project_ids")
    for p in projects:
        if str(p.state) in NOT_EVALUABLE:
            raise ValidationFailed(
                _("项目 %(id)s 当前状态不能开展绩效评价。", id=p.id), field="project_ids"
            )
    busy = db.session.scalars(
        select(Evaluation.project_id).where(
            Evaluation.project_id.in_(project_ids), Evaluation.state.in_(LIVE_STATES)
        )
    ).all()
    if busy:
        raise Conflict(
            _("项目 %(ids)s 已有进行中的绩效评价。", ids=", ".join(str(i) for i in sorted(busy)))
        )
    evaluator_ids = sorted({int(i) for i in data.get("evaluator_ids") or []})
    evaluators = [db.session.get(User, i) for i in evaluator_ids]
    if not evaluators or any(
        u is None or not u.has_role("evaluator") or u.org_id != agency.id or not u.is_active
        for u in evaluators
    ):
        raise ValidationFailed(_("评价人员须为该机构的评价人员账号。"), field="evaluator_ids")
    lead_id = int(data.get("lead_id") or 0)
    if lead_id not in evaluator_ids:
        raise ValidationFailed(_("请从评价人员中指定一名牵头人。"), field="lead_id")

    refusals = []
    for p in projects:
        for reason, detail in project_ties(p, agency=agency)[:1]:
            refusals.append(
                _(
                    "评估机构与项目 %(id)s 存在关联：%(why)s",
                    id=p.id,
                    why=tie_message(reason, detail),
                )
            )
        for u in evaluators:
            for reason, detail in project_ties(p, agency=agency, user=u)[:1]:
                refusals.append(
                    _(
                        "评价人员 %(name)s 与项目 %(id)s 存在关联：%(why)s",
                        name=u.name,
                        id=p.id,
                        why=tie_message(reason, detail),
                    )
                )
    if refusals:
        raise ValidationFailed(_("独立性审查未通过，不能委托。"), details=refusals)
    snap = performance_snapshot(data.get("rubric_file") or None)

    engagement = Engagement(
        agency_id=agency.id,
        kind=kind,
        title=title,
        scope=scope,
        due_on=due_on,
        rubric_snapshot_id=snap.id,
        rubric_sha256=snap.sha256,
        created_by_id=actor.id,
    )
    db.session.add(engagement)
    db.session.flush()
    for u in evaluators:
        db.session.add(
            EngagementMember(engagement_id=engagement.id, user_id=u.id, is_lead=u.id == lead_id)
        )
    for p in projects:
        _record(engagement, p, agency=agency, user=None, ties=[], stage="engagement", actor=actor)
        for u in evaluators:
            _record(engagement, p, agency=agency, user=u, ties=[], stage="engagement", actor=actor)
    db.session.flush()
    trail.record(
        "evaluation_engagement.create",
        "evaluation_engagement",
        engagement.id,
        actor=actor,
        after={
            "agency_id": agency.id,
            "kind": kind,
            "due_on": due_on,
            "project_ids": project_ids,
            "evaluator_ids": evaluator_ids,
            "lead_id": lead_id,
            "rubric_snapshot_id": snap.id,
            "rubric_sha256": snap.sha256,
            "independence_checks": len(projects) * (1 + len(evaluators)),
        },
    )
    for p in projects:
        row = Evaluation(engagement_id=engagement.id, project_id=p.id)
        db.session.add(row)
        db.session.flush()
        trail.record(
            "evaluation.engage",
            "evaluation",
            row.id,
            actor=actor,
            after={"state": "engaged", "engagement_id": engagement.id, "project_id": p.id},
        )
    for u in evaluators:
        queue_mail(
            u,
            _("绩效评价委托：%(t)s", t=title),
            _("您被列为本次绩效评价的评价人员。查看项目材料前，请先声明与被评价项目无利益关联。"),
            link=f"/evaluations/engagements/{engagement.id}",
        )
    return engagement


def declare_independence(
    member: EngagementMember, *, actor, statement: str, ties: list[dict] | None = None
) -> EngagementMember:
    """The evaluator declares before seeing anything: no tie with the projects.

    ``ties`` lists relations the evaluator declares (``org_id``, ``kind`` of the review
    relation kinds, optional ``until`` date and ``note``); they are kept and the
    evaluator is checked again against every project of the engagement, each check kept
    (stage ``declaration``). A tie recuses the evaluator, who never gets access; a lead
    who is recused leaves the engagement without a lead until the officer names another.
    Raises ``NotAllowed`` (not this member), ``Conflict`` (already declared or recused),
    ``ValidationFailed`` (no statement, a bad relation). Audited as
    ``evaluation_member.declare`` or ``evaluation_member.recuse``.
    """
    if actor is None or member.user_id != actor.id or not actor.has_role("evaluator"):
        raise NotAllowed(_("只能由评价人员本人声明。"))
    member = lock(EngagementMember, member)
    if member.declared_at is not None or member.recused_at is not None:
        raise Conflict(_("您已作出声明。"))
    statement = (statement or "").strip()
    if not statement:
        raise ValidationFailed(_("请确认独立性声明。"), field="statement")
    for tie in ties or []:
        org = db.session.get(Organisation, int(tie.get("org_id") or 0))
        if org is None or tie.get("kind") not in RELATION_KINDS:
            raise ValidationFailed(_("请完整填写关联单位和关系类型。"), field="ties")
        db.session.add(
            EvaluatorTie(
                user_id=actor.id,
                org_id=org.id,
                kind=tie["kind"],
                until=tie.get("until"),
                note=(tie.get("note") or "").strip()[:300] or None,
                engagement_id=member.engagement_id,
            )
        )
    db.session.flush()
    engagement = member.engagement
    found = []
    for evaluation in engagement.evaluations:
        ties_found = project_ties(evaluation.project, agency=engagement.agency, user=actor)
        _record(
            engagement,
            evaluation.project,
            agency=engagement.agency,
            user=actor,
            ties=ties_found,
            stage="declaration",
            actor=actor,
        )
        found += [(evaluation.project_id, *t) for t in ties_found[:1]]
    now = clock.now()
    if found:
        member.recused_at = now
        member.recusal_reason = "；".join(
            _("项目 %(id)s：%(why)s", id=pid, why=tie_message(r, d)) for pid, r, d in found
        )
        member.is_lead = False
        action = "evaluation_member.recuse"
    else:
        member.declared_at = now
        member.declaration = statement
        action = "evaluation_member.declare"
    db.session.flush()
    trail.record(
        action,
        "evaluation_member",
        member.id,
        actor=actor,
        after={
            "engagement_id": engagement.id,
            "user_id": actor.id,
            "ties": [{"project_id": pid, "reason": r} for pid, r, _d in found],
        },
    )
    return member


def set_lead(engagement: Engagement, member: EngagementMember, *, actor) -> Engagement:
    """The officer names the engagement's lead evaluator (a flag on the membership).

    Raises ``NotAllowed`` (not an officer), ``ValidationFailed`` (not a member of this
    engagement, or recused). Audited as ``evaluation_engagement.set_lead``.
    """
    require(can_engage(actor))
    if member.engagement_id != engagement.id or member.recused_at is not None:
        raise ValidationFailed(_("牵头人须为本次委托中未回避的评价人员。"), field="lead_id")
    previous = engagement.lead
    if previous is not None and previous.id != member.id:
        previous.is_lead = False
        db.session.flush()  # the one-lead index is checked row by row
    member.is_lead = True
    db.session.flush()
    trail.record(
        "evaluation_engagement.set_lead",
        "evaluation_engagement",
        engagement.id,
        actor=actor,
        before={"lead_member_id": getattr(previous, "id", None)},
        after={"lead_member_id": member.id, "user_id": member.user_id},
    )
    return engagement


# Evaluations whose agency work is still open: evaluators may join or leave.
OPEN_STATES = ("engaged", "self_evaluating", "evaluating")


def _has_started(member: EngagementMember) -> bool:
    """Whether the evaluator has done any work: a score, a veto, a problem or a file."""
    ids = [e.id for e in member.engagement.evaluations]
    if not ids:
        return False
    checks = (
        select(EvaluationScore.id).where(
            EvaluationScore.evaluation_id.in_(ids),
            EvaluationScore.sheet == "agency",
            EvaluationScore.scored_by_id == member.user_id,
        ),
        select(EvaluationVeto.id).where(
            EvaluationVeto.evaluation_id.in_(ids), EvaluationVeto.raised_by_id == member.user_id
        ),
        select(RectificationItem.id).where(
            RectificationItem.evaluation_id.in_(ids),
            RectificationItem.created_by_id == member.user_id,
        ),
        select(StoredFile.id).where(
            StoredFile.owner_type == "evaluation",
            StoredFile.owner_id.in_(ids),
            StoredFile.uploaded_by_id == member.user_id,
        ),
    )
    return any(db.session.scalar(stmt.limit(1)) is not None for stmt in checks)


def add_evaluators(engagement: Engagement, user_ids: list[int], *, actor) -> list[EngagementMember]:
    """The officer adds evaluators of the agency to an engagement already made.

    Each must be an active evaluator account of the engagement's agency and not yet a
    member. Every one is checked for independence against every project of the
    engagement (``project_ties``) before anything is written: any tie refuses them all,
    naming who and why. The new members are not the lead and see nothing until they
    declare (``declare_independence``). Effects: the memberships, one kept
    ``IndependenceCheck`` per (evaluator, project), mail asking each to declare.
    Audited as ``evaluation_member.add`` per evaluator.

    Raises ``NotAllowed`` (not an officer), ``Conflict`` (every evaluation of the
    engagement already submitted), ``ValidationFailed`` (no one chosen, not an
    evaluator of the agency, already a member, a tie).
    """
    require(can_engage(actor))
    engagement = lock(Engagement, engagement)
    if not any(str(e.state) in OPEN_STATES for e in engagement.evaluations):
        raise Conflict(_("本次委托的评价均已提交，不能再增加评价人员。"))
    ids = sorted({int(i) for i in user_ids or []})
    if not ids:
        raise ValidationFailed(_("请选择要增加的评价人员。"), field="evaluator_ids")
    members = {m.user_id for m in engagement.members}
    users = [db.session.get(User, i) for i in ids]
    if any(
        u is None
        or not u.has_role("evaluator")
        or u.org_id != engagement.agency_id
        or not u.is_active
        for u in users
    ):
        raise ValidationFailed(_("评价人员须为该机构的评价人员账号。"), field="evaluator_ids")
    already = [u.name for u in users if u.id in members]
    if already:
        raise ValidationFailed(
            _("%(names)s 已是本次委托的评价人员。", names="、".join(already)),
            field="evaluator_ids",
        )
    refusals = []
    for evaluation in engagement.evaluations:
        for u in users:
            for reason, detail in project_ties(
                evaluation.project, agency=engagement.agency, user=u
            )[:1]:
                refusals.append(
                    _(
                        "评价人员 %(name)s 与项目 %(id)s 存在关联：%(why)s",
                        name=u.name,
                        id=evaluation.project_id,
                        why=tie_message(reason, detail),
                    )
                )
    if refusals:
        raise ValidationFailed(_("独立性审查未通过，不能增加。"), details=refusals)
    added = []
    for u in users:
        member = EngagementMember(engagement_id=engagement.id, user_id=u.id, is_lead=False)
        db.session.add(member)
        for evaluation in engagement.evaluations:
            _record(
                engagement,
                evaluation.project,
                agency=engagement.agency,
                user=u,
                ties=[],
                stage="engagement",
                actor=actor,
            )
        db.session.flush()
        added.append(member)
        trail.record(
            "evaluation_member.add",
            "evaluation_member",
            member.id,
            actor=actor,
            after={
                "engagement_id": engagement.id,
                "user_id": u.id,
                "independence_checks": len(engagement.evaluations),
            },
        )
        queue_mail(
            u,
            _("绩效评价委托：%(t)s", t=engagement.title),
            _("您被列为本次绩效评价的评价人员。查看项目材料前，请先声明与被评价项目无利益关联。"),
            link=f"/evaluations/engagements/{engagement.id}",
        )
    db.session.expire(engagement, ["members"])
    return added


def remove_evaluator(member: EngagementMember, reason: str, *, actor) -> None:
    """The officer takes an evaluator who has not started off the engagement.

    Not the lead (name another lead first), and only while nothing of theirs is on
    record (no agency score, veto, problem or file). The membership is deleted; the
    independence checks and declared ties stay as they were. Raises ``NotAllowed``
    (not an officer), ``ValidationFailed`` (no reason, the lead, work already done).
    Audited as ``evaluation_member.remove`` with the reason and the member as it was.
    """
    require(can_engage(actor))
    member = lock(EngagementMember, member)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请说明移除原因。"), field="reason")
    if member.is_lead:
        raise ValidationFailed(_("不能移除牵头人，请先指定其他牵头人。"))
    if _has_started(member):
        raise ValidationFailed(
            _("%(name)s 已开始评价（已有评分、问题或材料），不能移除。", name=member.user.name)
        )
    engagement = member.engagement
    trail.record(
        "evaluation_member.remove",
        "evaluation_member",
        member.id,
        actor=actor,
        reason=reason,
        before={
            "engagement_id": engagement.id,
            "user_id": member.user_id,
            "declared_at": member.declared_at,
            "recused_at": member.recused_at,
        },
    )
    db.session.delete(member)
    db.session.flush()
    db.session.expire(engagement, ["members"])
