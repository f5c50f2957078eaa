"""Shared pieces of the panel stage: finding and locking a call's panel, the state
machine's entry point with its timestamp columns."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.calls.models import Call
from app.core import clock
from app.core.errors import Conflict, DomainError
from app.extensions import db
from app.reviews.models import (
    ReviewPanel,
)
from app.reviews.states import (
    PANEL_WORKFLOW,
)

# Applications that can be shortlisted: under or after remote review, not yet decided.
SHORTLIST_STATES = ("in_review", "reviewed")


def max_per_org() -> int:
    return int(current_app.config.get("REVIEW_PANEL_MAX_PER_ORG", 2))


def panel_of(call: Call) -> ReviewPanel | None:
    """The call's panel, if it has one."""
    return db.session.scalar(select(ReviewPanel).where(ReviewPanel.call_id == call.id))


def locked(panel: ReviewPanel) -> ReviewPanel:
    """Serialise changes to one panel (PostgreSQL ``FOR UPDATE``; SQLite writes are
    serialised anyway): two members submitting at once must not both miss closing
    scoring, nor one member submit twice."""
    db.session.execute(select(ReviewPanel.id).where(ReviewPanel.id == panel.id).with_for_update())
    db.session.refresh(panel)
    for member in panel.members:
        db.session.refresh(member)
    return panel


def require_forming(panel: ReviewPanel) -> None:
    if panel.state != "forming":
        raise Conflict(_("评审组已开始评审，成员和答辩安排不能再修改。"))


def apply_transition(panel: ReviewPanel, action: str, stamp: str | None = None, **kwargs):
    """``PANEL_WORKFLOW.apply`` with the timestamp column the target state needs (the
    CHECK constraints tie them), left unset when the transition is refused."""
    if stamp is not None:
        setattr(panel, stamp, clock.now())
    try:
        return PANEL_WORKFLOW.apply(panel, action, **kwargs)
    except DomainError:
        if stamp is not None:
            setattr(panel, stamp, None)
        raise
