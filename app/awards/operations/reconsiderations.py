"""Reconsideration (复审) of a not-funded decision: filed by the society, screened by
the officer, decided by the approver."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.applications.models import Application
from app.audit import trail
from app.awards.models import Award, NotFundedDecision, Reconsideration
from app.awards.operations.common import days, lock, notify_society, reopen_application, require
from app.awards.permissions import can_request_reconsideration
from app.awards.states import (
    GROUND_LABELS,
    OPEN_RECONSIDERATION_STATES,
    RECONSIDERATION_OUTCOMES,
    RECONSIDERATION_WORKFLOW,
)
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.money import format_yuan
from app.extensions import db


def outcome_at(app: Application):
    """When the society was told the application is not funded (published decision or
    revocation), or None."""
    published = db.session.scalar(
        select(NotFundedDecision.published_at)
        .where(
            NotFundedDecision.application_id == app.id,
            NotFundedDecision.overturned_at.is_(None),
            NotFundedDecision.published_at.is_not(None),
        )
        .order_by(NotFundedDecision.id.desc())
    )
    revoked = db.session.scalar(
        select(Award.revoked_at)
        .where(Award.application_id == app.id, Award.state == "revoked")
        .order_by(Award.id.desc())
    )
    times = [clock.as_utc(t) for t in (published, revoked) if t is not None]
    return max(times) if times else None


def file_reconsideration(app: Application, ground: str, grounds: str, *, actor) -> Reconsideration:
    """The society asks for reconsideration of its not-funded decision, stating grounds.

    ``ground``: one of ``GROUND_LABELS``. Allowed within
    ``RECONSIDERATION_FILE_DAYS`` (15) of the outcome; a later request is
    recorded and at once not accepted, with the reason. One request at a time.
    Raises ``NotAllowed``, ``ValidationFailed``, ``Conflict``.
    Audited as ``reconsideration.submit`` (and ``reconsideration.not_accept``).
    """
    require(can_request_reconsideration(actor, app))
    if ground not in GROUND_LABELS:
        raise ValidationFailed(_("请选择复审理由类型。"), field="ground")
    grounds = (grounds or "").strip()[:5000]
    if not grounds:
        raise ValidationFailed(_("请写明申请复审的事实和理由。"), field="grounds")
    told = outcome_at(app)
    if told is None:
        raise NotAllowed(_("未立项结果尚未公布，不能申请复审。"))
    if db.session.scalar(
        select(Reconsideration.id).where(
            Reconsideration.application_id == app.id,
            Reconsideration.state.in_((*OPEN_RECONSIDERATION_STATES, "upheld", "overturned")),
            Reconsideration.filed_at >= told,
        )
    ):
        raise Conflict(_("该申报已提出过复审申请。"))
    now = clock.now()
    row = Reconsideration(
        application_id=app.id,
        call_id=app.call_id,
        ground=ground,
        grounds=grounds,
        filed_by_id=actor.id,
        filed_at=now,
        file_by=told + days("RECONSIDERATION_FILE_DAYS", 15),
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "reconsideration.submit",
        "reconsideration",
        row.id,
        actor=actor,
        after={
            "state": "submitted",
            "application_id": app.id,
            "ground": ground,
            "file_by": row.file_by,
        },
    )
    if now > clock.as_utc(row.file_by):
        reason = _(
            "复审申请应在收到结果之日起 %(n)s 日内提出，本申请已超过期限，不予受理。",
            n=days("RECONSIDERATION_FILE_DAYS", 15).days,
        )
        row.screened_at, row.screen_reason = now, reason
        RECONSIDERATION_WORKFLOW.apply(row, "not_accept", reason=reason, system=True, role="system")
        notify_society(app.society_id, _("复审申请不予受理"), reason)
    return row


def screening_refusal(row: Reconsideration) -> str | None:
    """Why a request cannot be accepted (late, or only academic judgement), or None."""
    if clock.as_utc(row.filed_at) > clock.as_utc(row.file_by):
        return _("复审申请超过期限，不予受理。")
    if row.ground == "academic":
        return _("对评审专家学术判断有不同意见，不属于复审范围，不予受理。")
    return None


def screen_reconsideration(row: Reconsideration, accept: bool, *, actor, reason=None):
    """The officer accepts a request for review by the approver, or does not accept it.

    Accepted ones must be decided within ``RECONSIDERATION_DECIDE_DAYS`` (60).
    Raises ``NotAllowed`` (late or academic-only can't be accepted),
    ``InvalidTransition``, ``ValidationFailed``. Audited as
    ``reconsideration.accept`` / ``reconsideration.not_accept``; the society is told.
    """
    row = lock(Reconsideration, row)
    action = "accept" if accept else "not_accept"
    require(RECONSIDERATION_WORKFLOW.can(row, action, actor))
    now = clock.now()
    if accept:
        refusal = screening_refusal(row)
        if refusal:
            raise NotAllowed(refusal)
        row.screened_by_id, row.screened_at = actor.id, now
        row.decide_by = now + days("RECONSIDERATION_DECIDE_DAYS", 60)
        RECONSIDERATION_WORKFLOW.apply(
            row, "accept", actor=actor, after={"decide_by": row.decide_by}
        )
    else:
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed(_("请填写不予受理的理由。"), field="reason")
        row.screened_by_id, row.screened_at, row.screen_reason = actor.id, now, reason
        RECONSIDERATION_WORKFLOW.apply(row, "not_accept", actor=actor, reason=reason)
        notify_society(row.application.society_id, _("复审申请不予受理"), reason)
    return row


def decide_reconsideration(
    row: Reconsideration,
    overturn: bool,
    reason: str,
    *,
    actor,
    outcome: str = "decision",
    amount_fen: int | None = None,
):
    """The approver decides: 维持原决定 (upheld) or 改变原决定 (overturned).

    Overturned, the not-funded decision is set aside and ``outcome`` says where
    the application goes (``RECONSIDERATION_OUTCOMES``):

    - ``decision``: back to the decision (reviewed), where the officer proposes
      an award as usual (approval, notice);
    - ``review``: back to review (in_review); the experts' submitted score sheets
      of this application are reopened for them to score again, and the round
      ends as usual (reviewed → decision);
    - ``award``: straight to a proposed award of ``amount_fen`` (≤ requested,
      ≤ the call's cap) proposed by the deciding approver — so another approver
      approves it (four-eyes) before the officer publishes it in a new notice.

    The outcome is recorded on the request and sent to the society either way.
    Raises ``NotAllowed`` (not an approver, or the officer who screened it),
    ``InvalidTransition``, ``ValidationFailed`` (no reason, unknown outcome, bad
    amount; nothing is written). Audited as ``reconsideration.uphold`` /
    ``reconsideration.overturn`` with the outcome (and ``application.reconsider`` /
    ``application.rereview``, ``review_assignment.reopen``, ``award.propose``).
    """
    from app.awards.operations.decisions import _check_amount, create_award

    row = lock(Reconsideration, row)
    action = "overturn" if overturn else "uphold"
    require(RECONSIDERATION_WORKFLOW.can(row, action, actor))
    if row.screened_by_id == actor.id:
        raise NotAllowed(_("受理复审申请的人员不能作出复审决定（双人复核）。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写复审决定理由。"), field="reason")
    app = row.application
    if overturn:
        if outcome not in RECONSIDERATION_OUTCOMES:
            raise ValidationFailed(_("请选择改变原决定后的处理方式。"), field="outcome")
        if outcome == "award":
            amount_fen = _check_amount(app, amount_fen)
    now = clock.now()
    row.decided_by_id, row.decided_at, row.decision_reason = actor.id, now, reason
    row.outcome = outcome if overturn else None
    after = {"overdue": now > clock.as_utc(row.decide_by)}
    if overturn:
        after["outcome"] = outcome
    RECONSIDERATION_WORKFLOW.apply(row, action, actor=actor, reason=reason, after=after)
    if overturn:
        standing = db.session.scalar(
            select(NotFundedDecision).where(
                NotFundedDecision.application_id == app.id,
                NotFundedDecision.overturned_at.is_(None),
            )
        )
        if standing is not None:
            standing.overturned_at = now
        if outcome == "review":
            reopen_application(app, actor=actor, reason=reason, action="rereview")
            _reopen_sheets(app, reason, actor)
            body = _(
                "经复审，改变原决定，“%(t)s”退回重新评审，评审完成后重新拟定立项。理由：%(r)s",
                t=app.title,
                r=reason,
            )
        elif outcome == "award":
            reopen_application(app, actor=actor, reason=reason)
            award = create_award(app, amount_fen, reason, actor=actor)
            body = _(
                "经复审，改变原决定，“%(t)s”拟立项，金额 %(a)s 元，经审批后公示。理由：%(r)s",
                t=app.title,
                a=format_yuan(award.amount_fen),
                r=reason,
            )
        else:
            reopen_application(app, actor=actor, reason=reason)
            body = _(
                "经复审，改变原决定，“%(t)s”将重新拟定立项。理由：%(r)s", t=app.title, r=reason
            )
    else:
        body = _("经复审，维持原决定。理由：%(r)s", r=reason)
    notify_society(
        app.society_id,
        _("复审决定：%(t)s", t=app.title),
        body,
        link=f"/awards/applications/{app.id}/outcome",
    )
    return row


def _reopen_sheets(app: Application, reason: str, actor) -> int:
    """Reopen the application's submitted score sheets for re-review (a cascade of the
    approver's decision, audited as ``review_assignment.reopen``)."""
    from app.reviews.models import ReviewAssignment
    from app.reviews.states import ASSIGNMENT_WORKFLOW

    rows = db.session.scalars(
        select(ReviewAssignment)
        .where(ReviewAssignment.application_id == app.id, ReviewAssignment.state == "submitted")
        .order_by(ReviewAssignment.id)
        .with_for_update(of=ReviewAssignment)
    ).all()
    for assignment in rows:
        total = assignment.total
        assignment.submitted_at = None
        assignment.reopen_count = (assignment.reopen_count or 0) + 1
        ASSIGNMENT_WORKFLOW.apply(
            assignment,
            "reopen",
            actor=actor,
            reason=reason,
            system=True,
            after={
                "previous_total": total,
                "reopen_count": assignment.reopen_count,
                "reconsideration": True,
            },
        )
    db.session.flush()
    return len(rows)
