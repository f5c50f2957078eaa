"""Helpers the award operations share: locking, refusals, ranking look-up, mail."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.accounts.notify import SOCIETY_ROLES, org_users, send
from app.applications.models import Application
from app.applications.operations.common import lock as lock_application
from app.applications.operations.common import touch
from app.applications.states import APPLICATION_WORKFLOW
from app.core.errors import NotAllowed
from app.extensions import db


def require(decision) -> None:
    """Raise ``NotAllowed`` with the decision's reason when it refuses."""
    if not decision:
        raise NotAllowed(decision.reason)


def lock(model, row):
    """Re-read ``row`` under a row lock (``FOR UPDATE``; SQLite writes are serialised)."""
    return db.session.execute(
        select(model)
        .where(model.id == row.id)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    ).scalar_one()


def days(name: str, default: int) -> timedelta:
    """A configured period in days (e.g. ``RECONSIDERATION_FILE_DAYS``)."""
    return timedelta(days=int(current_app.config.get(name, default)))


def reopen_application(
    app: Application, *, actor, reason: str, action: str = "reconsider"
) -> Application:
    """Send an application back after an award decision was set aside.

    ``reconsider`` (not_funded → reviewed) and ``rereview`` (not_funded → in_review)
    after an overturned reconsideration; ``unpropose`` (proposed → reviewed) after a
    withdrawn award. Audited as ``application.<action>``.
    """
    app = lock_application(app)
    touch(app, actor)
    APPLICATION_WORKFLOW.apply(
        app, action, actor=actor, reason=reason, system=True, after={"version": app.version}
    )
    return app


def notify_society(society_id: int, subject: str, body: str, *, link=None, key=None, roles=None):
    """Queue a message for the society's applicants and secretariat (one per user)."""
    send(org_users(society_id, roles or SOCIETY_ROLES), subject, body, link=link, key=key)
