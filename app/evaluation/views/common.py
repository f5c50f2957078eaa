"""The evaluation blueprint and what its pages share: loading or 404, running one
operation, downloads, labels."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.applications.models import Application
from app.audit import trail
from app.core.errors import DomainError
from app.evaluation.models import (
    Evaluation,
    RectificationItem,
)
from app.evaluation.permissions import (
    can_view_evaluation,
    can_view_item,
)
from app.evaluation.states import (
    FOLLOW_UP_LABELS,
    GRADE_LABELS,
    KIND_LABELS,
    EvaluationState,
    RectificationState,
)
from app.extensions import db
from app.home import navigation

bp = Blueprint("evaluation", __name__, url_prefix="/evaluations")
navigation.add("evaluation.list_evaluations", _l("绩效评价"), "evaluation.read")


@bp.app_template_filter("evaluation_label")
def evaluation_label(value, kind: str = "evaluation") -> str:
    """The label of an evaluation or rectification state, a grade or an engagement kind."""
    if value is None:
        return "—"
    if kind == "grade":
        return str(GRADE_LABELS.get(str(value), value))
    if kind == "kind":
        return str(KIND_LABELS.get(str(value), value))
    if kind == "follow_up":
        return str(FOLLOW_UP_LABELS.get(str(value), value))
    enum = RectificationState if kind == "item" else EvaluationState
    return str(enum(str(value)).label)


def fail(err: DomainError) -> None:
    db.session.rollback()
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def back(evaluation_id: int):
    return redirect(url_for("evaluation.show_evaluation", evaluation_id=evaluation_id), 303)


def run(evaluation_id: int, done: str, fn, *args, **kwargs):
    """Run one operation; commit and say ``done``, or show the refusal."""
    try:
        fn(*args, actor=current_user, **kwargs)
    except DomainError as err:
        fail(err)
        return back(evaluation_id)
    db.session.commit()
    flash(done, "success")
    return back(evaluation_id)


def evaluation_or_404(evaluation_id: int) -> Evaluation:
    """The evaluation if the user may see it; anyone else gets a 404, not a 403."""
    row = db.session.get(Evaluation, evaluation_id)
    if row is None or not can_view_evaluation(current_user, row):
        abort(404)
    return row


def item_or_404(item_id: int) -> RectificationItem:
    item = db.session.get(RectificationItem, item_id)
    if item is None or not can_view_item(current_user, item):
        abort(404)
    return item


def download(data: bytes, name: str, mime: str, entity_type: str, entity_id, kind: str):
    trail.record(
        "export.download",
        entity_type,
        entity_id,
        actor=current_user,
        after={"document": kind, "bytes": len(data)},
    )
    db.session.commit()
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{kind}.{name.rsplit('.', 1)[-1]}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


def titles(projects) -> dict[int, str]:
    ids = [p.application_id for p in projects]
    if not ids:
        return {}
    pairs = db.session.execute(
        select(Application.id, Application.title).where(Application.id.in_(ids))
    ).all()
    by_app = dict(pairs)
    return {p.id: by_app.get(p.application_id, "") for p in projects}
