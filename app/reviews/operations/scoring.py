"""Answering an invitation, the score sheet (draft, submit, reopen) and closing the round."""

from __future__ import annotations

from decimal import Decimal

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import inspect, select
from sqlalchemy.orm import defaultload, undefer

from app.applications.models import Application, Revision
from app.applications.operations import advance_application
from app.audit import trail
from app.core import clock
from app.core.errors import InvalidTransition, ValidationFailed
from app.extensions import db
from app.reviews.models import ConflictRecord, Expert, ReviewAssignment, ReviewScore, ReviewVeto
from app.reviews.operations.common import lang, require, rubric_of
from app.reviews.operations.draw import replace_after_refusal
from app.reviews.permissions import (
    can_draw,
    can_reopen,
    can_respond,
    can_score,
    can_view_assigned,
)
from app.reviews.rubric import Rubric
from app.reviews.scoring import review_total, round_half_up, validate_sheet
from app.reviews.states import ACTIVE_STATES, ASSIGNMENT_WORKFLOW
from app.reviews.texts import plain, say


def own_user_lazily():
    """Loader option: an assignment's expert without their user joined in.

    The user is the signed-in reviewer (or an officer's lookup of one), already in the
    session with their roles; a joined user would reload the roles (a query) each time.
    ``assignment.expert.user`` still works: a lookup in the session, or a lazy load.
    """
    return defaultload(ReviewAssignment.expert).lazyload(Expert.user)


_LOCKED = "locked_for_save"  # InstanceState.info: the transaction that locked the row


def _read_locked(assignment_id: int) -> ReviewAssignment | None:
    return db.session.execute(
        select(ReviewAssignment)
        .where(ReviewAssignment.id == assignment_id)
        .options(own_user_lazily(), undefer(ReviewAssignment.sheet_rubric_digest))
        .with_for_update(of=ReviewAssignment)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def load_for_save(assignment_id: int) -> ReviewAssignment | None:
    """The assignment read under its row lock, for a save or submit in this transaction.

    The sheet's POST reads the row this way once; the next ``save_sheet`` or
    ``submit_sheet`` in the same transaction takes it as locked and fresh instead of
    reading it again.
    """
    row = _read_locked(assignment_id)
    if row is not None:
        inspect(row).info[_LOCKED] = db.session().get_transaction()
    return row


def _lock(assignment: ReviewAssignment) -> ReviewAssignment:
    locked_in = inspect(assignment).info.pop(_LOCKED, None)
    if locked_in is not None and locked_in is db.session().get_transaction():
        return assignment
    return _read_locked(assignment.id)


def respond(
    assignment: ReviewAssignment,
    action: str,
    *,
    actor,
    reason: str | None = None,
    no_conflict: bool = False,
    pledge: bool = False,
):
    """The invited expert accepts, declines or recuses.

    ``accept`` needs both the no-conflict declaration and the confidentiality
    pledge; ``recuse`` needs a reason and keeps a ``self_declared`` conflict. A
    decline or recusal invites the first eligible reserve expert at once.
    Returns the replacement assignment (or None). Raises ``NotAllowed``,
    ``ValidationFailed``, ``InvalidTransition``. Audited as
    ``review_assignment.<action>`` (and ``.replace``).
    """
    if action not in ("accept", "decline", "recuse"):
        raise ValidationFailed(_("未知操作。"))
    require(can_respond(actor, assignment))
    assignment = _lock(assignment)
    reason = (reason or "").strip() or None
    if action == "accept" and not (no_conflict and pledge):
        raise ValidationFailed(
            _("接受评审前须声明与该申报无利益冲突并签署保密承诺。"), field="no_conflict"
        )
    if action == "recuse" and not reason:
        raise ValidationFailed(_("请填写回避理由。"), field="reason")
    now = clock.now()
    assignment.responded_at = now
    assignment.response_reason = reason
    if action == "accept":
        assignment.declared_at = now
    ASSIGNMENT_WORKFLOW.apply(
        assignment,
        action,
        actor=actor,
        reason=reason,
        after={
            "application_id": assignment.application_id,
            "expert_id": assignment.expert_id,
            "no_conflict": bool(no_conflict) if action == "accept" else None,
            "pledge": bool(pledge) if action == "accept" else None,
        },
    )
    db.session.flush()
    if action == "accept":
        return None
    if action == "recuse":
        db.session.add(
            ConflictRecord(
                call_id=assignment.call_id,
                application_id=assignment.application_id,
                expert_id=assignment.expert_id,
                reason="self_declared",
                detail=reason,
            )
        )
        db.session.flush()
    return replace_after_refusal(assignment, actor=actor)


def sheet_rubric(assignment: ReviewAssignment) -> Rubric:
    """The rubric the sheet is (or will be) scored on: the pinned one, else the call's."""
    snapshot_id = assignment.rubric_snapshot_id or assignment.application.call.rubric_snapshot_id
    # Read with the row by the sheet's own queries (see ``sheet_rubric_digest``).
    digest = inspect(assignment).dict.get("sheet_rubric_digest")
    if not has_request_context():
        return rubric_of(snapshot_id, digest)
    # Kept for the request: the view and the save both ask, and the snapshot row is
    # not held by anything else (the session forgets it and would read it again).
    rubrics = g.setdefault("sheet_rubrics", {})
    if snapshot_id not in rubrics:
        rubrics[snapshot_id] = rubric_of(snapshot_id, digest)
    return rubrics[snapshot_id]


def _draft_only(rubric: Rubric, problems: list[str], language: str) -> list[str]:
    """Problems that block even a draft: bad numbers, not missing answers or comments."""
    if not problems:
        return []
    # The texts a draft may leave open, rendered once per rubric and language (some 20
    # translations, ~2 ms a save): a rubric is immutable and kept (see ``rubric_of``).
    key = (id(rubric), language)
    kept = _DRAFT_ALLOWED.get(key)
    if kept is None or kept[0] is not rubric:
        if len(_DRAFT_ALLOWED) >= 64:
            _DRAFT_ALLOWED.clear()
        kept = _DRAFT_ALLOWED[key] = (rubric, _allowed_in_draft(rubric, language))
    return [p for p in problems if p not in kept[1]]


_DRAFT_ALLOWED: dict[tuple[int, str], tuple[Rubric, frozenset[str]]] = {}


def _allowed_in_draft(rubric: Rubric, language: str) -> frozenset[str]:
    allowed = set()
    for c in rubric.criteria:
        title = c.title.get(language)
        allowed.add(say(language, "sheet_missing", title=title))
        allowed.add(say(language, "sheet_na_required", title=title))
        if c.comment_required_below is not None:
            allowed.add(
                say(
                    language,
                    "sheet_comment",
                    title=title,
                    threshold=plain(c.comment_required_below),
                )
            )
    for v in rubric.vetoes:
        allowed.add(say(language, "sheet_veto_comment", title=v.title.get(language)))
    return frozenset(allowed)


def _normalise(data: dict) -> tuple[dict, dict, dict, str]:
    scores = {}
    for key, value in (data.get("scores") or {}).items():
        if value is None:
            scores[key] = None  # not applicable
        elif isinstance(value, str) and not value.strip():
            continue  # not scored yet
        else:
            scores[key] = value.strip() if isinstance(value, str) else str(value)
    comments = {k: (v or "").strip() for k, v in (data.get("comments") or {}).items()}
    vetoes = {k: (v or "").strip() for k, v in (data.get("vetoes") or {}).items()}
    return scores, comments, vetoes, (data.get("overall_comment") or "").strip()


def _write(assignment: ReviewAssignment, scores, comments, vetoes, overall) -> None:
    """Update the sheet's rows in place (a unit of work inserts before it deletes)."""
    with db.session.no_autoflush:
        existing = {s.criterion_key: s for s in assignment.scores}
        for key, row in existing.items():
            if key not in scores:
                assignment.scores.remove(row)
        for key, value in scores.items():
            row = existing.get(key) or ReviewScore(criterion_key=key)
            row.score = None if value is None else _plain(value)
            row.comment = comments.get(key, "")
            if key not in existing:
                assignment.scores.append(row)
        raised = {v.veto_key: v for v in assignment.vetoes}
        for key, row in raised.items():
            if key not in vetoes:
                assignment.vetoes.remove(row)
        for key, reason in vetoes.items():
            if key in raised:
                raised[key].reason = reason
            else:
                assignment.vetoes.append(ReviewVeto(veto_key=key, reason=reason))
        assignment.overall_comment = overall
        assignment.updated_at = clock.now()
    db.session.flush()


def _plain(value) -> str:
    """A score as exact text without trailing zeros ("8.50" → "8.5", "10" → "10")."""
    text = format(Decimal(value).normalize(), "f")
    return text


def _plain_scores(scores: dict) -> dict:
    return {k: None if v is None else _plain(v) for k, v in scores.items()}


def save_sheet(assignment: ReviewAssignment, data: dict, *, actor) -> ReviewAssignment:
    """Save a draft score sheet; unscored criteria may stay blank.

    ``data``: ``scores`` {criterion: score text, or None for not applicable},
    ``comments`` {criterion: text}, ``vetoes`` {veto key: reason}, ``overall_comment``.
    Raises ``NotAllowed`` (not the expert's, or locked) and ``ValidationFailed``
    whose details list bad numbers; nothing is saved then. Audited as
    ``review_assignment.save`` with the scores as strings.
    """
    require(can_score(actor, assignment))
    assignment = _lock(assignment)
    rubric = sheet_rubric(assignment)
    scores, comments, vetoes, overall = _normalise(data)
    language = lang()
    problems = _draft_only(
        rubric, validate_sheet(rubric, scores, comments, vetoes, language), language
    )
    if problems:
        raise ValidationFailed(_("评分表有错误，未保存。"), details=problems)
    _write(assignment, scores, comments, vetoes, overall)
    trail.record(
        "review_assignment.save",
        "review_assignment",
        assignment.id,
        actor=actor,
        after={"scores": _plain_scores(scores), "vetoes": sorted(vetoes)},
    )
    return assignment


def submit_sheet(assignment: ReviewAssignment, data: dict, *, actor) -> ReviewAssignment:
    """Submit the score sheet: every problem is reported and nothing saved, or it is
    saved, totalled, pinned to the rubric snapshot and the application revision, and locked.

    Raises ``NotAllowed``, ``ValidationFailed`` (details: every message of
    ``validate_sheet``), ``InvalidTransition``. Audited as
    ``review_assignment.submit`` with the scores and total as strings.
    """
    require(can_score(actor, assignment))
    assignment = _lock(assignment)
    rubric = sheet_rubric(assignment)
    scores, comments, vetoes, overall = _normalise(data)
    problems = validate_sheet(rubric, scores, comments, vetoes, lang())
    if problems:
        raise ValidationFailed(
            _("评分表有 %(n)s 处问题，未提交。", n=len(problems)), details=problems
        )
    revision_id = db.session.scalar(
        select(Revision.id)
        .where(Revision.application_id == assignment.application_id)
        .order_by(Revision.number.desc())
        .limit(1)
    )
    if revision_id is None:
        raise InvalidTransition(_("申报书没有可评审的提交版本。"))
    _write(assignment, scores, comments, vetoes, overall)
    total = review_total(rubric, {k: None if v is None else Decimal(v) for k, v in scores.items()})
    assignment.total = None if total is None else str(round_half_up(total))
    assignment.rubric_snapshot_id = assignment.application.call.rubric_snapshot_id
    assignment.revision_id = revision_id
    assignment.submitted_at = clock.now()
    ASSIGNMENT_WORKFLOW.apply(
        assignment,
        "submit",
        actor=actor,
        after={
            "application_id": assignment.application_id,
            "total": assignment.total,
            "scores": _plain_scores(scores),
            "vetoes": sorted(vetoes),
            "rubric_snapshot_id": assignment.rubric_snapshot_id,
            "revision_id": revision_id,
        },
    )
    db.session.flush()
    return assignment


def reopen_sheet(assignment: ReviewAssignment, *, actor, reason: str) -> ReviewAssignment:
    """An officer sends a submitted sheet back to its expert, with a reason.

    Refused once the application's round is closed (reviewed). Raises
    ``NotAllowed``, ``ValidationFailed`` (no reason), ``InvalidTransition``.
    Audited as ``review_assignment.reopen`` with the reason and the total before.
    """
    require(can_reopen(actor, assignment))
    if assignment.application.state != "in_review":
        raise InvalidTransition(_("该申报书的评审已结束，不能退回重评。"))
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写退回理由。"), field="reason")
    assignment = _lock(assignment)
    total = assignment.total
    assignment.submitted_at = None
    assignment.reopen_count += 1
    ASSIGNMENT_WORKFLOW.apply(
        assignment,
        "reopen",
        actor=actor,
        reason=reason.strip(),
        after={"previous_total": total, "reopen_count": assignment.reopen_count},
    )
    db.session.flush()
    return assignment


def round_status(application: Application) -> tuple[int, int, int]:
    """(submitted, still outstanding, required) for an application's reviewers."""
    rows = db.session.scalars(
        select(ReviewAssignment.state).where(ReviewAssignment.application_id == application.id)
    ).all()
    submitted = sum(1 for s in rows if s == "submitted")
    outstanding = sum(1 for s in rows if s in ACTIVE_STATES and s != "submitted")
    return submitted, outstanding, application.call.reviews_per_application


def finish_round(call, *, actor) -> tuple[list[Application], list[Application]]:
    """Move every in-review application whose reviewers have all submitted to reviewed.

    Returns ``(finished, still_open)``. Raises ``NotAllowed``. Each move is
    audited as ``application.finish_review``.
    """
    require(can_draw(actor, call))
    done, waiting = [], []
    apps = db.session.scalars(
        select(Application)
        .where(Application.call_id == call.id, Application.state == "in_review")
        .order_by(Application.id)
    ).all()
    for app in apps:
        submitted, outstanding, required = round_status(app)
        if outstanding == 0 and submitted >= required:
            done.append(advance_application(app, "finish_review", actor=actor))
        else:
            waiting.append(app)
    return done, waiting


def reviewed_revision(assignment: ReviewAssignment) -> Revision | None:
    """The application revision the expert reviews: the one pinned at submission,
    else the latest submitted one."""
    if assignment.revision_id is not None:
        return db.session.get(Revision, assignment.revision_id)
    return db.session.scalar(
        select(Revision)
        .where(Revision.application_id == assignment.application_id)
        .order_by(Revision.number.desc())
        .limit(1)
    )


def identity_hidden(assignment: ReviewAssignment) -> bool:
    """Whether the call hides the applicant's identity from its reviewers (匿名评审)."""
    return bool(assignment.application.call.hide_applicant_identity)


def neutral_code(assignment: ReviewAssignment) -> str:
    """What an anonymous review shows instead of the applicant: the application's code."""
    app = assignment.application
    return app.project_number or f"A{app.id:05d}"


def open_attachment(assignment: ReviewAssignment, index: int, *, actor):
    """The ``index``-th attachment of the revision under review, for its expert.

    Returns ``(StoredFile, download name)`` or None when there is no such file.
    Raises ``NotAllowed`` unless the expert was assigned, accepted and declared.
    Audited as ``review_assignment.attachment`` with the revision, kind and sha256.
    """
    from app.core.files import path_for
    from app.core.models import StoredFile

    require(can_view_assigned(actor, assignment))
    revision = reviewed_revision(assignment)
    items = (revision.snapshot or {}).get("attachments") or [] if revision else []
    if not 0 <= index < len(items):
        return None
    item = items[index]
    stored = db.session.scalar(
        select(StoredFile)
        .where(
            StoredFile.sha256 == item["file_sha256"],
            StoredFile.owner_type == "application",
            StoredFile.owner_id == assignment.application_id,
        )
        .order_by(StoredFile.id)
        .limit(1)
    )
    if stored is None or not path_for(stored.sha256).is_file():
        return None
    trail.record(
        "review_assignment.attachment",
        "review_assignment",
        assignment.id,
        actor=actor,
        after={
            "application_id": assignment.application_id,
            "revision_id": revision.id,
            "kind": item.get("kind"),
            "sha256": stored.sha256,
            "bytes": stored.size,
        },
    )
    return stored, item.get("name") or stored.original_name
