"""Messages to the people of an organisation, through the outbox (in-app always, mail
when the user chose it). The modules' own notices (``app/*/notices.py``) use these."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User, UserRole
from app.core.outbox import queue_mail
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


def role_users(role: str) -> list[User]:
    """Active users holding ``role`` (staff to-do mail)."""
    rows = db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role)
    ).all()
    return [u for u in rows if u.is_active]
