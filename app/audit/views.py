"""The auditors' trail page: filter, page, and see each change as a diff."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.core.forms import page_args
from app.core.permissions import requires
from app.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


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
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(
        stmt.order_by(AuditEvent.seq.desc()).limit(size).offset((page - 1) * size)
    ).all()
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
