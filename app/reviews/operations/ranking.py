"""Aggregation and ranking of a call's submitted reviews; expert ratings and fees."""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Numeric, case, cast, func, select
from sqlalchemy.orm import lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Organisation, User
from app.applications.models import Application
from app.audit import trail
from app.calls.models import Call
from app.core.errors import ValidationFailed
from app.extensions import db
from app.reviews.models import Expert, ExpertRating, ReviewAssignment, ReviewScore, ReviewVeto
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
    """The call's submitted score sheets, by application then id, with their scores,
    vetoes, application and expert loaded (a fixed number of queries)."""
    rows = list(
        db.session.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.call_id == call_id, ReviewAssignment.state == "submitted")
            .order_by(ReviewAssignment.application_id, ReviewAssignment.id)
            # Scores and vetoes: two queries, not two per sheet. The application and the
            # expert are loaded once each below instead of joined into every sheet's row
            # (five sheets per application repeated its JSON columns five times).
            .options(
                selectinload(ReviewAssignment.scores),
                selectinload(ReviewAssignment.vetoes),
                lazyload(ReviewAssignment.application),
                lazyload(ReviewAssignment.expert),
            )
        )
    )
    apps = {
        a.id: a
        for a in db.session.scalars(select(Application).where(Application.call_id == call_id))
    }
    wanted = {r.expert_id for r in rows}
    experts = (
        {e.id: e for e in db.session.scalars(select(Expert).where(Expert.id.in_(wanted)))}
        if wanted
        else {}
    )
    for r in rows:
        if r.application_id in apps:
            set_committed_value(r, "application", apps[r.application_id])
        if r.expert_id in experts:
            set_committed_value(r, "expert", experts[r.expert_id])
    return rows


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
    """One application on the ranking page (``application``: an ``AppLine``)."""

    application: AppLine
    ranked: RankedApplication
    totals: list[tuple[SheetRef, Decimal | None]] = field(default_factory=list)


@dataclass
class Ranking:
    """A call's ranking with reliability and leniency."""

    rubric: Rubric | None
    rows: list[RankRow]
    icc: Decimal | None
    leniency: dict[int, Decimal]
    reviews: int
    memo: dict = field(default_factory=dict)  # derived data kept with a cached ranking


@dataclass(frozen=True)
class SheetRef:
    """A submitted sheet as the ranking lists it: its id, application and expert."""

    id: int
    application_id: int
    expert_id: int


def _sheets(call_id: int) -> tuple[list[SheetRef], list[ReviewTotal], list[VetoMark]]:
    """``totals_and_vetoes`` of the call's submitted sheets, read as plain columns.

    Three queries, whatever the size of the round: the ranking needs numbers, and
    building ORM objects for 10,000 sheets and their 60,000 scores cost seconds.
    """
    ra, rs, rv = ReviewAssignment.__table__, ReviewScore.__table__, ReviewVeto.__table__
    submitted = (ra.c.call_id == call_id) & (ra.c.state == "submitted")
    sheets = db.session.execute(
        select(ra.c.id, ra.c.application_id, ra.c.expert_id, ra.c.rubric_snapshot_id)
        .where(submitted)
        .order_by(ra.c.application_id, ra.c.id)
    ).all()
    scores: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
    for sheet_id, key, score in db.session.execute(
        select(rs.c.assignment_id, rs.c.criterion_key, rs.c.score)
        .join(ra, ra.c.id == rs.c.assignment_id)
        .where(submitted)
        .order_by(rs.c.id)
    ):
        scores[sheet_id][key] = None if score is None else Decimal(score)
    vetoes: dict[int, list[str]] = defaultdict(list)
    for sheet_id, key in db.session.execute(
        select(rv.c.assignment_id, rv.c.veto_key)
        .join(ra, ra.c.id == rv.c.assignment_id)
        .where(submitted)
        .order_by(rv.c.id)
    ):
        vetoes[sheet_id].append(key)
    rubrics: dict[int, Rubric] = {}
    refs, totals, marks = [], [], []
    for sheet_id, app_id, expert_id, snapshot_id in sheets:
        if snapshot_id not in rubrics:
            rubrics[snapshot_id] = rubric_of(snapshot_id)
        refs.append(SheetRef(sheet_id, app_id, expert_id))
        total = review_total(rubrics[snapshot_id], scores.get(sheet_id, {}))
        totals.append(ReviewTotal(str(app_id), str(expert_id), total))
        marks += [VetoMark(str(app_id), str(expert_id), key) for key in vetoes.get(sheet_id, ())]
    return refs, totals, marks


@dataclass(frozen=True)
class RoundResult:
    """A call's ranking as plain data (no ORM objects): what the cache keeps."""

    rubric: Rubric | None
    ranked: tuple[RankedApplication, ...]
    by_app: dict[int, tuple[tuple[SheetRef, Decimal | None], ...]]
    icc: Decimal | None
    leniency: dict[int, Decimal]
    reviews: int


_ROUNDS: OrderedDict[tuple, RoundResult] = OrderedDict()
_ROUNDS_LOCK = threading.Lock()
_ROUNDS_MAX = 8


def round_key(call: Call) -> tuple:
    """What the ranking of ``call`` depends on, in one aggregate query.

    A submitted sheet is locked: its scores and vetoes change only through a reopen
    and a new submission, which changes the set of submitted sheets, their
    submission times and reopen counts. The rubric snapshot is immutable.
    """
    ra = ReviewAssignment
    submitted = (ra.call_id == call.id) & (ra.state == "submitted")
    vetoes = (
        select(func.count(ReviewVeto.id))
        .join(ra, ra.id == ReviewVeto.assignment_id)
        .where(submitted)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(
            func.count(ra.id),
            func.sum(cast(ra.total, Numeric(12, 4))),
            vetoes,
            func.coalesce(func.sum(ra.id), 0),
            func.max(ra.id),
            func.min(ra.submitted_at),
            func.max(ra.submitted_at),
            func.coalesce(func.sum(ra.reopen_count), 0),
        ).where(submitted)
    ).one()
    engine = db.engine
    return (
        str(engine.url),
        id(engine),
        call.id,
        call.rubric_snapshot_id,
        *(str(v) for v in row),
    )


def _compute_round(call: Call) -> RoundResult:
    refs, totals, marks = _sheets(call.id)
    rubric = rubric_of(call.rubric_snapshot_id)
    ranked = rank_applications(rubric, totals, marks)
    by_app: dict[int, list[tuple[SheetRef, Decimal | None]]] = {}
    lookup = {(t.application, t.reviewer): t.total for t in totals}
    for r in refs:
        by_app.setdefault(r.application_id, []).append(
            (r, lookup[(str(r.application_id), str(r.expert_id))])
        )
    lenient, icc = _calibration(tuple(totals)) if totals else ({}, None)
    return RoundResult(
        rubric,
        tuple(ranked),
        {k: tuple(v) for k, v in by_app.items()},
        icc,
        dict(lenient),
        len(refs),
    )


def round_result(call: Call, key: tuple | None = None) -> RoundResult:
    """The call's aggregation and ranking as plain data, computed once per state of
    its submitted scores (``round_key``, or ``key`` when the caller has it) and kept
    in a small per-process cache."""
    if not call.rubric_snapshot_id:
        return RoundResult(None, (), {}, None, {}, 0)
    if key is None:
        key = round_key(call)
    with _ROUNDS_LOCK:
        cached = _ROUNDS.get(key)
        if cached is not None:
            _ROUNDS.move_to_end(key)
            return cached
    result = _compute_round(call)
    with _ROUNDS_LOCK:
        _ROUNDS[key] = result
        while len(_ROUNDS) > _ROUNDS_MAX:
            _ROUNDS.popitem(last=False)
    return result


_RANKINGS: OrderedDict[tuple, Ranking] = OrderedDict()


def rank_call(call: Call) -> Ranking:
    """Aggregate and rank the submitted reviews of ``call`` (scoring.rank_applications).

    The numbers come from ``round_result`` (cached on the round's scores); the
    applications are listed as ``AppLine`` rows, and the whole ranking is kept
    while neither the scores nor the call's applications change.
    """
    scores_key = round_key(call) if call.rubric_snapshot_id else None  # one query, once
    result = round_result(call, scores_key)
    if result.rubric is None:
        return Ranking(None, [], None, {}, 0)
    key = (scores_key, _applications_key(call))
    with _ROUNDS_LOCK:
        cached = _RANKINGS.get(key)
        if cached is not None:
            _RANKINGS.move_to_end(key)
    if cached is None:
        out = [
            RankRow(app, x, list(result.by_app.get(int(x.application), ())))
            for app, x in zip(_applications(call, result.ranked), result.ranked, strict=True)
        ]
        cached = Ranking(result.rubric, out, result.icc, dict(result.leniency), result.reviews)
        with _ROUNDS_LOCK:
            _RANKINGS[key] = cached
            while len(_RANKINGS) > _ROUNDS_MAX:
                _RANKINGS.popitem(last=False)
    # A fresh list and dict for the caller; the rows themselves are shared, read-only.
    return Ranking(
        cached.rubric,
        list(cached.rows),
        cached.icc,
        dict(cached.leniency),
        cached.reviews,
        cached.memo,
    )


def _applications_key(call: Call) -> tuple:
    """What the listed applications depend on (numbers, titles, states), in one query."""
    a = Application
    row = db.session.execute(
        select(
            func.count(a.id),
            func.max(a.updated_at),
            func.coalesce(func.sum(a.version), 0),
            func.coalesce(func.sum(case((a.state == "in_review", 1), else_=0)), 0),
            func.coalesce(func.sum(case((a.state == "reviewed", 1), else_=0)), 0),
        ).where(a.call_id == call.id)
    ).one()
    return tuple(str(v) for v in row)


def ranking_chart(ranking: Ranking) -> dict:
    """The score-distribution chart's data (labels, aggregates, each review's total),
    computed once per cached ranking."""
    chart = ranking.memo.get("chart")
    if chart is None:
        chart = ranking.memo["chart"] = {
            "labels": [r.application.project_number or str(r.application.id) for r in ranking.rows],
            "aggregates": [
                None if r.ranked.aggregate is None else float(r.ranked.aggregate)
                for r in ranking.rows
            ],
            "totals": [[float(t) for _a, t in r.totals if t is not None] for r in ranking.rows],
        }
    return chart


@dataclass(frozen=True)
class SocietyRef:
    id: int
    name: str


@dataclass(frozen=True)
class AppLine:
    """An application as a ranking lists it: number, title, state and society.

    Read as plain columns: building 2,000 full ORM rows (with their JSON columns)
    cost more than the ranking itself. ``load()`` gives the full row when needed.
    """

    id: int
    call_id: int
    project_number: str | None
    title: str
    state: str
    society: SocietyRef

    def load(self) -> Application:
        return db.session.get(Application, self.id)


def _applications(call: Call, ranked) -> list[AppLine]:
    """The ranked applications' lines in one query."""
    a, org = Application.__table__, Organisation.__table__
    lines = {
        row.id: AppLine(
            row.id,
            row.call_id,
            row.project_number,
            row.title,
            str(row.state),
            SocietyRef(row.society_id, row.society_name),
        )
        for row in db.session.execute(
            select(
                a.c.id,
                a.c.call_id,
                a.c.project_number,
                a.c.title,
                a.c.state,
                a.c.society_id,
                org.c.name.label("society_name"),
            )
            .join(org, org.c.id == a.c.society_id)
            .where(a.c.call_id == call.id)
        )
    }
    return [lines[int(x.application)] for x in ranked]


@lru_cache(maxsize=16)
def _calibration(totals: tuple[ReviewTotal, ...]) -> tuple[dict[int, Decimal], Decimal | None]:
    """Leniency and ICC(1) of a set of totals: pure functions of them, so computed once
    per distinct set (every award proposal ranks the same unchanged round again)."""
    try:
        lenient = {int(k): v for k, v in leniency(list(totals)).items()}
    except ValueError:
        lenient = {}
    return lenient, icc1(list(totals))


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
    amount_fen: int  # remote reviews
    panel: object = None  # operations.panel.PanelFee: the panel day, if any

    @property
    def panel_fen(self) -> int:
        return self.panel.fee_fen if self.panel is not None else 0

    @property
    def total_fen(self) -> int:
        return self.amount_fen + self.panel_fen


def fee_rates() -> tuple[int, int]:
    """The remote-review fee per application (senior, other), in fen, from the config."""
    config = current_app.config
    return (
        int(config.get("REVIEW_FEE_SENIOR_FEN", 50_000)),
        int(config.get("REVIEW_FEE_OTHER_FEN", 30_000)),
    )


def remote_fee_rows(call: Call) -> list[FeeRow]:
    """Remote-review fees per expert from the call's submitted reviews, at the configured
    rates (``REVIEW_FEE_SENIOR_FEN`` / ``REVIEW_FEE_OTHER_FEN`` per application); the
    panel days are added by ``operations.panel.fee_rows``.
    """
    senior, other = fee_rates()
    counts = db.session.execute(
        select(ReviewAssignment.expert_id, func.count(ReviewAssignment.id))
        .where(ReviewAssignment.call_id == call.id, ReviewAssignment.state == "submitted")
        .group_by(ReviewAssignment.expert_id)
        .order_by(ReviewAssignment.expert_id)
    ).all()
    ids = [expert_id for expert_id, _n in counts]
    experts = (
        {e.id: e for e in db.session.scalars(select(Expert).where(Expert.id.in_(ids)))}
        if ids
        else {}
    )  # one query, not one per expert
    out = []
    for expert_id, n in counts:
        expert = experts[expert_id]
        rate = senior if expert.is_senior else other
        out.append(FeeRow(expert, int(n), rate, rate * int(n)))
    return out


def expert_names(expert_ids) -> dict[int, str]:
    """expert id → the expert's name, in one query (for the leniency list)."""
    ids = [int(i) for i in expert_ids]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Expert.id, User.name).join(User, User.id == Expert.user_id).where(Expert.id.in_(ids))
    )
    return {expert_id: name for expert_id, name in rows}
