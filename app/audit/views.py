"""The auditors' trail page: filter, page, and see each change as a diff."""

from __future__ import annotations

import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import User
from app.audit import bundle, downloads
from app.audit.models import AuditEvent
from app.audit.permissions import can_download, can_fetch_bundle
from app.core import clock, jobs
from app.core.errors import ValidationFailed
from app.core.forms import page_args, page_of
from app.core.models import Job
from app.core.permissions import requires
from app.core.sheets import CSV_MIME, XLSX_MIME
from app.extensions import db
from app.home import navigation

bp = Blueprint("audit", __name__, url_prefix="/audit")
navigation.add("audit.list_downloads", _l("下载中心"), "audit.download")


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A date typed as YYYY-MM-DD (Beijing time) as a UTC bound."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    start = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=clock.SHANGHAI)
    return clock.as_utc(start)


def diff(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """Rows (field, old, new) for every field that changed or appeared."""
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@bp.route("/events")
@requires("audit.read")
def events():
    """The audit trail, filterable by actor, action, entity and date range."""
    args = request.args
    page, size = page_args(request)
    stmt = select(AuditEvent)
    if args.get("actor", "").isdigit():
        stmt = stmt.where(AuditEvent.actor_id == int(args["actor"]))
    if args.get("action"):
        stmt = stmt.where(AuditEvent.action.startswith(args["action"].strip()))
    if args.get("entity_type"):
        stmt = stmt.where(AuditEvent.entity_type == args["entity_type"].strip())
    if args.get("entity_id"):
        stmt = stmt.where(AuditEvent.entity_id == args["entity_id"].strip())
    start, end = _day(args.get("from")), _day(args.get("to"), end=True)
    if start and end and start >= end:
        flash(_("起始日期不能晚于结束日期。"), "warning")
    if start:
        stmt = stmt.where(AuditEvent.occurred_at >= start)
    if end:
        stmt = stmt.where(AuditEvent.occurred_at < end)
    rows, total = page_of(stmt.order_by(AuditEvent.seq.desc()), page, size)
    actor_ids = {r.actor_id for r in rows if r.actor_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
    return render_template(
        "audit/events.html",
        rows=rows,
        actors=actors,
        diff=diff,
        args=args,
        page=page,
        size=size,
        total=total,
    )


@bp.route("/downloads")
@requires("audit.download")
def list_downloads():
    """Downloads for audit and finance: trail, trial balance, 项目资金台账, bundle."""
    stmt = select(Job).where(Job.kind == bundle.JOB_KIND)
    if not current_user.has_role("auditor"):
        stmt = stmt.where(Job.created_by_id == current_user.id)
    bundles = db.session.scalars(stmt.order_by(Job.id.desc()).limit(10)).all()
    return render_template(
        "audit/downloads.html",
        args=request.args,
        bundles=bundles,
        can_fetch=can_fetch_bundle,
        choices=downloads.filter_choices(),
    )


@bp.route("/downloads/<kind>.<fmt>")
@requires("audit.download")
def download(kind, fmt):
    """One sheet as CSV or xlsx; the download is audited before the file is sent."""
    if kind not in downloads.FILE_TITLES or fmt not in ("csv", "xlsx"):
        abort(404)
    if not can_download(current_user, kind):
        abort(403)
    fh = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after the response
    try:
        recorded = downloads.write_download(kind, fmt, request.args, fh, actor=current_user)
    except ValidationFailed as err:
        fh.close()
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("audit.list_downloads", **request.args))
    downloads.record_download(kind, fmt, recorded, actor=current_user)
    db.session.commit()
    fh.seek(0)
    return send_file(
        fh,
        mimetype=CSV_MIME if fmt == "csv" else XLSX_MIME,
        as_attachment=True,
        download_name=downloads.file_name(kind, fmt),
    )


@bp.route("/downloads/bundle", methods=["POST"])
@requires("audit.read")
def request_bundle():
    """Queue an audit bundle; the page shows its progress."""
    raw = {k: request.form.get(k, "") for k in downloads.FILTER_KEYS}
    try:
        filters = downloads.parse_filters(raw).as_dict()
    except ValidationFailed as err:
        flash(err.message, "danger")
        return redirect(url_for("audit.list_downloads"))
    jobs.enqueue(bundle.JOB_KIND, {"filters": filters}, actor=current_user)
    db.session.commit()
    flash(_("审计包已开始生成，完成后可在下方下载。"), "info")
    return redirect(url_for("audit.list_downloads"))


@bp.route("/downloads/bundle/<int:job_id>")
@requires("audit.read")
def fetch_bundle(job_id):
    """The finished bundle zip, to its creator or an auditor; the download is audited."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != bundle.JOB_KIND or job.state != "done" or not job.result:
        abort(404)
    if not can_fetch_bundle(current_user, job):
        abort(403)
    path = Path(job.result["path"]).resolve()
    if not path.is_relative_to(bundle.export_dir().resolve()) or not path.is_file():
        abort(404)
    filters = (job.payload or {}).get("filters") or {}
    downloads.record_download("bundle", "zip", filters, actor=current_user)
    db.session.commit()
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)
