"""Background jobs: a table written in the request's transaction, run by the worker."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select, update

from app.core import clock
from app.core.models import Job
from app.extensions import db

# kind → handler(job, report) where report(progress, total, message) records progress.
HANDLERS: dict[str, Callable] = {}
# kind → what the job is called on the "my jobs" page (a lazy string).
LABELS: dict[str, object] = {}


def handler(kind: str, label=None):
    """Register the function that runs jobs of ``kind`` (``label`` names it to users)."""

    def decorate(fn):
        HANDLERS[kind] = fn
        if label is not None:
            LABELS[kind] = label
        return fn

    return decorate


def enqueue(kind: str, payload: dict, *, actor=None) -> Job:
    """Queue a job in the caller's transaction."""
    if kind not in HANDLERS:
        raise KeyError(f"no handler for job kind {kind!r}")
    job = Job(kind=kind, payload=payload, created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    return job


def _claim() -> Job | None:
    """Take the oldest queued job; the conditional UPDATE stops two workers taking one."""
    job_id = db.session.scalar(
        select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(1)
    )
    if job_id is None:
        db.session.rollback()
        return None
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "queued")
        .values(state="running", started_at=clock.now())
    ).rowcount
    db.session.commit()
    return db.session.get(Job, job_id) if claimed else None


def run_one() -> Job | None:
    """Run the next queued job, if any; returns it."""
    job = _claim()
    if job is None:
        return None
    job_id = job.id

    def report(progress: int, total: int | None = None, message: str | None = None) -> None:
        # Commits so the polling page sees progress: handlers call it only at consistent points.
        current = db.session.get(Job, job_id)
        current.progress = progress
        if total is not None:
            current.total = total
        if message is not None:
            current.message = message
        db.session.commit()

    try:
        result = HANDLERS[job.kind](job, report)
        job.result = result or {}
        job.state = "done"
        job.finished_at = clock.now()
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - a failed job is recorded, the worker goes on
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.state, job.finished_at = "failed", clock.now()
        job.message = f"{type(exc).__name__}: {exc}"
        current_app.logger.error("job %s failed\n%s", job_id, traceback.format_exc())
        db.session.commit()
    return job


def work(*, once: bool = False, poll_seconds: float = 1.0) -> None:
    """Run jobs until interrupted (or until the queue is empty with ``once``)."""
    from app.core.outbox import send_pending

    while True:
        ran = run_one()
        send_pending()
        if ran is None:
            if once:
                return
            time.sleep(poll_seconds)
