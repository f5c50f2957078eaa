"""Rectification items (整改): the society answers with evidence; the agency lead or the
department closes (销号) or reopens."""

from __future__ import annotations

from flask_babel import gettext as _

from app.audit import trail
from app.core import clock
from app.core.errors import NotAllowed, ValidationFailed
from app.core.files import store_upload
from app.core.models import StoredFile
from app.evaluation.models import RectificationItem
from app.evaluation.operations.common import lock
from app.evaluation.states import RECTIFICATION_WORKFLOW
from app.extensions import db


def add_evidence(item: RectificationItem, stream, filename: str, *, actor) -> StoredFile:
    """The society uploads an evidence file for an item it is rectifying (open or reopened).

    Raises ``NotAllowed`` (not the project's society, item not being rectified, the
    evaluation not accepted), ``ValidationFailed`` (type, size). Audited as
    ``rectification.add_evidence`` with the digest.
    """
    decision = RECTIFICATION_WORKFLOW.can(item, "submit", actor)
    if not decision:
        raise NotAllowed(decision.reason)
    row = store_upload(
        stream, filename, kind="any", owner_type="rectification", owner_id=item.id, actor=actor
    )
    trail.record(
        "rectification.add_evidence",
        "rectification",
        item.id,
        actor=actor,
        after={"file_id": row.id, "sha256": row.sha256, "size": row.size},
    )
    return row


def submit_rectification(item: RectificationItem, response: str, *, actor) -> RectificationItem:
    """The society reports what it did (open/reopened → submitted).

    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (no response).
    Audited as ``rectification.submit`` with the number of evidence files.
    """
    item = lock(RectificationItem, item)
    response = (response or "").strip()
    decision = RECTIFICATION_WORKFLOW.can(item, "submit", actor)
    if decision and not response:
        raise ValidationFailed(_("请说明整改情况。"), field="response")
    evidence = item.evidence_count
    with db.session.no_autoflush:  # the row is consistent again once the state is set
        if decision:
            item.response = response
            item.submitted_at = clock.now()
            item.submitted_by_id = actor.id
        RECTIFICATION_WORKFLOW.apply(
            item, "submit", actor=actor, after={"evidence_files": evidence}
        )
    return item


def close_item(item: RectificationItem, *, actor) -> RectificationItem:
    """The agency lead or the department confirms the rectification (submitted → closed).

    Refused without evidence: at least one file must support the response.
    Raises ``NotAllowed`` (who, or no evidence), ``InvalidTransition``. Audited as
    ``rectification.close``.
    """
    item = lock(RectificationItem, item)
    evidence = item.evidence_count
    allowed = RECTIFICATION_WORKFLOW.can(item, "close", actor)
    with db.session.no_autoflush:  # the row is consistent again once the state is set
        if allowed:
            item.closed_at = clock.now()
            item.closed_by_id = actor.id
        RECTIFICATION_WORKFLOW.apply(item, "close", actor=actor, after={"evidence_files": evidence})
    return item


def reopen_item(item: RectificationItem, reason: str, *, actor) -> RectificationItem:
    """Not good enough: the agency lead or the department sends it back (→ reopened).

    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (no reason).
    Audited as ``rectification.reopen``.
    """
    item = lock(RectificationItem, item)
    reason = (reason or "").strip()
    allowed = RECTIFICATION_WORKFLOW.can(item, "reopen", actor)
    with db.session.no_autoflush:  # the row is consistent again once the state is set
        if allowed and reason:
            item.reopen_count += 1
            item.last_reopen_reason = reason
        RECTIFICATION_WORKFLOW.apply(item, "reopen", actor=actor, reason=reason)
    db.session.flush()
    return item
