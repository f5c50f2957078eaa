"""Award commands: ``flask awards letters --call ID --out FILE.zip``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from app.extensions import db

awards_cli = AppGroup("awards", help="Award documents.")


@awards_cli.command("letters")
@click.option("--call", "call_id", required=True, type=int, help="Call id.")
@click.option("--out", "out", required=True, help="The zip file to write.")
def letters(call_id, out):
    """Write the 立项通知书 of every confirmed award of a call into one zip; a progress
    bar runs on stderr and the zip's path is printed."""
    from app.awards.exports import confirmed_awards, letters_zip
    from app.calls.models import Call

    if db.session.get(Call, call_id) is None:
        raise click.ClickException(f"no call {call_id}")
    awards = confirmed_awards(call_id)
    if not awards:
        raise click.ClickException(f"call {call_id} has no confirmed awards")
    target = Path(out)
    with (
        force_locale("zh_CN"),
        click.progressbar(length=len(awards), label="立项通知书", file=sys.stderr) as bar,
    ):

        def report(done: int, total: int | None = None, message: str | None = None) -> None:
            bar.update(done - bar.pos)

        data = letters_zip(awards, report)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    click.echo(str(target))
