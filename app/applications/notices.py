"""Notices to societies about their applications: a return for revision, and a call
closing in 7 days and in 1 day while they still hold a draft (idempotent per day)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.notify import REMIND_DAYS, SOCIETY_ROLES, org_users, send
from app.applications.models import Application
from app.calls.models import Call
from app.core import clock
from app.extensions import db


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


def days_left(when, today: date) -> int:
    """Whole days from ``today`` to the local date of ``when``."""
    return (clock.local(when).date() - today).days


def remind_calls_closing(today: date | None = None) -> int:
    """Calls closing in 7 or 1 days: the societies with a draft or returned application
    in that call. One message per call, user and day; returns how many were queued."""
    today = today or clock.today()
    queued = 0
    calls = db.session.scalars(
        select(Call).where(Call.state == "open", Call.closes_at > clock.now()).order_by(Call.id)
    ).all()
    for call in calls:
        days = days_left(call.closes_at, today)
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
    return queued
