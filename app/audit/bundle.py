"""The audit bundle: one signed zip that an auditor verifies with ``verify_bundle.py`` alone.

Layout (one folder inside the zip, named like the zip)::

    manifest.json        schema_version 1; chain; ledger_totals; files {name: sha256, bytes, rows}
    manifest.sig         base64 Ed25519 signature of manifest.json's bytes
    checkpoint.txt       the chain head, signed (verify_bundle.format_checkpoint_file)
    verify_bundle.py     a copy of app/audit/verify_bundle.py (standard library only)
    audit_events.jsonl   the WHOLE chain up to and including this export's own event
    ledger_transfers.csv, ledger_entries.csv, trial_balance.csv   the WHOLE ledger
    ledger_transfers.xlsx, trial_balance.xlsx                     the same, for people
    ledger_register.csv/.xlsx, audit_trail.xlsx                   narrowed by the filters
    attachments.csv      stored files: id, sha256, size, mime, owner_type, owner_id
    <table>.csv          awards, tranches, payments, claw-backs — for the tables that exist

Consistency: the ``export.bundle`` event is recorded first; recording locks
the audit head, and every ledger writer takes that lock before posting, so
the chain and the ledger are exported from one unchanging state and the
manifest's head is this export's own event. ``report`` is only called after
that core is written, so callers that commit in it (the worker, the CLI)
release the lock early.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import MetaData, Table, select
from sqlalchemy import inspect as sa_inspect

from app import __version__
from app.accounts.models import User
from app.audit import downloads, signing, trail
from app.audit import verify_bundle as vb
from app.audit.context import audit_context
from app.audit.verify import iter_events
from app.core import clock
from app.core.errors import ValidationFailed
from app.core.jobs import handler
from app.core.models import StoredFile
from app.core.sheets import Column, CsvWriter, XlsxBook
from app.extensions import db
from app.ledger import exports as ledger_exports

JOB_KIND = "audit.bundle"
OPTIONAL_TABLES = ("award", "tranche", "payment", "clawback", "claw_back")
# Never copied out of an optional table, whatever it holds.
PERSONAL = re.compile(r"phone|mobile|e_?mail|id_(number|card)|bank|address|password|token", re.I)
ATTACHMENT_COLUMNS = ("id", "sha256", "size", "mime", "owner_type", "owner_id")


class BundleRefused(ValidationFailed):
    """The bundle cannot be built as asked (no signing key, bad filters)."""


def export_dir() -> Path:
    """Where finished bundles are kept (``EXPORT_DIR``, default ``UPLOAD_DIR/exports``)."""
    configured = current_app.config.get("EXPORT_DIR")
    return Path(configured) if configured else Path(current_app.config["UPLOAD_DIR"]) / "exports"


def build_bundle(out_dir: Path, *, filters: dict, actor, report=None) -> Path:
    """Write one signed audit bundle zip into ``out_dir`` and return its path.

    Arguments: ``filters`` as strings or ints (keys ``fund call society project
    from to``) narrow the human-readable detail sheets only — the chain and
    the ledger are always whole so the bundle verifies; ``actor`` is the user
    (None for the system); ``report(progress, total, message)`` is told of
    progress after the consistent core is written.

    Effects: one ``export.bundle`` audit event (filters as ids and dates),
    flushed, never committed here; it is the last event of the exported chain.
    Files stream to a temporary folder inside ``out_dir``; the zip appears
    under its final name only when complete.

    Raises ``BundleRefused`` when no signing key is configured (run ``flask
    --app wsgi audit keygen``) and ``ValidationFailed`` for bad filters.
    """
    parsed = downloads.parse_filters(filters)
    try:
        signing.sign(b"probe")
    except signing.KeyMissing as err:
        raise BundleRefused(
            _("未配置签名密钥，无法生成审计包。请先运行 flask --app wsgi audit keygen。")
            + f" ({err})"
        ) from err
    report = report or (lambda *_args, **_kwargs: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    event = trail.record(
        "export.bundle", "export", "bundle", actor=actor, after={"filters": parsed.as_dict()}
    )
    stem = f"audit-bundle-{clock.local(event.occurred_at):%Y%m%d-%H%M%S}-seq{event.seq}"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".building-") as tmp:
        root = Path(tmp) / stem
        root.mkdir()
        chain = _write_chain(root, event)
        _write_ledger(root)
        steps = _human_steps(root, parsed, actor)
        for number, (message, step) in enumerate(steps, start=1):
            report(number, len(steps) + 1, message)
            step()
        manifest = _manifest(root, parsed, actor, chain)
        _sign(root, manifest, chain)
        shutil.copyfile(vb.__file__, root / vb.SCRIPT_FILE)
        report(len(steps) + 1, len(steps) + 1, _("正在打包…"))
        final = out_dir / f"{stem}.zip"
        partial = Path(tmp) / f"{stem}.zip"
        _zip(root, partial)
        partial.replace(final)
    return final


def _write_chain(root: Path, event) -> dict:
    """``audit_events.jsonl``: every event to ``event`` (ours: the head is locked)."""
    first, prev, last, head = None, vb.GENESIS_HASH, None, vb.GENESIS_HASH
    with (root / vb.EVENTS_FILE).open("wb") as fh:
        for row in iter_events():
            if row.seq > event.seq:  # cannot happen while we hold the head; belt and braces
                break
            line = {**trail.event_payload(row), "prev_hash": row.prev_hash, "hash": row.hash}
            text = json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            fh.write(text.encode("utf-8") + b"\n")
            if first is None:
                first, prev = row.seq, row.prev_hash
            last, head = row.seq, row.hash
    if last != event.seq or head != event.hash:
        raise RuntimeError("the exported chain does not end with the bundle's own event")
    return {"first_seq": first, "last_seq": last, "first_prev_hash": prev, "head_hash": head}


def _write_ledger(root: Path) -> None:
    """The ledger's own bundle files (app.ledger.exports), streamed to disk."""
    for name, chunks in ledger_exports.BUNDLE_FILES.items():
        with (root / name).open("w", encoding="utf-8", newline="") as fh:
            for chunk in chunks():
                fh.write(chunk)


def _human_steps(root: Path, filters, actor) -> list:
    """The readable files, as (progress message, function) pairs."""
    footer = downloads.footer_for(actor)

    def sheet(name, writer, *args):
        def run():
            with (root / name).open("wb") as fh:
                writer(fh, *args)

        return run

    register, trail_sheet = downloads.write_register, downloads.write_trail
    return [
        (_("正在生成账簿表格…"), lambda: _csv_to_xlsx(root, vb.TRANSFERS_FILE, actor)),
        (_("正在生成试算平衡表…"), lambda: _csv_to_xlsx(root, vb.TRIAL_BALANCE_FILE, actor)),
        (
            _("正在生成项目资金台账…"),
            sheet("ledger_register.csv", register, "csv", filters, footer),
        ),
        (
            _("正在生成项目资金台账表格…"),
            sheet("ledger_register.xlsx", register, "xlsx", filters, footer),
        ),
        (
            _("正在生成操作日志表格…"),
            sheet("audit_trail.xlsx", trail_sheet, "xlsx", filters, footer),
        ),
        (_("正在生成附件索引…"), lambda: _attachments(root)),
        (_("正在导出立项与拨付记录…"), lambda: _optional_tables(root)),
    ]


def _csv_to_xlsx(root: Path, name: str, actor) -> None:
    """An xlsx copy of a bundle CSV (read back, so both hold the same rows)."""
    title = _("资金转账明细") if name == vb.TRANSFERS_FILE else _("试算平衡表")
    with (root / name).open(encoding="utf-8-sig", newline="") as src:
        reader = csv.reader(src)
        header = next(reader)
        cols = [Column(h, "int" if h.endswith("_fen") or h == "id" else "text") for h in header]
        target = root / name.replace(".csv", ".xlsx")
        with XlsxBook(target, title=title, footer=downloads.footer_for(actor)) as book:
            summary = book.summary([Column(_("项目"), width=20), Column(_("数值"), width=40)])
            detail = book.detail(_("明细"), cols)
            for record in reader:
                detail.append([None if v == "" else v for v in record])
            summary.append([_("行数"), str(detail.rows)])
            summary.append([_("来源文件"), name])


def _attachments(root: Path) -> None:
    """Index of stored files; no names, no uploader: nothing personal."""
    t = StoredFile.__table__
    stmt = select(*(t.c[c] for c in ATTACHMENT_COLUMNS)).order_by(t.c.id)
    with (root / "attachments.csv").open("wb") as fh:
        writer = CsvWriter(fh, ATTACHMENT_COLUMNS)
        for row in db.session.execute(stmt.execution_options(yield_per=5000)):
            writer.append(row)
        writer.close()


def _optional_tables(root: Path) -> None:
    """Awards, tranches, payments, claw-backs: whichever tables exist yet."""
    connection = db.session.connection()
    inspector = sa_inspect(connection)
    for name in OPTIONAL_TABLES:
        if not inspector.has_table(name):
            continue
        table = Table(name, MetaData(), autoload_with=connection)
        cols = [c for c in table.columns if not PERSONAL.search(c.name)]
        stmt = select(*cols).order_by(*table.primary_key.columns)
        with (root / f"{name}.csv").open("wb") as fh:
            writer = CsvWriter(fh, [c.name for c in cols])
            for row in db.session.execute(stmt.execution_options(yield_per=5000)):
                writer.append([clock.rfc3339(v) if hasattr(v, "hour") else v for v in row])
            writer.close()


def _count_rows(path: Path) -> int | None:
    """JSONL lines, or CSV records after the header; None for other files."""
    if path.suffix == ".jsonl":
        with path.open("rb") as fh:
            return sum(1 for _line in fh)
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return max(sum(1 for record in csv.reader(fh) if record) - 1, 0)
    return None


def _file_meta(path: Path) -> dict:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size, "rows": _count_rows(path)}


def _ledger_totals(root: Path) -> dict:
    debits = credits = 0
    with (root / vb.ENTRIES_FILE).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            debits += int(row["debit_fen"] or 0)
            credits += int(row["credit_fen"] or 0)
    return {"debits_fen": debits, "credits_fen": credits}


def _manifest(root: Path, filters, actor, chain: dict) -> dict:
    names = sorted(p.name for p in root.iterdir() if p.name not in vb.EXEMPT_FILES)
    present = [n for n in OPTIONAL_TABLES if (root / f"{n}.csv").exists()]
    return {
        "schema_version": 1,
        "app_version": __version__,
        "generated_at": clock.rfc3339(clock.now()),
        "generated_by": {
            "actor_id": getattr(actor, "id", None),
            "role": getattr(actor, "primary_role", None) or "system",
        },
        "filters": filters.as_dict(),
        "filters_apply_to": ["ledger_register.csv", "ledger_register.xlsx", "audit_trail.xlsx"],
        "database": {"dialect": db.session.get_bind().dialect.name},
        "chain": chain,
        "ledger_totals": _ledger_totals(root),
        "tables": {"included": present, "absent": [n for n in OPTIONAL_TABLES if n not in present]},
        "signing_key_sha256": vb.key_fingerprint(signing.public_key_bytes()),
        "files": {name: _file_meta(root / name) for name in names},
    }


def _sign(root: Path, manifest: dict, chain: dict) -> None:
    data = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    (root / vb.MANIFEST_FILE).write_bytes(data)
    signature = base64.b64encode(signing.sign(data)).decode("ascii")
    (root / vb.SIGNATURE_FILE).write_text(signature + "\n", encoding="ascii")
    checkpoint = signing.make_checkpoint(chain["last_seq"], chain["head_hash"])
    (root / vb.CHECKPOINT_FILE).write_bytes(checkpoint)


def _zip(root: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.iterdir()):
            archive.write(path, f"{root.name}/{path.name}")


@handler(JOB_KIND)
def run_bundle_job(job, report) -> dict:
    """Worker side of the downloads page's bundle button: build it as the job's creator."""
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    job_id, filters = job.id, dict((job.payload or {}).get("filters") or {})
    with (
        force_locale(getattr(actor, "locale", None) or "zh_CN"),
        audit_context(
            actor_id=getattr(actor, "id", None),
            actor_role=getattr(actor, "primary_role", None),
            org_id=getattr(actor, "org_id", None),
            user_agent="worker",
        ),
    ):
        out = export_dir() / f"job-{job_id}"
        path = build_bundle(out, filters=filters, actor=actor, report=report)
    return {"path": str(path), "name": path.name, "bytes": path.stat().st_size}
