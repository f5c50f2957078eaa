"""Home: what needs doing now; notifications; job progress."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from app.core import clock, export_jobs, files
from app.core.forms import page_args, page_of
from app.core.models import Job, Notification
from app.core.permissions import AUTHENTICATED, PUBLIC, has_permission, requires
from app.extensions import db
from app.home.navigation import menu_for

bp = Blueprint("home", __name__)

# Each module adds a function(user) -> list of (label, count, endpoint) for the to-do panel.
TODO_SOURCES: list = []


@bp.route("/")
@requires(PUBLIC)
def index():
    """The work bench of the signed-in user, or the login page."""
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    todos = [item for source in TODO_SOURCES for item in source(current_user)]
    unread = unread_count(current_user)
    running = db.session.scalar(
        select(db.func.count(Job.id)).where(
            Job.created_by_id == current_user.id, Job.state.in_(("queued", "running"))
        )
    )
    return render_template("home/index.html", todos=todos, unread=unread, running=running)


@bp.route("/favicon.ico")
@requires(PUBLIC)
def favicon():
    """Browsers ask for /favicon.ico on every page: point them at the shipped icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


def unread_count(user) -> int:
    """How many in-app messages ``user`` has not marked read."""
    return db.session.scalar(
        select(db.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


@bp.app_context_processor
def _unread_badge():
    """The header's unread count (signed-in users only; computed when a template asks)."""

    def badge() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return unread_count(current_user)
        except SQLAlchemyError:  # an error page after a failed transaction: no badge
            return 0

    return {"unread_notifications": badge, "menu_for": menu_for}


@bp.route("/notifications")
@requires(AUTHENTICATED)
def notifications():
    """One's own in-app messages, newest first, paged; ``?unread=1`` shows unread only."""
    page, size = page_args(request, default_size=20)
    stmt = select(Notification).where(Notification.user_id == current_user.id)
    only_unread = request.args.get("unread") == "1"
    if only_unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows, total = page_of(stmt.order_by(Notification.id.desc()), page, size)
    return render_template(
        "home/notifications.html",
        rows=rows,
        page=page,
        size=size,
        total=total,
        only_unread=only_unread,
        unread=unread_count(current_user),
    )


@bp.route("/notifications/read", methods=["POST"])
@requires(AUTHENTICATED)
def mark_notifications_read():
    """Mark one own message read (form ``id``; another user's is a 404), or all (``all``);
    then go to the message's link (``open``) or back to the list."""
    now = clock.now()
    if request.form.get("all"):
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
        db.session.commit()
        flash(_("已全部标为已读。"), "success")
        return redirect(url_for("home.notifications"))
    row = db.session.get(Notification, request.form.get("id", type=int) or 0)
    if row is None or row.user_id != current_user.id:
        abort(404)
    if row.read_at is None:
        row.read_at = now
    db.session.commit()
    if request.form.get("open") and row.link and row.link.startswith("/"):
        return redirect(row.link)
    return redirect(url_for("home.notifications", page=request.form.get("page", type=int) or 1))


@bp.route("/jobs/<int:job_id>")
@requires("jobs.read")
def job_status(job_id):
    """A job's progress as JSON, for the page that polls it (its creator only)."""
    job = db.session.get(Job, job_id)
    if job is None or job.created_by_id != current_user.id:
        abort(404)
    return jsonify(
        id=job.id,
        state=job.state,
        progress=job.progress,
        total=job.total,
        message=job.message,
        result=job.result,
    )


@bp.route("/jobs")
@requires("jobs.read")
def list_jobs():
    """One's own background jobs (exports, bundles, draws), newest first, paged."""
    page, size = page_args(request, default_size=20)
    stmt = select(Job).where(Job.created_by_id == current_user.id)
    rows, total = page_of(stmt.order_by(Job.id.desc()), page, size)
    return render_template(
        "home/jobs.html",
        rows=rows,
        page=page,
        size=size,
        total=total,
        label_of=export_jobs.label_of,
        file_of=export_jobs.file_of,
    )


@bp.route("/jobs/<int:job_id>/file")
@requires("jobs.read")
def job_file(job_id):
    """The file a finished export job made, to its creator only; audited (``export.download``)."""
    job = db.session.get(Job, job_id)
    if job is None or job.created_by_id != current_user.id:
        abort(404)
    spec, row = export_jobs.export_of(job), export_jobs.file_of(job)
    if spec is None or row is None:
        abort(404)
    if not has_permission(current_user, spec.permission):
        abort(404)  # lost the right since asking: the file is not theirs to see any more
    path = files.path_for(row.sha256)
    if not path.is_file():
        current_app.logger.error("export file %s of job %s is missing", row.id, job.id)
        abort(404)
    export_jobs.record_download(job, row, actor=current_user)
    return files.send_stored(row, actor=current_user, job_id=job.id)  # + file.download, commits
