"""Commands for the clock, the worker, the outbox and file storage."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from app.audit.context import audit_context
from app.extensions import db


@click.command("tick")
@with_appcontext
def tick_command():
    """Apply every time-based transition (idempotent; run from cron)."""
    from app.core.tick import run_tick

    with audit_context(actor_role="system", user_agent="tick"):
        moved = run_tick()
        db.session.commit()
    for name, count in moved.items():
        click.echo(f"{name}: {count}")


@click.command("worker")
@click.option("--once", is_flag=True, help="Run queued jobs and mail, then stop.")
@with_appcontext
def worker_command(once):
    """Run background jobs and send queued mail."""
    from app.core.jobs import work

    with audit_context(actor_role="system", user_agent="worker"):
        work(once=once)


outbox_cli = AppGroup("outbox", help="The mail outbox.")


@outbox_cli.command("send")
def outbox_send():
    """Send queued mail now."""
    from app.core.outbox import send_pending

    sent, failed = send_pending(limit=10_000)
    click.echo(f"sent {sent}, failed {failed}")


files_cli = AppGroup("files", help="Uploaded file storage.")


@files_cli.command("gc")
def files_gc():
    """Remove leftover temporary files and bytes that no row points to."""
    from app.core.files import collect_garbage

    temps, orphans = collect_garbage()
    click.echo(f"removed {temps} temporary files, {orphans} orphaned files")


@click.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(out):
    """Back up the database and the uploaded files into one archive."""
    from pathlib import Path

    from app.core.backup import backup

    click.echo(str(backup(Path(out))))


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite a database that is not empty.")
@with_appcontext
def restore_command(archive, force):
    """Restore a backup into the database of DATABASE_URL (empty unless --force)."""
    from pathlib import Path

    from app.core.backup import RestoreRefused, restore

    try:
        manifest = restore(Path(archive), force=force)
    except RestoreRefused as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"restored {manifest['database']} backup of {manifest['created_at']}")
