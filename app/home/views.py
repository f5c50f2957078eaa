"""Home: what needs doing now; notifications; job progress."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app.core import clock
from app.core.models import Job, Notification
from app.core.permissions import AUTHENTICATED, PUBLIC, requires
from app.extensions import db

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
    unread = db.session.scalar(
        select(db.func.count(Notification.id)).where(
            Notification.user_id == current_user.id, Notification.read_at.is_(None)
        )
    )
    return render_template("home/index.html", todos=todos, unread=unread)


@bp.route("/notifications")
@requires(AUTHENTICATED)
def notifications():
    """In-app messages, newest first; opening the list marks them read."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(200)
    ).all()
    now = clock.now()
    for row in rows:
        if row.read_at is None:
            row.read_at = now
    db.session.commit()
    return render_template("home/notifications.html", rows=rows)


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
