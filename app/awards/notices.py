"""Reminders to societies about task agreements to sign (7 days and 1 day ahead)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.notify import REMIND_DAYS, org_users, send
from app.applications.notices import days_left
from app.awards.models import TaskAgreement
from app.core import clock
from app.extensions import db


def remind_agreements_to_sign(today: date | None = None) -> int:
    """Agreements awaiting signature whose deadline is 7 or 1 days away: the society's
    secretariat. One message per agreement, user and day; returns how many were queued."""
    today = today or clock.today()
    queued = 0
    agreements = db.session.scalars(
        select(TaskAgreement)
        .where(TaskAgreement.state == "awaiting_signature", TaskAgreement.sign_by.is_not(None))
        .order_by(TaskAgreement.id)
    ).all()
    for row in agreements:
        days = days_left(row.sign_by, today)
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
