"""Exports generated in the background: one job kind, a registry of export functions.

A module registers an export with ``register(name, label, permission, build)`` where
``build(params, actor, report)`` returns ``(bytes, file name, MIME type)`` and calls
``report(done, total, message)`` as it goes. ``queue_export`` checks the permission and
queues a job; the worker runs the build as the job's creator and stores the file
(``files.store_bytes``, owner ``job``); ``home.job_file`` serves it to the creator only,
auditing ``export.download``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.audit import trail
from app.audit.context import audit_context
from app.core import files, jobs
from app.core.errors import ValidationFailed
from app.core.models import Job, StoredFile
from app.core.permissions import has_permission
from app.extensions import db

JOB_KIND = "export"
# Names of the jobs other modules run, for the jobs page (their handlers take no label).
jobs.LABELS.setdefault("audit.bundle", _l("审计包"))
jobs.LABELS.setdefault("reviews.draw", _l("专家抽取"))


@dataclass(frozen=True)
class Export:
    name: str
    label: object  # a lazy string: what the export is called on the jobs page
    permission: str
    build: Callable  # (params, actor, report) -> (bytes, filename, mime)
    check: Callable | None = None  # (params, actor) -> None, raises ValidationFailed


EXPORTS: dict[str, Export] = {}


def register(name: str, label, permission: str, build: Callable, check: Callable | None = None):
    """Make ``build`` available as a background export called ``name``."""
    EXPORTS[name] = Export(name, label, permission, build, check)


def queue_export(name: str, params: dict, *, actor) -> Job:
    """Queue the export ``name`` for ``actor`` (flushed; audit ``export.queue``).

    Raises ``ValidationFailed`` for an unknown export, one the actor may not run, or
    parameters the export's check refuses."""
    spec = EXPORTS.get(name)
    if spec is None or not has_permission(actor, spec.permission):
        raise ValidationFailed(_("无法生成该导出文件。"))
    if spec.check is not None:
        spec.check(params, actor)
    job = jobs.enqueue(JOB_KIND, {"export": name, "params": params}, actor=actor)
    trail.record("export.queue", "job", job.id, actor=actor, after={"export": name, **params})
    return job


def export_of(job: Job) -> Export | None:
    """The registered export a job runs (None for other kinds)."""
    if job.kind != JOB_KIND:
        return None
    return EXPORTS.get((job.payload or {}).get("export"))


def label_of(job: Job) -> str:
    """What a job is called on the jobs page."""
    spec = export_of(job)
    if spec is not None:
        return str(spec.label)
    return str(jobs.LABELS.get(job.kind, job.kind))


def file_of(job: Job) -> StoredFile | None:
    """The stored file of a finished export job."""
    if job.kind != JOB_KIND or job.state != "done" or not job.result:
        return None
    row = db.session.get(StoredFile, job.result.get("file_id") or 0)
    if row is None or row.owner_type != "job" or row.owner_id != job.id:
        return None
    return row


@jobs.handler(JOB_KIND)
def run_export_job(job, report) -> dict:
    """Worker side: build the export as its creator, store the file, return its id."""
    from app.accounts.models import User

    spec = export_of(job)
    if spec is None:
        raise LookupError(f"unknown export {(job.payload or {}).get('export')!r}")
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    params = dict((job.payload or {}).get("params") or {})
    job_id = job.id
    with (
        force_locale(getattr(actor, "locale", None) or "zh_CN"),
        audit_context(
            actor_id=getattr(actor, "id", None),
            actor_role=getattr(actor, "primary_role", None),
            org_id=getattr(actor, "org_id", None),
            user_agent="worker",
        ),
    ):
        data, name, mime = spec.build(params, actor, report)
        row = files.store_bytes(data, name, mime, owner_type="job", owner_id=job_id, kind="export")
    return {"file_id": row.id, "name": row.original_name, "bytes": row.size}


def record_download(job: Job, row: StoredFile, *, actor) -> None:
    """Audit the download of an export job's file (``export.download``); flushes."""
    trail.record(
        "export.download",
        "job",
        job.id,
        actor=actor,
        after={
            "export": (job.payload or {}).get("export"),
            **((job.payload or {}).get("params") or {}),
            "file_id": row.id,
            "sha256": row.sha256,
            "bytes": int(row.size),
        },
    )
