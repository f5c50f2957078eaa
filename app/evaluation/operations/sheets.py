"""The score sheets of an evaluation: the society's self-evaluation and the agency's."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from app.audit import trail
from app.core import clock
from app.core.errors import ValidationFailed
from app.evaluation.models import Evaluation, EvaluationScore, EvaluationVeto
from app.evaluation.operations.common import lock, require, rubric_for
from app.evaluation.permissions import can_score, can_self_evaluate
from app.extensions import db
from app.reviews.operations.common import lang
from app.reviews.rubric import Rubric
from app.reviews.scoring import review_total, round_half_up, validate_sheet
from app.reviews.texts import plain, say


def _blocking(rubric: Rubric, problems: list[str], language: str) -> list[str]:
    """Problems that block even saving a draft: bad numbers, not missing answers."""
    allowed = set()
    for c in rubric.criteria:
        title = c.title.get(language)
        allowed.add(say(language, "sheet_missing", title=title))
        allowed.add(say(language, "sheet_na_required", title=title))
        if c.comment_required_below is not None:
            threshold = plain(c.comment_required_below)
            allowed.add(say(language, "sheet_comment", title=title, threshold=threshold))
    return [p for p in problems if p not in allowed]


def _normalise(scores: dict, comments: dict | None) -> tuple[dict, dict]:
    """None: not applicable; a blank string: not scored yet (dropped); else trimmed text."""
    out = {}
    for key, value in (scores or {}).items():
        if value is None:
            out[key] = None
        elif isinstance(value, str) and not value.strip():
            continue
        else:
            out[key] = value.strip() if isinstance(value, str) else str(value)
    return out, {k: (v or "").strip() for k, v in (comments or {}).items()}


def save_sheet(
    evaluation: Evaluation,
    which: str,
    scores: dict,
    comments: dict | None = None,
    vetoes: dict | None = None,
    *,
    actor,
) -> Evaluation:
    """Save the ``self`` (society) or ``agency`` (evaluators) sheet as a draft.

    ``scores`` maps criterion key → score text (None: not applicable; blank: not yet
    scored); ``comments`` key → comment; ``vetoes`` (agency sheet only) maps each raised
    veto key of the rubric → its reason, and replaces the vetoes raised before (None
    leaves them as they are). A score off the criterion's range or step, an unknown key,
    a veto without a reason or on the self sheet is refused (``ValidationFailed``
    listing each); missing answers are allowed until submission. Raises ``NotAllowed``
    outside the sheet's stage or for someone else. Audited as
    ``evaluation.save_<which>_sheet`` with the scores and the raised veto keys.
    """
    if which not in ("self", "agency"):
        raise ValidationFailed(_("未知评分表。"))
    require(
        can_self_evaluate(actor, evaluation) if which == "self" else can_score(actor, evaluation)
    )
    evaluation = lock(Evaluation, evaluation)
    rubric = rubric_for(evaluation)
    language = lang()
    scores, comments = _normalise(scores, comments)
    raised = None if vetoes is None else {k: (v or "").strip() for k, v in vetoes.items()}
    if raised and which != "agency":
        raise ValidationFailed(_("否决项只能由评价人员在评价评分表中提出。"))
    problems = _blocking(
        rubric, validate_sheet(rubric, scores, comments, raised, lang=language), language
    )
    if problems:
        raise ValidationFailed(_("评分有误，未保存。"), details=problems)
    existing = evaluation.sheet(which)
    now = clock.now()
    for c in rubric.criteria:
        row = existing.get(c.key)
        if c.key not in scores:
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            row = EvaluationScore(evaluation_id=evaluation.id, sheet=which, criterion_key=c.key)
            db.session.add(row)
        row.score = scores[c.key]
        row.comment = comments.get(c.key, "")
        row.scored_by_id = actor.id
        row.updated_at = now
    if raised is not None:
        _write_vetoes(evaluation, raised, actor=actor, now=now)
    db.session.flush()
    db.session.expire(evaluation, ["scores", "vetoes"])
    after = {"scores": {k: v for k, v in sorted(scores.items())}}
    if which == "agency":
        after["vetoes"] = sorted(raised if raised is not None else evaluation_vetoes(evaluation))
    trail.record(
        f"evaluation.save_{which}_sheet", "evaluation", evaluation.id, actor=actor, after=after
    )
    return evaluation


def _write_vetoes(evaluation: Evaluation, raised: dict, *, actor, now) -> None:
    existing = {v.veto_key: v for v in evaluation.vetoes}
    for key, row in existing.items():
        if key not in raised:
            db.session.delete(row)
    for key, reason in raised.items():
        row = existing.get(key)
        if row is None:
            db.session.add(
                EvaluationVeto(
                    evaluation_id=evaluation.id,
                    veto_key=key,
                    reason=reason,
                    raised_by_id=actor.id,
                    raised_at=now,
                )
            )
        elif row.reason != reason:
            row.reason = reason
            row.raised_by_id = actor.id
            row.raised_at = now


def evaluation_vetoes(evaluation: Evaluation) -> dict[str, str]:
    """The veto items raised on the agency sheet: key → reason, in rubric order."""
    return {v.veto_key: v.reason for v in evaluation.vetoes}


def sheet_scores(evaluation: Evaluation, which: str) -> tuple[dict, dict]:
    """(scores, comments) of a sheet as stored: key → text or None (not applicable)."""
    rows = evaluation.sheet(which)
    return {k: r.score for k, r in rows.items()}, {k: r.comment for k, r in rows.items()}


def sheet_problems(evaluation: Evaluation, which: str) -> list[str]:
    """Everything that stops the sheet from being submitted (empty when it can be)."""
    scores, comments = sheet_scores(evaluation, which)
    return validate_sheet(rubric_for(evaluation), scores, comments, lang=lang())


def sheet_total(evaluation: Evaluation, which: str) -> Decimal | None:
    """The sheet's total on 0–100, rounded half-up to 2 decimals (None when nothing scored).

    Not applicable criteria drop out with their weight (``review_total``).
    """
    scores, _comments = sheet_scores(evaluation, which)
    numbers = {k: Decimal(v) for k, v in scores.items() if v is not None}
    total = review_total(rubric_for(evaluation), numbers)
    return None if total is None else round_half_up(total)


def group_subtotals(evaluation: Evaluation, which: str) -> list[tuple[str, Decimal, Decimal]]:
    """Per top-level group (决策 / 过程 / 产出 / 效益): (group, points scored, weight).

    Points are the weighted fractions of the answered criteria, as the total counts them.
    """
    rubric = rubric_for(evaluation)
    scores, _comments = sheet_scores(evaluation, which)
    out: dict[str, list[Decimal]] = {}
    for c in rubric.criteria:
        group = c.group or ""
        entry = out.setdefault(group, [Decimal(0), Decimal(0)])
        entry[1] += c.weight
        value = scores.get(c.key)
        if value is not None:
            entry[0] += c.weight * c.fraction(Decimal(value))
    return [(g, round_half_up(v[0]), v[1]) for g, v in out.items()]
