"""Award pages: the decision of a call, the public notice with objections, the
applicant's outcome and reconsideration, task agreements, downloads. One
blueprint, split by stage: ``decisions``, ``notice``, ``objections``,
``outcomes``, ``agreements``."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.audit import trail
from app.awards.models import Award, Objection, TaskAgreement
from app.awards.states import (
    AgreementState,
    AmendmentState,
    AwardState,
    ObjectionState,
    ReconsiderationState,
)
from app.core.errors import DomainError
from app.extensions import db
from app.home import navigation
from app.home.views import TODO_SOURCES
from app.projects import models as _project_models  # noqa: F401  (tables the awards create)

bp = Blueprint("awards", __name__, url_prefix="/awards")
navigation.add("awards.list_calls", _l("立项"), "awards.read")
navigation.add("awards.list_agreements", _l("任务书"), "agreements.read")


@bp.app_template_filter("award_label")
def award_label(value, kind: str = "award") -> str:
    """The staff label of an award, objection, reconsideration or agreement state."""
    enum = {
        "award": AwardState,
        "objection": ObjectionState,
        "amendment": AmendmentState,
        "reconsideration": ReconsiderationState,
        "agreement": AgreementState,
    }[kind]
    return str(enum(str(value)).label)


def fail(err: DomainError) -> None:
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def done(target: str, message: str, **values):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(target, **values))


def download(data: bytes, name: str, mime: str, entity_type: str, entity_id, kind: str):
    from urllib.parse import quote

    trail.record(
        "export.download",
        entity_type,
        entity_id,
        actor=current_user if current_user.is_authenticated else None,
        after={"document": kind, "bytes": len(data)},
    )
    db.session.commit()
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{kind}.{name.rsplit('.', 1)[-1]}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


def _todo(user):
    """Awards to approve, objections and reconsiderations to handle, agreements to sign."""
    out = []
    if user.has_role("approver"):
        n = db.session.scalar(select(db.func.count(Award.id)).where(Award.state == "proposed"))
        if n:
            out.append((_("待审批的立项建议"), n, "awards.list_calls"))
    if user.has_role("officer"):
        n = db.session.scalar(
            select(db.func.count(Objection.id)).where(Objection.state.in_(("received", "accepted")))
        )
        if n:
            out.append((_("待处理的异议"), n, "awards.list_objections"))
        n = db.session.scalar(
            select(db.func.count(TaskAgreement.id)).where(
                TaskAgreement.overdue_at.is_not(None), TaskAgreement.state == "awaiting_signature"
            )
        )
        if n:
            out.append((_("逾期未签的任务书"), n, "awards.list_agreements"))
    if user.has_role("society_admin"):
        n = db.session.scalar(
            select(db.func.count(TaskAgreement.id)).where(
                TaskAgreement.society_id == user.org_id, TaskAgreement.state == "awaiting_signature"
            )
        )
        if n:
            out.append((_("待签订的任务书"), n, "awards.list_agreements"))
    return out


TODO_SOURCES.append(_todo)

from app.awards import demo as _demo  # noqa: E402, F401  (registers the demo step)
from app.awards.views import (  # noqa: E402, F401  (routes join bp)
    agreements,
    decisions,
    notice,
    objections,
    outcomes,
)
