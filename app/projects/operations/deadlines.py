"""Deadlines: the tick opens reporting windows, flags overdue reports (a flag, not a
state) and re-checks tranches; ``reminders send`` mails what is due, once per item per
day (the outbox's dedupe key)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.awards.models import TaskAgreement
from app.awards.operations.common import society_users, staff
from app.core import clock
from app.core.outbox import queue_mail
from app.core.tick import on_tick
from app.extensions import db
from app.projects.models import Milestone, Project
from app.projects.operations.common import setting
from app.projects.operations.money import refresh_tranches
from app.projects.states import MILESTONE_WORKFLOW, RELEASE_STATES, RUNNING_STATES


def _running_milestones():
    return db.session.scalars(
        select(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Project.state.in_(RUNNING_STATES),
            Milestone.seq > 0,
            Milestone.due_on.is_not(None),
            Milestone.state.in_(("planned", "due", "returned")),
        )
        .order_by(Milestone.id)
    ).all()


@on_tick("milestones")
def move_milestones() -> int:
    """planned → due when the reporting window opens (``REPORT_WINDOW_DAYS`` = 30 before
    the due date); flag reports past their due date as overdue (once; audited as
    ``milestone.overdue``); re-check planned tranches. Idempotent. Returns how many
    milestones moved or were flagged."""
    today = clock.today()
    window = timedelta(days=int(setting("REPORT_WINDOW_DAYS", 30)))
    moved = 0
    for m in _running_milestones():
        if m.state == "planned" and m.due_on - window <= today:
            MILESTONE_WORKFLOW.apply(m, "open", system=True, role="system")
            moved += 1
        if m.is_overdue(today) and m.overdue_at is None:
            m.overdue_at = clock.now()
            trail.record(
                "milestone.overdue",
                "milestone",
                m.id,
                role="system",
                after={"due_on": m.due_on, "project_id": m.project_id},
            )
            moved += 1
    projects = db.session.scalars(
        select(Project).where(Project.state.in_(RELEASE_STATES)).order_by(Project.id)
    ).all()
    for project in projects:
        refresh_tranches(project)
    return moved


def send_reminders(today: date | None = None) -> int:
    """Queue reminders for reports due within ``REMINDER_DAYS`` (14) or overdue (to the
    society), overdue reports (to officers, one digest each), agreements awaiting
    signature past their deadline and rectifications due. One message per item, user
    and day: running twice on a day queues nothing new. Returns how many were queued."""
    today = today or clock.today()
    ahead = today + timedelta(days=int(setting("REMINDER_DAYS", 14)))
    queued = 0
    late = []
    for m in _running_milestones():
        if m.due_on > ahead:
            continue
        overdue = m.is_overdue(today)
        if overdue:
            late.append(m)
        subject = (
            _("进展报告已逾期：%(t)s", t=m.title)
            if overdue
            else _("进展报告即将到期：%(t)s", t=m.title)
        )
        body = _(
            "项目 %(p)s 的节点“%(t)s”应于 %(d)s 前提交进展报告。",
            p=m.project_id,
            t=m.title,
            d=m.due_on.isoformat(),
        )
        for user in society_users(m.project.society_id):
            queued += _queue(
                user,
                subject,
                body,
                f"/projects/{m.project_id}",
                f"reminder:{today}:milestone:{m.id}:u{user.id}",
            )
    if late:
        body = "\n".join(f"{m.project_id} {m.title} {m.due_on.isoformat()}" for m in late)
        for officer in staff("officer"):
            subject = _("逾期未报的进展报告：%(n)s 项", n=len(late))
            key = f"reminder:{today}:overdue-digest:u{officer.id}"
            queued += _queue(officer, subject, body, "/projects/", key)
    agreements = db.session.scalars(
        select(TaskAgreement)
        .where(TaskAgreement.state == "awaiting_signature", TaskAgreement.sign_by < clock.now())
        .order_by(TaskAgreement.id)
    ).all()
    for row in agreements:
        subject = _("任务书逾期未签：%(n)s", n=row.number)
        body = _("任务书 %(n)s 已逾期未签订，请尽快签订。", n=row.number)
        for user in society_users(row.society_id, ("society_admin",)):
            queued += _queue(
                user,
                subject,
                body,
                f"/awards/agreements/{row.id}",
                f"reminder:{today}:agreement:{row.id}:u{user.id}",
            )
    rectifying = db.session.scalars(
        select(Project).where(Project.state == "rectifying", Project.rectify_by <= ahead)
    ).all()
    for project in rectifying:
        subject = _("整改期限：%(d)s", d=project.rectify_by.isoformat())
        body = _(
            "项目 %(p)s 须于 %(d)s 前完成整改。", p=project.id, d=project.rectify_by.isoformat()
        )
        for user in society_users(project.society_id):
            queued += _queue(
                user,
                subject,
                body,
                f"/projects/{project.id}",
                f"reminder:{today}:rectify:{project.id}:u{user.id}",
            )
    return queued


def _queue(user, subject, body, link, key) -> int:
    return 1 if queue_mail(user, subject, body, link=link, dedupe_key=key) is not None else 0
