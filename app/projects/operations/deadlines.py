"""Deadlines: the tick opens reporting windows, flags overdue reports (a flag, not a
state) and re-checks tranches; ``reminders send`` mails what is due, once per item per
day (the outbox's dedupe key)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.notify import org_users, role_users
from app.applications.notices import remind_calls_closing
from app.audit import trail
from app.awards.models import TaskAgreement
from app.awards.notices import remind_agreements_to_sign
from app.core import clock
from app.core.outbox import queue_mail
from app.core.tick import on_tick
from app.extensions import db
from app.projects.models import Milestone, Project, ProjectReport
from app.projects.operations.common import planned_end, setting
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
    ``milestone.overdue``); flag closing reports past ``CLOSING_REPORT_DAYS`` after the
    planned end (once; ``project.closing_overdue``); re-check planned tranches.
    Idempotent. Returns how many milestones and projects moved or were flagged."""
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
    for project in _closing_owed():
        due = closing_due_on(project)
        if due is not None and today > due and project.closing_overdue_at is None:
            project.closing_overdue_at = clock.now()
            trail.record(
                "project.closing_overdue",
                "project",
                project.id,
                role="system",
                after={"due_on": due, "end_on": planned_end(project)},
            )
            moved += 1
    projects = db.session.scalars(
        select(Project).where(Project.state.in_(RELEASE_STATES)).order_by(Project.id)
    ).all()
    for project in projects:
        refresh_tranches(project)
    return moved


def closing_due_on(project: Project) -> date | None:
    """The closing report's due date: ``CLOSING_REPORT_DAYS`` (60) after the planned end."""
    end = planned_end(project)
    if end is None:
        return None
    return end + timedelta(days=int(setting("CLOSING_REPORT_DAYS", 60)))


def closing_is_overdue(project: Project, today: date | None = None) -> bool:
    """The project is still running, its closing report has not reached the officer (not
    signed off by the society) and its due date has passed."""
    due = closing_due_on(project)
    return (
        str(project.state) in RUNNING_STATES
        and due is not None
        and (today or clock.today()) > due
        and not _closing_reached_officer(project)
    )


def _closing_reached_officer(project: Project) -> bool:
    return (
        db.session.scalar(
            select(ProjectReport.id).where(
                ProjectReport.project_id == project.id,
                ProjectReport.kind == "closing",
                ProjectReport.endorsed_at.is_not(None),
            )
        )
        is not None
    )


def _closing_owed() -> list[Project]:
    """Running projects whose closing report has not reached the officer."""
    projects = db.session.scalars(
        select(Project).where(Project.state.in_(RUNNING_STATES)).order_by(Project.id)
    ).all()
    return [p for p in projects if not _closing_reached_officer(p)]


def send_reminders(today: date | None = None) -> int:
    """Queue reminders for reports due within ``REMINDER_DAYS`` (14) or overdue (to the
    society), overdue reports (to officers, one digest each), closing reports due within
    ``REMINDER_DAYS`` or overdue (to the society; a digest to officers), agreements awaiting
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
        for user in org_users(m.project.society_id):
            queued += _queue(
                user,
                subject,
                body,
                f"/projects/{m.project_id}",
                f"reminder:{today}:milestone:{m.id}:u{user.id}",
            )
    if late:
        body = "\n".join(f"{m.project_id} {m.title} {m.due_on.isoformat()}" for m in late)
        for officer in role_users("officer"):
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
        for user in org_users(row.society_id, ("society_admin",)):
            queued += _queue(
                user,
                subject,
                body,
                f"/awards/agreements/{row.id}",
                f"reminder:{today}:agreement:{row.id}:u{user.id}",
            )
    late_closing = []
    for project in _closing_owed():
        due = closing_due_on(project)
        if due is None or due > ahead:
            continue
        overdue = today > due
        if overdue:
            late_closing.append((project, due))
        subject = (
            _("结题报告已逾期：项目 %(p)s", p=project.id)
            if overdue
            else _("结题报告即将到期：项目 %(p)s", p=project.id)
        )
        body = _(
            "项目 %(p)s 已于 %(e)s 结束，应于 %(d)s 前提交结题报告（含经费决算）。",
            p=project.id,
            e=planned_end(project).isoformat(),
            d=due.isoformat(),
        )
        for user in org_users(project.society_id):
            queued += _queue(
                user,
                subject,
                body,
                f"/projects/{project.id}",
                f"reminder:{today}:closing:{project.id}:u{user.id}",
            )
    if late_closing:
        body = "\n".join(f"{p.id} {d.isoformat()}" for p, d in late_closing)
        for officer in role_users("officer"):
            subject = _("逾期未交的结题报告：%(n)s 项", n=len(late_closing))
            key = f"reminder:{today}:closing-digest:u{officer.id}"
            queued += _queue(officer, subject, body, "/projects/", key)
    rectifying = db.session.scalars(
        select(Project).where(Project.state == "rectifying", Project.rectify_by <= ahead)
    ).all()
    for project in rectifying:
        subject = _("整改期限：%(d)s", d=project.rectify_by.isoformat())
        body = _(
            "项目 %(p)s 须于 %(d)s 前完成整改。", p=project.id, d=project.rectify_by.isoformat()
        )
        for user in org_users(project.society_id):
            queued += _queue(
                user,
                subject,
                body,
                f"/projects/{project.id}",
                f"reminder:{today}:rectify:{project.id}:u{user.id}",
            )
    return queued + remind_deadlines(today)


def remind_deadlines(today: date | None = None) -> int:
    """Calls closing and agreements to sign in 7 or 1 days (idempotent per day)."""
    return remind_calls_closing(today) + remind_agreements_to_sign(today)


@on_tick("reminders")
def tick_reminders() -> int:
    """Every reminder above, from ``flask tick``; idempotent per day."""
    return send_reminders()


def _queue(user, subject, body, link, key) -> int:
    return 1 if queue_mail(user, subject, body, link=link, dedupe_key=key) is not None else 0
