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
    RECONSIDERATION_WORKFLOW,
)
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
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


def decide_reconsideration(row: Reconsideration, overturn: bool, reason: str, *, actor):
    """The approver decides: 维持原决定 (upheld) or 改变原决定 (overturned).

    Overturned: the not-funded decision is set aside and the application goes
    back to the decision (reviewed), where the officer proposes an award as
    usual (approval, notice). The society is told either way.
    Raises ``NotAllowed`` (not an approver, or the officer who screened it),
    ``InvalidTransition``, ``ValidationFailed``. Audited as
    ``reconsideration.uphold`` / ``reconsideration.overturn`` (and ``application.reconsider``).
    """
    row = lock(Reconsideration, row)
    action = "overturn" if overturn else "uphold"
    require(RECONSIDERATION_WORKFLOW.can(row, action, actor))
    if row.screened_by_id == actor.id:
        raise NotAllowed(_("受理复审申请的人员不能作出复审决定（双人复核）。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写复审决定理由。"), field="reason")
    now = clock.now()
    row.decided_by_id, row.decided_at, row.decision_reason = actor.id, now, reason
    RECONSIDERATION_WORKFLOW.apply(
        row,
        action,
        actor=actor,
        reason=reason,
        after={"overdue": now > clock.as_utc(row.decide_by)},
    )
    app = row.application
    if overturn:
        standing = db.session.scalar(
            select(NotFundedDecision).where(
                NotFundedDecision.application_id == app.id,
                NotFundedDecision.overturned_at.is_(None),
            )
        )
        if standing is not None:
            standing.overturned_at = now
        reopen_application(app, actor=actor, reason=reason)
        body = _("经复审，改变原决定，“%(t)s”将重新拟定立项。理由：%(r)s", t=app.title, r=reason)
    else:
        body = _("经复审，维持原决定。理由：%(r)s", r=reason)
    notify_society(
        app.society_id,
        _("复审决定：%(t)s", t=app.title),
        body,
        link=f"/awards/applications/{app.id}/outcome",
    )
    return row
