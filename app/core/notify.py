"""Notifications for events no module's own notices cover, through the outbox (in-app
always, mail when the user chose it): an application returned, a report returned, a
tranche paid; and the deadline reminders (a call closing 7 days and 1 day ahead for
societies with drafts, an agreement to sign 7 days and 1 day ahead).

The event functions are called by the owning operation inside its transaction, so a
rolled-back change sends nothing. Reminders are idempotent per item, user and day
(the outbox's dedupe key) and run from ``flask tick`` and ``flask reminders send``.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User, UserRole
from app.core import clock
from app.core.outbox import queue_mail
from app.core.tick import on_tick
from app.extensions import db

SOCIETY_ROLES = ("applicant", "society_admin")
# Days before a deadline on which a reminder goes out.
REMIND_DAYS = (7, 1)


def org_users(org_id: int | None, roles=SOCIETY_ROLES) -> list[User]:
    """Active users of ``org_id`` holding one of ``roles``."""
    if org_id is None:
        return []
    rows = db.session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.org_id == org_id, UserRole.role.in_(roles), User.erased_at.is_(None))
        .order_by(User.id)
        .distinct()
    ).all()
    return [u for u in rows if u.is_active]


def send(users, subject: str, body: str, *, link: str | None = None, key: str | None = None):
    """Queue one message per distinct user; ``key`` (+ the user) dedupes. Returns the count."""
    sent = 0
    for user in {u.id: u for u in users}.values():
        dedupe = f"{key}:u{user.id}" if key else None
        if queue_mail(user, subject, body, link=link, dedupe_key=dedupe) is not None:
            sent += 1
    return sent


# --- events ---------------------------------------------------------------------------


def application_returned(app, reason: str, *, by_society: bool = False) -> int:
    """The officer (or the society's secretariat) returned an application for revision."""
    roles = ("applicant",) if by_society else SOCIETY_ROLES
    who = _("学会秘书处") if by_society else _("学会部")
    return send(
        org_users(app.society_id, roles),
        _("申报书被退回修改：%(t)s", t=app.title or app.id),
        _("%(who)s退回了申报书“%(t)s”，理由：%(r)s", who=who, t=app.title or app.id, r=reason),
        link=f"/applications/{app.id}",
    )


def report_returned(report, comments: str) -> int:
    """The officer returned a project report for revision."""
    project_id = report.project_id
    return send(
        org_users(report.project.society_id),
        _("报告被退回修改：项目 %(p)s", p=project_id),
        _("项目 %(p)s 的报告被退回修改，意见：%(c)s", p=project_id, c=comments),
        link=f"/projects/{project_id}",
    )


def tranche_paid(tranche, project) -> int:
    """Finance recorded the payment of a tranche."""
    from app.core.money import format_yuan

    return send(
        org_users(project.society_id),
        _("经费已拨付：项目 %(p)s 第%(n)s批", p=project.id, n=tranche.seq),
        _(
            "项目 %(p)s 第%(n)s批经费 %(a)s 元已于 %(d)s 支付，凭证号 %(v)s。",
            p=project.id,
            n=tranche.seq,
            a=format_yuan(tranche.amount_fen),
            d=tranche.paid_on.isoformat() if tranche.paid_on else "",
            v=tranche.voucher_no or "",
        ),
        link=f"/projects/{project.id}",
    )


# --- deadline reminders ---------------------------------------------------------------


def _days_left(when, today: date) -> int:
    return (clock.local(when).date() - today).days


def remind_deadlines(today: date | None = None) -> int:
    """Calls closing in 7 or 1 days (societies with a draft or returned application in
    that call) and agreements to sign in 7 or 1 days (the society's secretariat). One
    message per item, user and day. Returns how many were queued."""
    from app.applications.models import Application
    from app.awards.models import TaskAgreement
    from app.calls.models import Call

    today = today or clock.today()
    queued = 0
    calls = db.session.scalars(
        select(Call).where(Call.state == "open", Call.closes_at > clock.now()).order_by(Call.id)
    ).all()
    for call in calls:
        days = _days_left(call.closes_at, today)
        if days not in REMIND_DAYS:
            continue
        societies = db.session.scalars(
            select(Application.society_id)
            .where(Application.call_id == call.id, Application.state.in_(("draft", "returned")))
            .distinct()
            .order_by(Application.society_id)
        ).all()
        for society_id in societies:
            queued += send(
                org_users(society_id),
                _("申报即将截止（还有 %(n)s 天）：%(t)s", n=days, t=call.title),
                _(
                    "“%(t)s”将于 %(d)s 截止申报，贵会尚有未提交的申报书，请及时提交。",
                    t=call.title,
                    d=clock.local(call.closes_at).strftime("%Y-%m-%d %H:%M"),
                ),
                link=f"/calls/{call.id}",
                key=f"deadline:{today}:call:{call.id}",
            )
    agreements = db.session.scalars(
        select(TaskAgreement)
        .where(TaskAgreement.state == "awaiting_signature", TaskAgreement.sign_by.is_not(None))
        .order_by(TaskAgreement.id)
    ).all()
    for row in agreements:
        days = _days_left(row.sign_by, today)
        if days not in REMIND_DAYS:
            continue
        queued += send(
            org_users(row.society_id, ("society_admin",)),
            _("任务书签订即将截止（还有 %(n)s 天）：%(t)s", n=days, t=row.number),
            _(
                "任务书 %(t)s 须于 %(d)s 前签订。",
                t=row.number,
                d=clock.local(row.sign_by).strftime("%Y-%m-%d"),
            ),
            link=f"/awards/agreements/{row.id}",
            key=f"deadline:{today}:agreement:{row.id}",
        )
    return queued


@on_tick("reminders")
def tick_reminders() -> int:
    """All reminders (the projects' reports and these deadlines), idempotent per day."""
    from app.projects.operations.deadlines import send_reminders

    return send_reminders()
