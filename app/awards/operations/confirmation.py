"""Objections during the notice, confirmation after it, and settling the call."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.applications.operations import advance_application
from app.audit import trail
from app.awards.models import Award, AwardNotice, Objection
from app.awards.operations.common import lock, notify_society, require
from app.awards.permissions import can_propose
from app.awards.states import AWARD_WORKFLOW, OBJECTION_WORKFLOW, OPEN_OBJECTION_STATES
from app.calls.models import Call
from app.calls.states import CALL_WORKFLOW
from app.core import clock
from app.core.errors import InvalidTransition, NotAllowed, NotFound, ValidationFailed
from app.core.permissions import ALLOW, deny
from app.core.tick import on_tick
from app.extensions import db
from app.ledger import operations as ledger
from app.projects.models import Project

MAX_TEXT = 5000


def _clean(value, limit: int) -> str:
    return (value or "").strip()[:limit]


def file_objection(award: Award, data: dict) -> Objection:
    """Receive an objection (异议) to a noticed award from the public.

    ``data``: ``name``, ``organisation``, ``contact``, ``grounds``. The objection
    is always recorded; one filed after the notice period, or without a real
    name and contact (or an organisation), is at once not accepted, with the
    reason. The contact never enters the audit trail.
    Raises ``NotFound`` (award not in a notice), ``ValidationFailed`` (no grounds).
    Audited as ``objection.receive`` (and ``objection.not_accept``).
    """
    if award.notice_id is None:
        raise NotFound(_("该项目不在公示中。"))
    grounds = _clean(data.get("grounds"), MAX_TEXT)
    if not grounds:
        raise ValidationFailed(_("请填写异议的事实和理由。"), field="grounds")
    row = Objection(
        award_id=award.id,
        objector_name=_clean(data.get("name"), 100),
        objector_org=_clean(data.get("organisation"), 200),
        contact=_clean(data.get("contact"), 200),
        grounds=grounds,
        received_at=clock.now(),
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "objection.receive",
        "objection",
        row.id,
        role="public",
        after={
            "state": "received",
            "award_id": award.id,
            "identified": row.is_identified,
            "by_organisation": bool(row.objector_org),
        },
    )
    reason = screening_refusal(row)
    if reason:
        row.screened_at, row.reason = clock.now(), reason
        OBJECTION_WORKFLOW.apply(row, "not_accept", reason=reason, system=True, role="system")
    return row


def screening_refusal(row: Objection) -> str | None:
    """Why an objection cannot be accepted (late or anonymous), or None."""
    notice = db.session.get(AwardNotice, row.award.notice_id)
    if clock.as_utc(row.received_at) >= clock.as_utc(notice.ends_at):
        return _("异议在公示期（至 %(d)s）结束后提出，不予受理。", d=notice.last_day.isoformat())
    if not row.is_identified:
        return _("匿名异议不予受理：个人须署真实姓名并留联系方式，单位须署单位名称并加盖公章。")
    return None


def screen_objection(row: Objection, accept: bool, *, actor, reason: str | None = None):
    """The officer accepts an objection for handling, or does not accept it (with reason).

    Accepting puts the award under objection (in_notice → objection); late or
    anonymous objections can never be accepted.
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed``.
    Audited as ``objection.accept`` / ``objection.not_accept`` (and ``award.object``).
    """
    row = lock(Objection, row)
    if accept:
        refusal = screening_refusal(row)
        if refusal:
            raise NotAllowed(refusal)
        require(OBJECTION_WORKFLOW.can(row, "accept", actor))
        row.screened_by_id, row.screened_at = actor.id, clock.now()
        OBJECTION_WORKFLOW.apply(row, "accept", actor=actor)
        award = lock(Award, row.award)
        if award.state == "in_notice":
            AWARD_WORKFLOW.apply(
                award, "object", actor=actor, system=True, after={"objection_id": row.id}
            )
    else:
        require(OBJECTION_WORKFLOW.can(row, "not_accept", actor))
        reason = (reason or "").strip()
        if not reason:
            raise ValidationFailed(_("请填写不予受理的理由。"), field="reason")
        row.screened_by_id, row.screened_at, row.reason = actor.id, clock.now(), reason
        OBJECTION_WORKFLOW.apply(row, "not_accept", actor=actor, reason=reason)
    return row


def handle_objection(row: Objection, upheld: bool, answer: str, *, actor) -> Objection:
    """The officer's finding on an accepted objection, with a written answer.

    Upheld (成立): the award is revoked — DECOMMIT gives its money back to the
    call (key ``award:{id}:decommit``) — and the application becomes not funded;
    the society is told. Dismissed (不成立): the answer is recorded; the award
    is confirmed once the notice is over and nothing else is open.
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed``.
    Audited as ``objection.uphold`` / ``objection.dismiss`` (and ``award.revoke``,
    ``ledger.decommit``, ``application.not_fund``).
    """
    row = lock(Objection, row)
    action = "uphold" if upheld else "dismiss"
    require(OBJECTION_WORKFLOW.can(row, action, actor))
    answer = (answer or "").strip()
    if not answer:
        raise ValidationFailed(_("请填写书面答复（处理意见）。"), field="answer")
    row.answer, row.decided_by_id, row.decided_at = answer, actor.id, clock.now()
    OBJECTION_WORKFLOW.apply(row, action, actor=actor, reason=answer)
    if upheld:
        revoke_award(row.award, actor=actor, reason=answer, objection_id=row.id)
    return row


def revoke_award(award: Award, *, actor, reason: str, objection_id: int | None = None) -> Award:
    """Revoke an award under objection: DECOMMIT, application not funded, society told."""
    award = lock(Award, award)
    if award.state != "objection":
        raise InvalidTransition(_("只有异议处理中的立项可以撤销。"))
    transfer = ledger.decommit(
        award.call_id,
        award.id,
        award.amount_fen,
        actor=actor,
        key=f"award:{award.id}:decommit",
        memo=reason[:500],
    )
    award.revoked_at, award.decommit_transfer_id = clock.now(), transfer.id
    AWARD_WORKFLOW.apply(
        award,
        "revoke",
        actor=actor,
        system=True,
        reason=reason,
        after={"transfer_id": transfer.id, "objection_id": objection_id},
    )
    app = award.application
    advance_application(app, "not_fund", actor=actor, reason=reason)
    notify_society(
        award.society_id,
        _("立项撤销：%(t)s", t=app.title),
        _("经核查，公示期间的异议成立，“%(t)s”的拟立项已撤销。理由：%(r)s", t=app.title, r=reason),
        link=f"/awards/applications/{app.id}/outcome",
    )
    settle_call(award.call, actor=actor)
    return award


def open_objections(award_id: int) -> int:
    """How many objections to the award are still open (received or accepted)."""
    return len(
        db.session.scalars(
            select(Objection.id).where(
                Objection.award_id == award_id, Objection.state.in_(OPEN_OBJECTION_STATES)
            )
        ).all()
    )


def can_confirm(award: Award):
    """Whether the award may be confirmed now: notice over and no open objection."""
    if award.state not in ("in_notice", "objection"):
        return deny(_("只有公示中的立项可以确认。"))
    notice = db.session.get(AwardNotice, award.notice_id)
    if clock.now() < clock.as_utc(notice.ends_at):
        return deny(_("公示期至 %(d)s 结束，结束后才能确认立项。", d=notice.last_day.isoformat()))
    if open_objections(award.id):
        return deny(_("还有未处理完的异议，处理完后才能确认立项。"))
    return ALLOW


def confirm_award(award: Award, *, actor=None) -> Award:
    """Confirm an award after its notice (→ confirmed): the application is awarded,
    the project is created (awaiting_agreement) and the task agreement drafted.

    ``actor=None`` is the clock (tick). Raises ``NotAllowed`` while the notice
    runs or an objection is open, ``InvalidTransition`` from another state.
    Audited as ``award.confirm`` (and ``application.award``, ``project.create``,
    ``task_agreement.create``).
    """
    from app.awards.operations.agreements import generate_agreement

    award = lock(Award, award)
    decision = can_confirm(award)
    if not decision:
        if award.state not in ("in_notice", "objection"):
            raise InvalidTransition(decision.reason)
        raise NotAllowed(decision.reason)
    award.confirmed_at = clock.now()
    AWARD_WORKFLOW.apply(
        award,
        "confirm",
        actor=actor,
        system=actor is None,
        role="system" if actor is None else None,
    )
    app = award.application
    advance_application(app, "award", actor=actor)
    project = Project(
        id=award.id,
        call_id=award.call_id,
        application_id=app.id,
        society_id=award.society_id,
        amount_fen=award.amount_fen,
    )
    db.session.add(project)
    db.session.flush()
    trail.record(
        "project.create",
        "project",
        project.id,
        actor=actor,
        after={"state": "awaiting_agreement", "award_id": award.id, "amount_fen": award.amount_fen},
    )
    generate_agreement(award, actor=actor)
    notify_society(
        award.society_id,
        _("立项通知：%(t)s", t=app.title),
        _(
            "“%(t)s”公示期满无异议，已正式立项，专项资金 %(a)s 万元。请按通知签订任务书。",
            t=app.title,
            a=_wan(award.amount_fen),
        ),
        link=f"/awards/{award.id}/letter.pdf",
    )
    return award


def _wan(fen: int) -> str:
    from app.core.money import format_wanyuan

    return format_wanyuan(fen)


def confirm_call(call: Call, *, actor) -> list[Award]:
    """The officer confirms every award of the call that may be confirmed now."""
    require(can_propose(actor, call))
    done = [
        confirm_award(a, actor=actor)
        for a in db.session.scalars(
            select(Award)
            .where(Award.call_id == call.id, Award.state.in_(("in_notice", "objection")))
            .order_by(Award.id)
        )
        if can_confirm(a)
    ]
    settle_call(call, actor=actor)
    return done


def settle_call(call: Call, *, actor=None) -> bool:
    """notice → decided once every award of the call is confirmed or revoked."""
    if call.state != "notice":
        return False
    unsettled = db.session.scalar(
        select(Award.id).where(
            Award.call_id == call.id,
            Award.state.in_(("proposed", "approved", "in_notice", "objection")),
        )
    )
    if unsettled:
        return False
    CALL_WORKFLOW.apply(
        call, "decide", actor=actor, system=True, role="system" if actor is None else None
    )
    return True


@on_tick("awards")
def confirm_due_awards() -> int:
    """Confirm every award whose notice is over with no open objection; settle calls.

    Idempotent: a second run at the same time confirms nothing. Returns how many moved.
    """
    now = clock.now()
    due = db.session.scalars(
        select(Award)
        .join(AwardNotice, AwardNotice.id == Award.notice_id)
        .where(Award.state.in_(("in_notice", "objection")), AwardNotice.ends_at <= now)
        .order_by(Award.id)
    ).all()
    moved = 0
    calls = {}
    for award in due:
        if can_confirm(award):
            confirm_award(award)
            moved += 1
        calls[award.call_id] = award.call
    for call in calls.values():
        moved += int(settle_call(call))
    return moved
