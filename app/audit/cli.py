"""``audit verify``: recompute the chain and every invariant."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.audit.verify import verify_all

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


@audit_cli.command("verify")
def verify():
    """Recompute every link and invariant; exit 1 naming the first fault."""
    fault, last, head = verify_all()
    if fault:
        click.echo(f"FAIL {fault}", err=True)
        sys.exit(1)
    click.echo(f"OK {last} events, head {head}")
