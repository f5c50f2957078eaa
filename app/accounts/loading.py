"""The signed-in user of each request, in one query.

Flask-Login calls ``load_session_user`` with the id the session carries
(``"<user id>:<session version>"``, see ``User.get_id``). One statement reads
the user, their organisation and roles, and the header's unread-message count;
the user is refused when disabled, erased or signed out elsewhere (the session
version moved on), exactly as before.

The count is kept for the page's header (``unread_badge``) as long as the
request has written nothing through the session; after a write (a flush or an
UPDATE/DELETE statement) the header counts again, so a page rendered after a
change never shows a stale badge.
"""

from __future__ import annotations

import functools

from flask import g
from flask_login import current_user
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.core.database import writes
from app.core.models import Notification
from app.extensions import db


@functools.cache
def _user_statement():
    """Built once (statements are immutable): the user with org and roles, and the count."""
    unread = (
        select(func.count(Notification.id))
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    return (
        select(User, unread)
        .options(joinedload(User.roles))
        .where(User.id == bindparam("user_id", type_=Integer))
    )


def load_session_user(session_id: str) -> User | None:
    """The active user whose current session id is ``session_id``, else None."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    row = db.session.execute(_user_statement(), {"user_id": int(user_id)}).unique().first()
    if row is None:
        return None
    user, unread = row
    if not user.is_active or user.session_version != int(version):
        return None
    g.unread_at_load = (user.id, _writes(), unread)
    return user


def _writes() -> int:
    return writes(db.session)


def unread_badge() -> int:
    """The header's unread-message count of the signed-in user (0 for anyone else)."""
    if not current_user.is_authenticated:
        return 0
    loaded = g.get("unread_at_load")
    if loaded is not None and loaded[:2] == (current_user.id, _writes()):
        return loaded[2]
    from app.home.views import unread_count

    try:
        return unread_count(current_user)
    except SQLAlchemyError:  # an error page after a failed transaction: no badge
        return 0
