"""The eligibility check (形式审查): accept, return for revision, reject; batches;
and the entry point the review and award modules move applications with."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.applications import notices
from app.applications.models import Application, Decision
from app.applications.operations.common import lock, require, touch
from app.applications.states import APPLICATION_WORKFLOW
from app.core.errors import DomainError, NotAllowed, ValidationFailed
from app.extensions import db

CHECK_ACTIONS = ("accept", "return", "reject")


def check_application(app: Application, action: str, *, actor, reason: str | None = None):
    """An officer accepts (受理), returns (退回修改) or rejects (不予受理) an endorsed application.

    Returning and rejecting need written reasons, which the applicant sees;
    returning is refused once the call's ``max_returns`` is reached; accepting
    is refused while a required matching commitment is unconfirmed. A
    return clears the endorsement (the society endorses the revision again).
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed``.
    Audited as ``application.<action>`` with the reason.
    """
    if action not in CHECK_ACTIONS:
        raise ValidationFailed(_("未知操作。"))
    app = lock(app)
    require(APPLICATION_WORKFLOW.can(app, action, actor))
    reason = (reason or "").strip() or None
    if action in ("return", "reject") and not reason:
        raise ValidationFailed(_("请填写书面理由。"), field="reason")
    # --- stations (issue 12): a 差-graded station blocks its lead society ---
    if action == "accept":
        from app.stations.reporting import application_block

        if block := application_block(app.call, app.society_id, app.id):
            raise NotAllowed(block)
    # --- end stations ---
    returns = app.return_count + (1 if action == "return" else 0)
    with db.session.no_autoflush:
        if action == "return":
            app.endorsed_at = app.endorsed_by_id = None  # cleared with the state, one flush
        touch(app, actor)
        db.session.add(
            Decision(application_id=app.id, kind=action, reason=reason, actor_id=actor.id)
        )
    # The guard counts the returns made so far, so the count moves after the transition.
    APPLICATION_WORKFLOW.apply(
        app,
        action,
        actor=actor,
        reason=reason,
        after={"version": app.version, "return_count": returns},
    )
    app.return_count = returns
    db.session.flush()
    if action == "return":
        notices.application_returned(app, reason)
    return app


def batch_check(ids, action: str, *, actor, reason: str | None = None):
    """Apply one eligibility decision with one reason to several applications.

    Each application is decided in its own savepoint: one that cannot be
    decided (wrong state, return limit, unconfirmed matching) is skipped with
    its reason and the others go ahead. Returns ``(done, skipped)`` where
    ``skipped`` is a list of ``(application, message)``.
    """
    if action not in CHECK_ACTIONS:
        raise ValidationFailed(_("未知操作。"))
    if action in ("return", "reject") and not (reason or "").strip():
        raise ValidationFailed(_("请填写书面理由。"), field="reason")
    apps = db.session.scalars(
        select(Application).where(Application.id.in_(list(ids))).order_by(Application.id)
    ).all()
    if not apps:
        raise ValidationFailed(_("请至少选择一份申报书。"))
    done, skipped = [], []
    for app in apps:
        try:
            with db.session.begin_nested():
                check_application(app, action, actor=actor, reason=reason)
            done.append(app)
        except DomainError as err:
            skipped.append((app, err.message))
    return done, skipped


def advance_application(app: Application, action: str, *, actor=None, reason: str | None = None):
    """Move an application for the review and award modules (the system transitions).

    ``action``: ``start_review`` (accepted → in_review), ``finish_review``
    (→ reviewed), ``propose`` (→ proposed), ``not_fund`` (reviewed/proposed →
    not_funded), ``award`` (proposed → awarded). The caller has checked its
    own permission. Raises ``InvalidTransition``. Audited as ``application.<action>``.
    """
    if action not in ("start_review", "finish_review", "propose", "not_fund", "award"):
        raise ValidationFailed(_("未知操作。"))
    app = lock(app)
    touch(app, actor)
    APPLICATION_WORKFLOW.apply(
        app, action, actor=actor, reason=reason, system=True, after={"version": app.version}
    )
    return app
