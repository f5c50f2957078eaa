"""An evaluation's course: self-evaluation, site notes and files, the problem list,
submission with total and grade, the department's acceptance or return."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.notify import org_users
from app.audit import trail
from app.core import clock
from app.core.errors import DomainError, ValidationFailed
from app.core.files import store_upload
from app.core.models import StoredFile
from app.core.outbox import queue_mail
from app.evaluation.models import Evaluation, RectificationItem
from app.evaluation.operations.common import (
    capped_grade,
    format_rate,
    grade_of,
    indicator_values,
    lock,
    require,
    rubric_for,
)
from app.evaluation.operations.sheets import evaluation_vetoes, sheet_problems, sheet_total
from app.evaluation.permissions import can_score
from app.evaluation.states import EVALUATION_WORKFLOW, FAILING_GRADES, FOLLOW_UPS, GRADE_ZH
from app.extensions import db
from app.projects.models import Project


def request_self_evaluation(evaluation: Evaluation, *, actor) -> Evaluation:
    """The officer asks the project's society for its self-evaluation (→ self_evaluating).

    Raises ``NotAllowed``, ``InvalidTransition``. Audited as
    ``evaluation.request_self_evaluation``; the society's staff are notified.
    """
    evaluation = lock(Evaluation, evaluation)
    EVALUATION_WORKFLOW.apply(evaluation, "request_self_evaluation", actor=actor)
    for user in org_users(evaluation.project.society_id):
        queue_mail(
            user,
            _("请填写绩效自评表"),
            _("项目 %(id)s 的第三方绩效评价已启动，请先完成绩效自评。", id=evaluation.project_id),
            link=f"/evaluations/{evaluation.id}",
        )
    return evaluation


def submit_self_evaluation(evaluation: Evaluation, *, actor) -> Evaluation:
    """The society hands in its self-evaluation (→ evaluating); the third party scores next.

    Every required criterion must be scored (``ValidationFailed`` listing what is
    missing). Stores the self total. Raises ``NotAllowed``, ``InvalidTransition``.
    Audited as ``evaluation.submit_self_evaluation`` with the total.
    """
    evaluation = lock(Evaluation, evaluation)
    decision = EVALUATION_WORKFLOW.can(evaluation, "submit_self_evaluation", actor)
    if decision and (problems := sheet_problems(evaluation, "self")):
        raise ValidationFailed(_("自评表尚未填写完整。"), details=problems)
    total = sheet_total(evaluation, "self")
    with db.session.no_autoflush:  # the row is consistent again once the state is set
        evaluation.self_total = None if total is None else str(total)
        evaluation.self_submitted_at = clock.now()
        evaluation.self_submitted_by_id = getattr(actor, "id", None)
        EVALUATION_WORKFLOW.apply(
            evaluation,
            "submit_self_evaluation",
            actor=actor,
            after={"self_total": evaluation.self_total},
        )
    return evaluation


def save_notes(evaluation: Evaluation, site_notes: str, summary: str, *, actor) -> Evaluation:
    """An evaluator records the site-check notes and the overall findings.

    Raises ``NotAllowed`` outside evaluating or for someone not engaged. Audited as
    ``evaluation.save_notes`` (lengths only: the text stays in the record).
    """
    require(can_score(actor, evaluation))
    evaluation = lock(Evaluation, evaluation)
    evaluation.site_notes = (site_notes or "").strip()
    evaluation.summary = (summary or "").strip()
    trail.record(
        "evaluation.save_notes",
        "evaluation",
        evaluation.id,
        actor=actor,
        after={
            "site_notes_chars": len(evaluation.site_notes),
            "summary_chars": len(evaluation.summary),
        },
    )
    return evaluation


def add_file(evaluation: Evaluation, stream, filename: str, *, actor) -> StoredFile:
    """An evaluator uploads a file (site photos, working papers, the signed report).

    Raises ``NotAllowed``, ``ValidationFailed`` (type, size). Audited as
    ``evaluation.add_file`` with the file's digest.
    """
    require(can_score(actor, evaluation))
    row = store_upload(
        stream, filename, kind="any", owner_type="evaluation", owner_id=evaluation.id, actor=actor
    )
    trail.record(
        "evaluation.add_file",
        "evaluation",
        evaluation.id,
        actor=actor,
        after={"file_id": row.id, "sha256": row.sha256, "size": row.size},
    )
    return row


def files_of(owner_type: str, owner_id: int) -> list[StoredFile]:
    """Files uploaded for an evaluation or a rectification item, oldest first."""
    return list(
        db.session.scalars(
            select(StoredFile)
            .where(StoredFile.owner_type == owner_type, StoredFile.owner_id == owner_id)
            .order_by(StoredFile.id)
        )
    )


def add_problem(
    evaluation: Evaluation, problem: str, requirement: str, deadline: date, *, actor
) -> RectificationItem:
    """An evaluator adds a problem with its rectification deadline to the problem list.

    Raises ``NotAllowed`` outside evaluating, ``ValidationFailed`` (no text, a
    deadline not after today). Audited as ``rectification.create``.
    """
    require(can_score(actor, evaluation))
    problem = (problem or "").strip()
    if not problem:
        raise ValidationFailed(_("请填写发现的问题。"), field="problem")
    if not isinstance(deadline, date) or deadline <= clock.today():
        raise ValidationFailed(_("整改期限须晚于今天。"), field="deadline")
    seq = (
        db.session.scalar(
            select(func.max(RectificationItem.seq)).where(
                RectificationItem.evaluation_id == evaluation.id
            )
        )
        or 0
    ) + 1
    item = RectificationItem(
        evaluation_id=evaluation.id,
        project_id=evaluation.project_id,
        seq=seq,
        problem=problem,
        requirement=(requirement or "").strip(),
        deadline=deadline,
        created_by_id=actor.id,
    )
    db.session.add(item)
    db.session.flush()
    db.session.expire(evaluation, ["items"])
    trail.record(
        "rectification.create",
        "rectification",
        item.id,
        actor=actor,
        after={"state": "open", "evaluation_id": evaluation.id, "seq": seq, "deadline": deadline},
    )
    return item


def remove_problem(item: RectificationItem, *, actor) -> None:
    """Take a problem off the list while the evaluation is still being done.

    Raises ``NotAllowed``. Audited as ``rectification.remove``.
    """
    require(can_score(actor, item.evaluation))
    evaluation = item.evaluation
    trail.record(
        "rectification.remove",
        "rectification",
        item.id,
        actor=actor,
        before={"state": str(item.state), "evaluation_id": evaluation.id, "seq": item.seq},
    )
    db.session.delete(item)
    db.session.flush()
    db.session.expire(evaluation, ["items"])


def submit_evaluation(evaluation: Evaluation, *, actor) -> Evaluation:
    """The lead evaluator submits the evaluation with its total, grade and problem list.

    Every required criterion of the agency sheet must be scored within its range
    (``ValidationFailed`` listing what is missing or wrong). The total is the rubric's
    weighted total (rounded half-up to 2 decimals); the grade is the rubric's band
    (优 ≥90, 良 80–89, 中 60–79, 差 <60). A raised veto item caps the grade at the
    rubric's lowest band (差); the band's own grade is kept as ``grade_before_veto``.
    The computed indicators shown as evidence are kept with it. Raises ``NotAllowed``
    (not the lead), ``InvalidTransition``. Audited as ``evaluation.submit`` with total,
    grade, the raised vetoes and the evidence.
    """
    evaluation = lock(Evaluation, evaluation)
    decision = EVALUATION_WORKFLOW.can(evaluation, "submit", actor)
    if decision and (problems := sheet_problems(evaluation, "agency")):
        raise ValidationFailed(_("评分表尚未填写完整，不能提交。"), details=problems)
    rubric = rubric_for(evaluation)
    total = sheet_total(evaluation, "agency")
    if decision and total is None:
        raise ValidationFailed(_("评分表尚未填写完整，不能提交。"))
    evidence = {k: format_rate(v) for k, v in indicator_values(evaluation.project).items()}
    problems = len(evaluation.items)
    vetoes = evaluation_vetoes(evaluation)
    with db.session.no_autoflush:  # the row is consistent again once the state is set
        if decision:
            band_grade = grade_of(rubric, total)
            evaluation.total = str(total)
            evaluation.grade = capped_grade(rubric, band_grade, bool(vetoes))
            evaluation.grade_before_veto = band_grade if vetoes else None
            evaluation.evidence = evidence
            evaluation.submitted_at = clock.now()
            evaluation.submitted_by_id = actor.id
        EVALUATION_WORKFLOW.apply(
            evaluation,
            "submit",
            actor=actor,
            after={
                "total": evaluation.total,
                "grade": evaluation.grade,
                "grade_before_veto": evaluation.grade_before_veto,
                "vetoes": sorted(vetoes),
                "evidence": evidence,
                "problems": problems,
            },
        )
    return evaluation


def accept_evaluation(
    evaluation: Evaluation, *, actor, follow_up: str | None = None, reason: str | None = None
) -> Evaluation:
    """The department accepts the evaluation: its grade becomes the project's latest grade.

    ``follow_up`` (``rectify`` or ``suspend``) is for a failing grade (差) only: the
    project is moved to rectifying / suspended through the projects module's operation
    when it offers one for the project's current state; otherwise the recommendation is
    recorded (``follow_up_applied`` False) for the projects workflow to act on. The
    society is told its grade and its problem list. Raises ``NotAllowed``,
    ``InvalidTransition``, ``ValidationFailed`` (a follow-up for a passing grade).
    Audited as ``evaluation.accept`` (and the project's own transition event).
    """
    evaluation = lock(Evaluation, evaluation)
    follow_up = None if follow_up in (None, "", "none") else follow_up
    if follow_up is not None:
        if follow_up not in FOLLOW_UPS:
            raise ValidationFailed(_("未知的后续措施。"), field="follow_up")
        if evaluation.grade not in FAILING_GRADES:
            raise ValidationFailed(
                _("只有评价等级为“差”的项目可以要求整改或暂停。"), field="follow_up"
            )
    decision = EVALUATION_WORKFLOW.can(evaluation, "accept", actor)
    with db.session.no_autoflush:  # the row is consistent again once the state is set
        if decision:
            evaluation.decided_at = clock.now()
            evaluation.decided_by_id = actor.id
            evaluation.decision_reason = (reason or "").strip() or None
            evaluation.follow_up = follow_up
            evaluation.follow_up_applied = None if follow_up is None else False
        EVALUATION_WORKFLOW.apply(
            evaluation,
            "accept",
            actor=actor,
            reason=evaluation.decision_reason,
            after={
                "project_id": evaluation.project_id,
                "total": evaluation.total,
                "grade": evaluation.grade,
                "follow_up": follow_up,
            },
        )
    if follow_up is not None:
        evaluation.follow_up_applied = apply_follow_up(
            evaluation.project, follow_up, actor=actor, evaluation=evaluation
        )
    for user in org_users(evaluation.project.society_id):
        queue_mail(
            user,
            _("绩效评价结果：%(g)s", g=GRADE_ZH[evaluation.grade]),
            _(
                "项目 %(id)s 的绩效评价得分 %(t)s，等级“%(g)s”；问题清单共 %(n)s 项，请按期整改。",
                id=evaluation.project_id,
                t=evaluation.total,
                g=GRADE_ZH[evaluation.grade],
                n=len(evaluation.items),
            ),
            link=f"/evaluations/{evaluation.id}",
        )
    return evaluation


def apply_follow_up(project: Project, follow_up: str, *, actor, evaluation) -> bool:
    """Ask the projects workflow to act on a failing grade; returns whether it did.

    ``rectify``: the project's mid-term check records the outcome "rectify" with the
    evaluation's problem list and latest deadline (a mid-term engagement of a running
    project opens the check first) → rectifying. ``suspend``: a suspension is proposed
    for the approver to decide (four-eyes; approved, it suspends and withholds tranches).
    Both are the projects module's own operations and need an officer; when the actor is
    not one, or the project's state offers no such move, nothing is done there and the
    recommendation stays recorded on the evaluation (``follow_up_applied`` False).
    Audited here as ``evaluation.follow_up`` (the projects module audits its own moves).
    """
    reason = _(
        "第三方绩效评价（编号 %(id)s）得分 %(t)s，等级为“差”。",
        id=evaluation.id,
        t=evaluation.total,
    )
    try:
        with db.session.begin_nested():
            done = _project_follow_up(
                project, follow_up, actor=actor, evaluation=evaluation, reason=reason
            )
    except DomainError:
        done = False
    trail.record(
        "evaluation.follow_up",
        "evaluation",
        evaluation.id,
        actor=actor,
        after={"project_id": project.id, "follow_up": follow_up, "applied": done},
    )
    return done


def _project_follow_up(project: Project, follow_up: str, *, actor, evaluation, reason) -> bool:
    try:
        projects = importlib.import_module("app.projects.operations")
        workflow = importlib.import_module("app.projects.states").PROJECT_WORKFLOW
    except (ImportError, AttributeError):
        return False
    if actor is None or not actor.has_role("officer"):
        return False
    if follow_up == "suspend":
        propose = getattr(projects, "propose_decision", None)
        if propose is None or str(project.state) not in workflow.transitions["suspend"].sources:
            return False
        propose(project, "suspend", reason, actor=actor)
        return True
    begin, record = (
        getattr(projects, "begin_midterm", None),
        getattr(projects, "record_midterm", None),
    )
    if begin is None or record is None:
        return False
    if str(project.state) == "in_progress" and evaluation.engagement.kind == "midterm":
        begin(project, actor=actor)
    if str(project.state) != "midterm":
        return False
    deadlines = [i.deadline for i in evaluation.items]
    rectify_by = max(deadlines) if deadlines else clock.today() + timedelta(days=90)
    items = "\n".join(f"{i.seq}. {i.problem}" for i in evaluation.items) or reason
    record(
        project,
        "rectify",
        {
            "findings": reason,
            "rectify_by": rectify_by,
            "rectify_items": items,
            "evaluation_note": _("见第三方绩效评价报告（编号 %(id)s）。", id=evaluation.id),
        },
        actor=actor,
    )
    return True


def return_evaluation(evaluation: Evaluation, reason: str, *, actor) -> Evaluation:
    """The department returns the evaluation (→ returned) with its reasons.

    A returned evaluation is final; the department engages again if it needs another.
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (no reason).
    Audited as ``evaluation.return``.
    """
    evaluation = lock(Evaluation, evaluation)
    reason = (reason or "").strip()
    decision = EVALUATION_WORKFLOW.can(evaluation, "return", actor)
    with db.session.no_autoflush:  # the row is consistent again once the state is set
        if decision and reason:
            evaluation.decided_at = clock.now()
            evaluation.decided_by_id = actor.id
            evaluation.decision_reason = reason
        EVALUATION_WORKFLOW.apply(
            evaluation,
            "return",
            actor=actor,
            reason=reason,
            after={"project_id": evaluation.project_id},
        )
    return evaluation


def latest_grade(project) -> str | None:
    """The grade code of the project's latest accepted evaluation (None if none yet)."""
    project_id = getattr(project, "id", project)
    return db.session.scalar(
        select(Evaluation.grade)
        .where(Evaluation.project_id == project_id, Evaluation.state == "accepted")
        .order_by(Evaluation.decided_at.desc(), Evaluation.id.desc())
        .limit(1)
    )
