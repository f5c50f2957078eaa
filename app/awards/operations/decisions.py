"""The award decision: proposals from the ranking, not-funded decisions, approval
(COMMIT in the ledger), and publishing the decisions together with the public notice."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.applications.models import Application
from app.applications.operations import advance_application
from app.audit import trail
from app.awards.models import Award, AwardNotice, NotFundedDecision, Reconsideration
from app.awards.operations.common import lock, notify_society, reopen_application, require
from app.awards.permissions import can_approve, can_propose
from app.awards.states import AWARD_WORKFLOW
from app.calls.models import Call
from app.calls.operations import advance_call, balance_fen
from app.core import clock
from app.core.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from app.core.money import format_yuan
from app.extensions import db
from app.ledger import operations as ledger
from app.reviews.models import ReviewAssignment

# Awards whose money is bound or about to be, and that still count against the call.
LIVE_STATES = ("proposed", "approved", "in_notice", "objection", "confirmed")


def ranking_of(call: Call) -> dict[int, tuple[int | None, str | None]]:
    """application id → (rank, score as text) from the review ranking, or from the
    final ranking when the call's panel review (second stage) has concluded."""
    from app.reviews.operations.panel import final_ranking, panel_of
    from app.reviews.operations.ranking import rank_call

    ranking = rank_call(call)  # cached while the round's scores and applications stay
    final = final_ranking(panel_of(call), ranking)
    if final:
        return {
            row.application.id: (row.rank, None if row.final is None else str(row.final))
            for row in final
        }
    # Kept with the cached ranking (its memo), so the decision page and each proposal
    # do not rebuild it; callers get their own copy.
    out = ranking.memo.get("awards.ranking_of")
    if out is None:
        out = ranking.memo["awards.ranking_of"] = {
            row.application.id: (
                row.ranked.rank,
                None if row.ranked.aggregate is None else str(row.ranked.aggregate),
            )
            for row in ranking.rows
        }
    return dict(out)


def _reopened(app: Application) -> bool:
    """Whether an overturned reconsideration sent ``app`` back to the decision."""
    return bool(
        db.session.scalar(
            select(Reconsideration.id).where(
                Reconsideration.application_id == app.id, Reconsideration.state == "overturned"
            )
        )
    )


def _check_decidable(app: Application) -> None:
    if app.state != "reviewed":
        raise InvalidTransition(_("只有评审完成的申报可以拟定立项或未立项。"))
    if app.call.state != "reviewing" and not (
        app.call.state in ("notice", "decided") and _reopened(app)
    ):
        raise InvalidTransition(_("本批次不在评审阶段，不能拟定立项。"))


def _check_amount(app: Application, amount_fen) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationFailed(_("请填写大于零的立项金额。"), field="amount")
    if amount_fen > app.requested_fen:
        raise ValidationFailed(
            _(
                "立项金额 %(a)s 元超过申请金额 %(r)s 元。",
                a=format_yuan(amount_fen),
                r=format_yuan(app.requested_fen),
            ),
            field="amount",
        )
    if amount_fen > app.call.project_cap_fen:
        raise ValidationFailed(
            _(
                "立项金额 %(a)s 元超过本批次单项资助上限 %(c)s 元。",
                a=format_yuan(amount_fen),
                c=format_yuan(app.call.project_cap_fen),
            ),
            field="amount",
        )
    return amount_fen


def _note(note: str | None) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("请填写决定说明（集体研究意见）。"), field="note")
    return note


def _draft_not_funded(app: Application) -> NotFundedDecision | None:
    return db.session.scalar(
        select(NotFundedDecision).where(
            NotFundedDecision.application_id == app.id,
            NotFundedDecision.overturned_at.is_(None),
        )
    )


def propose_award(app: Application, amount_fen: int, note: str, *, actor) -> Award:
    """The officer proposes an award (拟立项) of ``amount_fen`` for a reviewed application.

    The amount is at most the requested amount and the call's per-project cap;
    the rank and score are taken from the review ranking. An unpublished
    not-funded decision on the same application is replaced. The application
    moves to proposed (the applicant still sees 评审中).
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed``.
    Audited as ``award.propose`` and ``application.propose``.
    """
    require(can_propose(actor, app.call))
    return create_award(app, amount_fen, note, actor=actor)


def create_award(app: Application, amount_fen: int, note: str, *, actor) -> Award:
    """The award proposal itself; the caller has checked who may propose (the officer,
    or the approver whose reconsideration decision sets the amount)."""
    _check_decidable(app)
    amount_fen = _check_amount(app, amount_fen)
    note = _note(note)
    replaced = _draft_not_funded(app)
    if replaced is not None:
        if replaced.published_at is not None:
            raise InvalidTransition(_("未立项决定已公布，只能通过复审改变。"))
        db.session.delete(replaced)
    rank, score = ranking_of(app.call).get(app.id, (None, None))
    award = Award(
        call_id=app.call_id,
        application_id=app.id,
        society_id=app.society_id,
        amount_fen=amount_fen,
        requested_fen=app.requested_fen,
        cap_fen=app.call.project_cap_fen,
        rank=rank,
        score=score,
        decision_note=note,
        proposed_by_id=actor.id,
        proposed_at=clock.now(),
    )
    db.session.add(award)
    db.session.flush()
    trail.record(
        "award.propose",
        "award",
        award.id,
        actor=actor,
        after={
            "state": "proposed",
            "call_id": app.call_id,
            "application_id": app.id,
            "amount_fen": amount_fen,
            "requested_fen": app.requested_fen,
            "rank": rank,
            "replaced_not_funded_id": replaced.id if replaced else None,
        },
        reason=note,
    )
    advance_application(app, "propose", actor=actor)
    return award


def amend_proposal(award: Award, amount_fen: int, note: str, *, actor) -> Award:
    """Change a proposed (not yet approved) award's amount or note.

    Raises ``NotAllowed``, ``InvalidTransition`` (already approved), ``ValidationFailed``.
    Audited as ``award.amend`` with the old and new amount.
    """
    require(can_propose(actor, award.call))
    award = lock(Award, award)
    if award.state != "proposed":
        raise InvalidTransition(_("立项建议已审批，不能再修改金额。"))
    amount_fen = _check_amount(award.application, amount_fen)
    before = {"amount_fen": award.amount_fen}
    award.amount_fen, award.decision_note = amount_fen, _note(note)
    award.proposed_by_id = actor.id  # whoever last shaped it may not approve it
    trail.record(
        "award.amend",
        "award",
        award.id,
        actor=actor,
        before=before,
        after={"amount_fen": amount_fen},
        reason=award.decision_note,
    )
    return award


def mark_not_funded(app: Application, note: str, *, actor) -> NotFundedDecision:
    """The officer decides a reviewed application is not funded (未立项).

    Nothing is shown to the applicant until the decisions are published
    together (``publish_decisions``); the application stays reviewed.
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed``, ``Conflict``
    (already decided). Audited as ``not_funded_decision.create``.
    """
    require(can_propose(actor, app.call))
    _check_decidable(app)
    note = _note(note)
    if _draft_not_funded(app) is not None:
        raise Conflict(_("该申报已拟定为未立项。"))
    rank, score = ranking_of(app.call).get(app.id, (None, None))
    row = NotFundedDecision(
        call_id=app.call_id,
        application_id=app.id,
        note=note,
        rank=rank,
        score=score,
        decided_by_id=actor.id,
        decided_at=clock.now(),
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "not_funded_decision.create",
        "not_funded_decision",
        row.id,
        actor=actor,
        after={"application_id": app.id, "call_id": app.call_id, "rank": rank},
        reason=note,
    )
    return row


def approve_award(award: Award, *, actor) -> Award:
    """The approver approves a proposed award: COMMIT its amount from the call to the grant.

    Four-eyes: never the officer who proposed it (refused before anything is
    written). The ledger's conditional UPDATE makes concurrent approvals unable
    to exceed the call's budget: the losers get ``Conflict`` with a clear 余额不足
    message and nothing is written for them. A second approval is refused
    (``InvalidTransition``). The ledger key ``award:{id}:commit`` makes a retried
    request move no money twice. Audited as ``award.approve`` (and ``ledger.commit``).
    """
    require(can_approve(actor, award))
    award = lock(Award, award)
    decision = AWARD_WORKFLOW.can(award, "approve", actor)
    if not decision:
        if award.state != "proposed":
            raise InvalidTransition(_("该立项建议已审批，不能重复审批。"))
        raise NotAllowed(decision.reason)
    try:
        transfer = ledger.commit(
            award.call_id, award.id, award.amount_fen, actor=actor, key=f"award:{award.id}:commit"
        )
    except ledger.InsufficientBalance as exc:
        left = balance_fen(ledger.call_code(award.call_id))
        raise Conflict(
            _(
                "余额不足：本批次尚未立项的资金为 %(left)s 元，不足以批准本项 %(amount)s 元。",
                left=format_yuan(left),
                amount=format_yuan(award.amount_fen),
            )
        ) from exc
    award.approved_by_id, award.approved_at = actor.id, clock.now()
    award.commit_transfer_id = transfer.id
    AWARD_WORKFLOW.apply(
        award,
        "approve",
        actor=actor,
        after={"amount_fen": award.amount_fen, "transfer_id": transfer.id},
    )
    return award


def withdraw_award(award: Award, reason: str, *, actor) -> Award:
    """Withdraw (撤回) an award before it is published, with a reason.

    Proposed: the officer withdraws it (no money had moved). Approved but not yet
    published: the approver withdraws it and its committed money goes back to the
    call (DECOMMIT, key ``award:{id}:decommit``). STATES.md has no "withdrawn"
    award state, so the award ends revoked (已撤销) without a notice; the
    application returns to the decision (proposed → reviewed), where it can be
    proposed again or decided not funded. Noticed awards are revoked only through
    an upheld objection.
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (no reason).
    Audited as ``award.withdraw`` / ``award.withdraw_approved`` (and
    ``ledger.decommit``, ``application.unpropose``).
    """
    award = lock(Award, award)
    if award.state == "proposed":
        action = "withdraw"
    elif award.state == "approved":
        action = "withdraw_approved"
    else:
        raise InvalidTransition(_("只有尚未公布的立项可以撤回；公示中的立项只能经异议处理撤销。"))
    require(AWARD_WORKFLOW.can(award, action, actor))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写撤回理由。"), field="reason")
    after = {"amount_fen": award.amount_fen, "decommitted_fen": 0}
    if action == "withdraw_approved":
        transfer = ledger.decommit(
            award.call_id,
            award.id,
            award.amount_fen,
            actor=actor,
            key=f"award:{award.id}:decommit",
            memo=reason[:500],
        )
        award.decommit_transfer_id = transfer.id
        after.update(transfer_id=transfer.id, decommitted_fen=award.amount_fen)
    award.revoked_at, award.revoke_reason = clock.now(), reason
    AWARD_WORKFLOW.apply(award, action, actor=actor, reason=reason, after=after)
    reopen_application(award.application, actor=actor, reason=reason, action="unpropose")
    from app.awards.operations.confirmation import settle_call

    settle_call(award.call, actor=actor)
    return award


def _aggregated_comments(app: Application, decision: NotFundedDecision) -> str:
    """The review outcome the applicant sees: score, rank and the experts' comments,
    never who wrote them."""
    comments = sorted(
        {
            (row.overall_comment or "").strip()
            for row in db.session.scalars(
                select(ReviewAssignment).where(
                    ReviewAssignment.application_id == app.id,
                    ReviewAssignment.state == "submitted",
                )
            )
            if (row.overall_comment or "").strip()
        }
    )
    lines = []
    if decision.score is not None:
        lines.append(_("综合评分：%(s)s", s=decision.score))
    if decision.rank is not None:
        lines.append(_("排序：第 %(r)s 名", r=decision.rank))
    lines.append(_("决定说明：%(n)s", n=decision.note))
    if comments:
        lines.append(_("专家意见（汇总）："))
        lines += [f"{i}. {c}" for i, c in enumerate(comments, 1)]
    return "\n".join(lines)


def notice_period(start: datetime, days: int, working_days: bool) -> tuple:
    """(last day, end instant) of a notice starting at ``start`` lasting ``days`` days.

    Days are counted after the publishing day (Asia/Shanghai), calendar days or
    working days under the configured holiday calendar; the period ends at the
    midnight after its last day.
    """
    first = clock.local(start).date()
    if working_days:
        last = clock.calendar_from_config(current_app.config).add_working_days(first, days)
    else:
        last = first + timedelta(days=days)
    ends = datetime.combine(last + timedelta(days=1), time(0), tzinfo=clock.SHANGHAI)
    return last, clock.as_utc(ends)


def publish_decisions(call: Call, *, actor, working_days: bool | None = None):
    """Publish the call's decisions together and start the public notice (立项公示).

    First publication (call in review): every reviewed application must have a
    decision and every proposed award must be approved. Approved awards go into
    a new notice of ``call.notice_days`` days (calendar days unless working days
    are asked for, by the argument, the call's ``notice_working_days`` or
    ``AWARD_NOTICE_WORKING_DAYS``; working days skip weekends and the configured
    holidays of ``clock.WorkCalendar``)
    and move to in_notice; not-funded applications move to not_funded and their
    society is told the outcome with the aggregated review comments; the call
    moves to notice. A later publication (after reconsiderations) publishes what
    is pending without moving the call.
    Returns the notice (or None when no award was published).
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (listing
    what is missing). Audited per award, application and the call.
    """
    require(can_propose(actor, call))
    call = lock(Call, call)
    if call.state not in ("reviewing", "notice", "decided"):
        raise InvalidTransition(_("本批次当前不能公布立项结果。"))
    problems = []
    if call.state == "reviewing":
        undecided = db.session.scalars(
            select(Application)
            .where(Application.call_id == call.id, Application.state.in_(("in_review",)))
            .order_by(Application.id)
        ).all()
        problems += [_("%(n)s 尚未完成评审。", n=a.project_number) for a in undecided]
    reviewed = db.session.scalars(
        select(Application)
        .where(Application.call_id == call.id, Application.state == "reviewed")
        .order_by(Application.id)
    ).all()
    pending = {d.application_id: d for d in _pending_not_funded(call.id)}
    problems += [
        _("%(n)s 尚未拟定立项或未立项。", n=a.project_number)
        for a in reviewed
        if a.id not in pending
    ]
    proposed = _awards(call.id, ("proposed",))
    problems += [_("%(n)s 的立项建议尚未审批。", n=a.application.project_number) for a in proposed]
    approved = _awards(call.id, ("approved",))
    if problems:
        raise ValidationFailed(_("还不能公布：请先处理以下事项。"), details=problems)
    if not approved and not pending:
        raise ValidationFailed(_("没有待公布的立项结果。"))
    now = clock.now()
    notice = None
    if approved:
        if working_days is None:
            working_days = bool(
                call.notice_working_days
                or current_app.config.get("AWARD_NOTICE_WORKING_DAYS", False)
            )
        days = int(call.notice_days or 5)
        last, ends = notice_period(now, days, working_days)
        number = 1 + (
            db.session.scalar(
                select(func.count(AwardNotice.id)).where(AwardNotice.call_id == call.id)
            )
            or 0
        )
        notice = AwardNotice(
            call_id=call.id,
            number=number,
            days=days,
            is_working_days=working_days,
            starts_at=now,
            last_day=last,
            ends_at=ends,
            published_by_id=actor.id,
        )
        db.session.add(notice)
        db.session.flush()
        trail.record(
            "award_notice.publish",
            "award_notice",
            notice.id,
            actor=actor,
            after={
                "call_id": call.id,
                "number": number,
                "days": days,
                "working_days": working_days,
                "ends_at": ends,
                "award_ids": [a.id for a in approved],
            },
        )
        for award in approved:
            award.notice_id = notice.id
            AWARD_WORKFLOW.apply(award, "publish", actor=actor, after={"notice_id": notice.id})
            notify_society(
                award.society_id,
                _("立项公示：%(t)s", t=award.application.title),
                _(
                    "贵单位申报的“%(t)s”已列入拟立项公示名单，公示期至 %(d)s。",
                    t=award.application.title,
                    d=last.isoformat(),
                ),
                link=f"/awards/notices/{notice.id}",
            )
    for decision in pending.values():
        app = decision.application
        decision.comments = _aggregated_comments(app, decision)
        decision.published_at = now
        advance_application(app, "not_fund", actor=actor, reason=decision.note)
        notify_society(
            app.society_id,
            _("评审结果：%(t)s", t=app.title),
            _(
                "贵单位申报的“%(t)s”未获立项。\n%(c)s\n"
                "如对评审程序有异议，可在 %(d)s 日内申请复审。",
                t=app.title,
                c=decision.comments,
                d=current_app.config.get("RECONSIDERATION_FILE_DAYS", 15),
            ),
            link=f"/awards/applications/{app.id}/outcome",
        )
    if call.state == "reviewing":
        advance_call(call, "start_notice", actor=actor)
    from app.awards.operations.confirmation import settle_call

    settle_call(call, actor=actor)
    return notice


def _pending_not_funded(call_id: int) -> list[NotFundedDecision]:
    return list(
        db.session.scalars(
            select(NotFundedDecision)
            .where(
                NotFundedDecision.call_id == call_id,
                NotFundedDecision.published_at.is_(None),
            )
            .order_by(NotFundedDecision.id)
        )
    )


def _awards(call_id: int, states) -> list[Award]:
    return list(
        db.session.scalars(
            select(Award)
            .where(Award.call_id == call_id, Award.state.in_(states))
            .order_by(Award.id)
        )
    )


def awards_of(call_id: int, states=None) -> list[Award]:
    """The call's awards (optionally in ``states``), by id."""
    stmt = select(Award).where(Award.call_id == call_id).order_by(Award.id)
    if states:
        stmt = stmt.where(Award.state.in_(states))
    return list(db.session.scalars(stmt))


def committed_fen(call_id: int) -> int:
    """Money of the call bound to awards (approved and not revoked)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Award.amount_fen), 0)).where(
                Award.call_id == call_id,
                Award.state.in_(("approved", "in_notice", "objection", "confirmed")),
            )
        )
    )
