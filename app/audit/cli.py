"""``audit verify|keygen|checkpoint``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.audit import signing, trail
from app.audit.context import audit_context
from app.audit.models import AuditEvent
from app.audit.verify import Fault, verify_all
from app.audit.verify_bundle import CheckpointFormatError
from app.extensions import db

audit_cli = AppGroup("audit", help="The tamper-evident audit trail.")


def _checkpoint_fault(path: str) -> Fault | None:
    """Whether the current chain extends the signed checkpoint in ``path``."""
    try:
        parsed = signing.check_checkpoint(Path(path).read_bytes(), signing.public_key_bytes())
    except (OSError, ValueError, CheckpointFormatError, signing.KeyMissing) as err:
        return Fault("checkpoint", None, f"{path}: {err}")
    stored = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == parsed["seq"]))
    if stored is None:
        return Fault(
            "checkpoint", parsed["seq"], "the chain is shorter than the checkpoint (truncated)"
        )
    if stored != parsed["head_hash"]:
        return Fault(
            "checkpoint", parsed["seq"], "history was rewritten: hash differs from the checkpoint"
        )
    return None


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint",
    default=None,
    help="A signed checkpoint file to hold the chain to.",
)
def verify(checkpoint):
    """Recompute every link and invariant; exit 1 naming the first fault."""
    fault, last, head = verify_all()
    if fault is None and checkpoint:
        fault = _checkpoint_fault(checkpoint)
    if fault:
        click.echo(f"FAIL {fault}", err=True)
        sys.exit(1)
    click.echo(
        f"OK {last} events, head {head}" + (" (extends the checkpoint)" if checkpoint else "")
    )


@audit_cli.command("keygen")
@click.option("--out", default=None, help="Folder for the key pair (default: AUDIT_SIGNING_KEY).")
def keygen(out):
    """Create the Ed25519 key pair that signs bundles and checkpoints."""
    try:
        private, public, fingerprint = signing.generate(Path(out) if out else signing.key_dir())
    except FileExistsError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"private key {private} (keep it off the database server's backups)")
    click.echo(f"public key  {public} (give it to the auditors)")
    click.echo(f"fingerprint {fingerprint}")


@audit_cli.command("checkpoint")
@click.option("--out", default=None, help="Folder to write the checkpoint into.")
def checkpoint(out):
    """Sign the current head (seq, hash) and write it as a checkpoint file."""
    fault, last, head = verify_all()
    if fault:
        raise click.ClickException(f"refusing to sign a faulty chain: {fault}")
    with audit_context(actor_role="system", user_agent="audit checkpoint"):
        try:
            data = signing.make_checkpoint(last, head)
        except signing.KeyMissing as err:
            raise click.ClickException(str(err)) from err
        folder = Path(out) if out else signing.key_dir() / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"checkpoint-{last:010d}.txt"
        path.write_bytes(data)
        trail.record(
            "audit.checkpoint", "audit_chain", last, after={"seq": last, "head_hash": head}
        )
        db.session.commit()
    click.echo(str(path))


export_cli = AppGroup("export", help="Exports for auditors.")


@export_cli.command("bundle")
@click.option("--out", "out", required=True, help="Folder to write the zip into.")
@click.option("--fund", default=None, help="Fund id (narrows the detail sheets).")
@click.option("--call", default=None, help="Call id.")
@click.option("--society", default=None, help="Society (organisation) id.")
@click.option("--project", default=None, help="Project (grant) id.")
@click.option("--from", "date_from", default=None, help="First day, YYYY-MM-DD (Beijing).")
@click.option("--to", "date_to", default=None, help="Last day, YYYY-MM-DD (Beijing).")
def export_bundle(out, fund, call, society, project, date_from, date_to):
    """Write one signed audit bundle zip into OUT and print its path."""
    from flask_babel import force_locale

    from app.audit.bundle import build_bundle
    from app.core.errors import DomainError

    filters = {"fund": fund, "call": call, "society": society, "project": project}
    filters.update({"from": date_from, "to": date_to})

    def progress(step: int, total: int | None = None, message: str | None = None) -> None:
        # Committing here, as the worker does, releases the audit head once the core is out.
        db.session.commit()
        click.echo(f"[{step}/{total}] {message or ''}", err=True)

    with (
        force_locale("zh_CN"),
        audit_context(actor_role="system", user_agent="export bundle"),
    ):
        try:
            path = build_bundle(Path(out), filters=filters, actor=None, report=progress)
        except DomainError as err:
            db.session.rollback()
            raise click.ClickException(err.message) from err
        db.session.commit()
    click.echo(str(path))
