"""What a concluded panel yields: each shortlisted application's result, the final
ranking (``replace`` or ``combine`` with the remote review) and the ranking page's section."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from app.applications.models import Application
from app.calls.models import Call
from app.extensions import db
from app.reviews.models import (
    ReviewPanel,
    ReviewPanelMark,
    ReviewPanelMember,
)
from app.reviews.operations.panel.common import panel_of
from app.reviews.scoring import round_half_up
from app.reviews.states import (
    VOTES,
)


@dataclass(frozen=True)
class PanelResult:
    """One shortlisted application's panel result on 0–100: the mean score, or the
    share of support votes among the votes cast."""

    application_id: int
    value: Decimal | None
    n: int
    votes: dict


def panel_marks(panel: ReviewPanel) -> list[tuple[ReviewPanelMember, ReviewPanelMark]]:
    """The submitted marks of attending members (visible only once scoring closed)."""
    members = {m.id: m for m in panel.attending() if m.submitted_at is not None}
    if not members:
        return []
    marks = db.session.scalars(
        select(ReviewPanelMark)
        .where(ReviewPanelMark.member_id.in_(members))
        .order_by(ReviewPanelMark.member_id, ReviewPanelMark.application_id)
    ).all()
    return [(members[m.member_id], m) for m in marks]


def panel_results(panel: ReviewPanel) -> dict[int, PanelResult]:
    """Per shortlisted application, the panel result (rounded half-up to 2 decimals)."""
    by_app: dict[int, list[ReviewPanelMark]] = {s.application_id: [] for s in panel.slots}
    for _member, mark in panel_marks(panel):
        by_app.setdefault(mark.application_id, []).append(mark)
    out = {}
    for app_id, marks in by_app.items():
        votes = Counter(m.vote for m in marks if m.vote)
        if panel.method == "score":
            scores = [Decimal(m.score) for m in marks if m.score is not None]
            value = round_half_up(sum(scores) / len(scores)) if scores else None
            n = len(scores)
        else:
            n = sum(votes.values())
            value = round_half_up(Decimal(100 * votes["support"]) / n) if n else None
        out[app_id] = PanelResult(app_id, value, n, {v: votes.get(v, 0) for v in VOTES})
    return out


@dataclass(frozen=True)
class FinalRow:
    """An application's place after the panel stage."""

    application: Application
    remote: Decimal | None  # the remote-review aggregate
    panel: PanelResult | None  # None when not shortlisted
    final: Decimal | None
    rank: int | None
    remote_rank: int | None

    @property
    def shortlisted(self) -> bool:
        return self.panel is not None


def combine(remote: Decimal | None, panel: Decimal | None, mode: str, weight: int):
    """The final score of a shortlisted application: ``replace`` takes the panel result;
    ``combine`` weighs it ``weight`` percent against the remote aggregate (the panel
    result alone when there is no remote aggregate). Rounded half-up to 2 decimals."""
    if panel is None:
        return remote
    if mode == "replace" or remote is None:
        return round_half_up(panel)
    w = Decimal(weight) / 100
    return round_half_up(panel * w + remote * (1 - w))


def final_ranking(panel: ReviewPanel, ranking) -> list[FinalRow]:
    """The call's ranking after a concluded panel (empty before).

    Shortlisted applications come first, ranked by their final score
    (``combine``); the shortlist is the outcome of the first stage, so the others
    follow in their remote-review order. Competition ranking (1, 2, 2, 4): equal
    final scores share a rank and are never broken by id.
    """
    if panel is None or panel.state != "concluded":
        return []
    results = panel_results(panel)
    short, rest = [], []
    for row in ranking.rows:
        remote = row.ranked.aggregate
        result = results.get(row.application.id)
        if result is not None:
            final = combine(remote, result.value, panel.mode, panel.panel_weight)
            short.append((row, result, final))
        else:
            rest.append(row)
    short.sort(key=lambda x: (x[2] is None, -(x[2] or 0)))
    out, previous, rank = [], None, 0
    for i, (row, result, final) in enumerate(short, start=1):
        if final is None:
            rank_here = None
        else:
            if final != previous:
                rank = i
            previous, rank_here = final, rank
        out.append(
            FinalRow(
                row.application, row.ranked.aggregate, result, final, rank_here, row.ranked.rank
            )
        )
    offset = sum(1 for x in out if x.rank is not None)
    for row in rest:
        r = row.ranked.rank
        out.append(
            FinalRow(
                row.application,
                row.ranked.aggregate,
                None,
                row.ranked.aggregate,
                None if r is None else r + offset - _shortlisted_above(r, short),
                r,
            )
        )
    return out


def _shortlisted_above(rank: int, short) -> int:
    """How many shortlisted applications held a remote rank above ``rank``: the rest
    keep their relative order and close the gaps they left."""
    return sum(1 for row, _r, _f in short if row.ranked.rank is not None and row.ranked.rank < rank)


@dataclass(frozen=True)
class PanelSection:
    """What the ranking page shows of the panel stage."""

    panel: ReviewPanel | None
    rows: list[FinalRow]


def ranking_section(call: Call, ranking) -> PanelSection:
    """The panel stage of ``call`` for the ranking page: the final ranking once concluded."""
    panel = panel_of(call)
    return PanelSection(panel, final_ranking(panel, ranking))
