"""``flask --app wsgi reminders send``: mail what is due or overdue (once per item and
day); importing this module also registers the projects' tick handler."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from app.audit.context import audit_context
from app.extensions import db
from app.projects.operations import deadlines as _deadlines  # noqa: F401  (the tick handler)

reminders_cli = AppGroup("reminders", help="Deadline reminders through the outbox.")


@reminders_cli.command("send")
@click.option("--day", default=None, help="The day to remind for (YYYY-MM-DD); today by default.")
def reminders_send(day):
    """Queue reminders for reports due or overdue, unsigned agreements and rectifications;
    idempotent per day. Mail leaves with ``flask outbox send`` (or the worker)."""
    from app.projects.operations import send_reminders

    with audit_context(actor_role="system", user_agent="reminders"):
        queued = send_reminders(date.fromisoformat(day) if day else None)
        db.session.commit()
    click.echo(f"reminders: {queued}")
