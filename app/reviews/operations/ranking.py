"""Aggregation and ranking of a call's submitted reviews; expert ratings and fees."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.applications.models import Application
from app.audit import trail
from app.calls.models import Call
from app.core.errors import ValidationFailed
from app.extensions import db
from app.reviews.models import Expert, ExpertRating, ReviewAssignment
from app.reviews.operations.common import require, rubric_of
from app.reviews.permissions import can_draw
from app.reviews.rubric import Rubric
from app.reviews.scoring import (
    RankedApplication,
    ReviewTotal,
    VetoMark,
    icc1,
    leniency,
    rank_applications,
    review_total,
)


def submitted_of(call_id: int) -> list[ReviewAssignment]:
    """The call's submitted score sheets, by application then id."""
    return list(
        db.session.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.call_id == call_id, ReviewAssignment.state == "submitted")
            .order_by(ReviewAssignment.application_id, ReviewAssignment.id)
            # Every sheet's scores and vetoes are read: two queries, not two per sheet.
            .options(selectinload(ReviewAssignment.scores), selectinload(ReviewAssignment.vetoes))
        )
    )


def totals_and_vetoes(rows: list[ReviewAssignment]) -> tuple[list[ReviewTotal], list[VetoMark]]:
    """Each sheet's total recomputed from its scores on its pinned rubric, and its vetoes."""
    totals, marks = [], []
    rubrics: dict[int, Rubric] = {}  # one lookup per snapshot, not one per sheet
    for r in rows:
        if r.rubric_snapshot_id not in rubrics:
            rubrics[r.rubric_snapshot_id] = rubric_of(r.rubric_snapshot_id)
        rubric = rubrics[r.rubric_snapshot_id]
        scores = {s.criterion_key: None if s.score is None else Decimal(s.score) for s in r.scores}
        totals.append(
            ReviewTotal(str(r.application_id), str(r.expert_id), review_total(rubric, scores))
        )
        marks += [VetoMark(str(r.application_id), str(r.expert_id), v.veto_key) for v in r.vetoes]
    return totals, marks


@dataclass
class RankRow:
    """One application on the ranking page."""

    application: Application
    ranked: RankedApplication
    totals: list[tuple[ReviewAssignment, Decimal | None]] = field(default_factory=list)


@dataclass
class Ranking:
    """A call's ranking with reliability and leniency."""

    rubric: Rubric | None
    rows: list[RankRow]
    icc: Decimal | None
    leniency: dict[int, Decimal]
    reviews: int


def rank_call(call: Call) -> Ranking:
    """Aggregate and rank the submitted reviews of ``call`` (scoring.rank_applications)."""
    rows = submitted_of(call.id)
    if not call.rubric_snapshot_id:
        return Ranking(None, [], None, {}, 0)
    rubric = rubric_of(call.rubric_snapshot_id)
    totals, marks = totals_and_vetoes(rows)
    ranked = rank_applications(rubric, totals, marks)
    by_app: dict[int, list[tuple[ReviewAssignment, Decimal | None]]] = {}
    lookup = {(t.application, t.reviewer): t.total for t in totals}
    for r in rows:
        by_app.setdefault(r.application_id, []).append(
            (r, lookup[(str(r.application_id), str(r.expert_id))])
        )
    out = [
        RankRow(
            db.session.get(Application, int(x.application)), x, by_app.get(int(x.application), [])
        )
        for x in ranked
    ]
    try:
        lenient = {int(k): v for k, v in leniency(totals).items()} if totals else {}
    except ValueError:
        lenient = {}
    return Ranking(rubric, out, icc1(totals) if totals else None, lenient, len(rows))


def rate_expert(
    expert: Expert,
    call: Call,
    *,
    actor,
    timeliness: int,
    quality: int,
    score: int,
    comment: str = "",
) -> ExpertRating:
    """Rate an expert after a round (100-point scale); an average below the threshold
    (``REVIEW_CREDIT_FLAG_BELOW``, 60) flags the expert.

    Raises ``NotAllowed``, ``ValidationFailed``. Audited as ``expert.rate`` with
    the new credit score and flag.
    """
    require(can_draw(actor, call))
    values = {"timeliness": timeliness, "quality": quality, "score": score}
    for key, value in values.items():
        if value is None or not 0 <= int(value) <= 100:
            raise ValidationFailed(_("评分应在 0–100 之间。"), field=key)
    row = db.session.scalar(
        select(ExpertRating).where(
            ExpertRating.expert_id == expert.id, ExpertRating.call_id == call.id
        )
    )
    before = {"credit_score": expert.credit_score, "is_flagged": bool(expert.is_flagged)}
    if row is None:
        row = ExpertRating(expert_id=expert.id, call_id=call.id, **values)
        db.session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, int(value))
    row.comment, row.rated_by_id = (comment or "").strip(), actor.id
    db.session.flush()
    average = db.session.scalar(
        select(func.avg(ExpertRating.score)).where(ExpertRating.expert_id == expert.id)
    )
    expert.credit_score = int(Decimal(str(average)).quantize(Decimal(1)))
    expert.is_flagged = Decimal(str(average)) < current_app.config.get(
        "REVIEW_CREDIT_FLAG_BELOW", 60
    )
    db.session.flush()
    trail.record(
        "expert.rate",
        "expert",
        expert.id,
        actor=actor,
        before=before,
        after={
            "call_id": call.id,
            **{k: int(v) for k, v in values.items()},
            "credit_score": expert.credit_score,
            "is_flagged": bool(expert.is_flagged),
        },
    )
    return row


@dataclass(frozen=True)
class FeeRow:
    expert: Expert
    reviews: int
    rate_fen: int
    amount_fen: int


def fee_rows(call: Call) -> list[FeeRow]:
    """Remote-review fees per expert from the call's submitted reviews, at the
    configured rates (``REVIEW_FEE_SENIOR_FEN`` / ``REVIEW_FEE_OTHER_FEN`` per application).
    """
    config = current_app.config
    senior = int(config.get("REVIEW_FEE_SENIOR_FEN", 50_000))
    other = int(config.get("REVIEW_FEE_OTHER_FEN", 30_000))
    counts = db.session.execute(
        select(ReviewAssignment.expert_id, func.count(ReviewAssignment.id))
        .where(ReviewAssignment.call_id == call.id, ReviewAssignment.state == "submitted")
        .group_by(ReviewAssignment.expert_id)
        .order_by(ReviewAssignment.expert_id)
    ).all()
    out = []
    for expert_id, n in counts:
        expert = db.session.get(Expert, expert_id)
        rate = senior if expert.is_senior else other
        out.append(FeeRow(expert, int(n), rate, rate * int(n)))
    return out
