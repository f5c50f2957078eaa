"""Programme figures for the dashboard, computed from the data (pure reads).

Every figure takes the same ``Filters`` (the fund's year, a call) and is computed by
the database where the rows are many (ledger transfers grouped by stage and month):

- projects by task type (the application's category) and by city (the co-building
  government's ``city_code``, named from ``data/zhejiang.toml``): funded projects only,
  so a project revoked or terminated (``ended_at`` set, in whatever state it moved on
  to: clawback, closed, archived) is not counted; ``stopped_projects`` counts those;
- money by stage and month from ledger transfers: reserved (RESERVE − UNRESERVE),
  committed (COMMIT − DECOMMIT), released (RELEASE), paid (DISBURSE), clawback
  demanded (CLAWBACK_DEMAND) and clawed back (CLAWBACK_RECEIVED); a REVERSAL counts
  against its original's stage; months are Asia/Shanghai calendar months;
- grades of accepted evaluations; distributions of evaluation and review totals;
- participation: provincial societies that submitted an application ÷ societies
  registered (organisations of kind ``society``);
- the stations' stage goals, as ``app.stations.figures.stage_figures`` computes them
  (programme-wide: not narrowed by year or call).
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import Numeric, and_, case, cast, distinct, func, literal, select

from app.accounts.models import Organisation
from app.applications.models import Application
from app.audit.models import AuditEvent
from app.awards.models import Award
from app.calls.models import DEFAULT_CATEGORIES, Call, Fund
from app.calls.states import CATEGORY_LABELS
from app.evaluation.models import Evaluation
from app.evaluation.states import GRADES
from app.extensions import db
from app.ledger.models import LedgerTransfer
from app.projects.models import Project
from app.reviews.models import ReviewAssignment
from app.stations.figures import stage_figures

# Stage → (transfer codes that add, codes that subtract).
STAGES = {
    "reserved": (("RESERVE",), ("UNRESERVE",)),
    "committed": (("COMMIT",), ("DECOMMIT",)),
    "released": (("RELEASE",), ()),
    "paid": (("DISBURSE",), ()),
    "clawback_demanded": (("CLAWBACK_DEMAND",), ()),
    "clawed_back": (("CLAWBACK_RECEIVED",), ()),
}
# Score bins (lower bound inclusive), the grade bands' edges.
BINS = ((0, 60, "<60"), (60, 70, "60–69"), (70, 80, "70–79"), (80, 90, "80–89"), (90, 101, "≥90"))
UNKNOWN_CITY = "other"


@dataclass(frozen=True)
class Filters:
    """What the dashboard is narrowed to: a fund year and/or one call (None: all)."""

    year: int | None = None
    call_id: int | None = None


def call_ids(filters: Filters) -> list[int] | None:
    """The calls in scope, or None when nothing narrows them."""
    if filters.year is None and filters.call_id is None:
        return None
    stmt = select(Call.id).join(Fund, Fund.id == Call.fund_id)
    if filters.year is not None:
        stmt = stmt.where(Fund.year == filters.year)
    if filters.call_id is not None:
        stmt = stmt.where(Call.id == filters.call_id)
    return list(db.session.scalars(stmt.order_by(Call.id)))


def _scoped(stmt, column, filters: Filters):
    ids = call_ids(filters)
    return stmt if ids is None else stmt.where(column.in_(ids))


@lru_cache(maxsize=4)
def _cities(path: str) -> tuple[tuple[str, str, str], ...]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return tuple((c["code"], c["zh"], c["en"]) for c in data["cities"])


def cities() -> tuple[tuple[str, str, str], ...]:
    """(code, Chinese name, English name) of Zhejiang's cities, from ``data/zhejiang.toml``."""
    path = Path(current_app.root_path).parent / "data" / "zhejiang.toml"
    return _cities(str(path))


def _funded(stmt):
    """Projects still funded: neither revoked nor terminated (``ended_at`` is set by
    both, and stays set through clawback, closure and archiving)."""
    return stmt.where(Project.ended_at.is_(None))


def projects_by_category(filters: Filters) -> list[dict]:
    """Funded projects per task type: ``[{key, label, count}]`` in the five types' order,
    then others (revoked and terminated projects left out)."""
    stmt = _funded(
        select(Application.category, func.count(Project.id))
        .join(Application, Application.id == Project.application_id)
        .group_by(Application.category)
    )
    counts = dict(db.session.execute(_scoped(stmt, Project.call_id, filters)).all())
    others = sorted(k for k in counts if k is not None and k not in DEFAULT_CATEGORIES)
    rows = [
        {"key": k, "label": str(CATEGORY_LABELS.get(k, k)), "count": int(counts.get(k, 0))}
        for k in (*DEFAULT_CATEGORIES, *others)
    ]
    if counts.get(None):
        rows.append({"key": "", "label": "—", "count": int(counts[None])})
    return rows


def projects_by_city(filters: Filters, lang: str = "zh") -> list[dict]:
    """Funded projects per city of the co-building government: ``[{code, name, count}]``,
    every city of the province in file order, then ``other`` (no or an unknown city code);
    revoked and terminated projects left out."""
    gov = Organisation.__table__.alias("gov")
    stmt = _funded(
        select(gov.c.city_code, func.count(Project.id))
        .select_from(Project)
        .join(Application, Application.id == Project.application_id)
        .outerjoin(gov, gov.c.id == Application.co_government_id)
        .group_by(gov.c.city_code)
    )
    counts = dict(db.session.execute(_scoped(stmt, Project.call_id, filters)).all())
    rows, known = [], set()
    for code, zh, en in cities():
        known.add(code)
        rows.append(
            {"code": code, "name": en if lang == "en" else zh, "count": int(counts.get(code, 0))}
        )
    other = sum(int(n) for code, n in counts.items() if code not in known)
    rows.append({"code": UNKNOWN_CITY, "name": "Other" if lang == "en" else "其他", "count": other})
    return rows


def stopped_projects(filters: Filters) -> int:
    """Projects revoked or terminated (not counted as funded; their money still shows)."""
    stmt = select(func.count(Project.id)).where(Project.ended_at.is_not(None))
    return int(db.session.scalar(_scoped(stmt, Project.call_id, filters)))


def _month(column):
    """The Asia/Shanghai calendar month of a UTC timestamp, as 'YYYY-MM', in SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), literal("YYYY-MM"))
    return func.strftime("%Y-%m", column, "+8 hours")  # Shanghai has no daylight saving


# Money by month is the one figure that reads every ledger transfer. The ledger only
# grows (a transfer is never edited or deleted; writers are serialised by the audit head
# lock, so ids are committed in order), so each process keeps the sums per filter and
# reads only the transfers past the last one it summed. The audit chain says whether the
# database still has the same history: the hash of the event at the remembered sequence
# number must be unchanged (a restored backup or a rolled-back test transaction has
# another chain, and everything is summed again).
_MONEY: dict[tuple, tuple[int, int, str, dict]] = {}
_MONEY_ENTRIES = 64


def _money_sums(ids: list[int] | None, after_id: int, upto_id: int) -> dict[tuple, int]:
    """Sum of transfers ``after_id < id <= upto_id`` by (code, reversed code, month)."""
    t = LedgerTransfer.__table__.alias("t")
    original = LedgerTransfer.__table__.alias("o")
    award = Award.__table__.alias("a")
    month = _month(t.c.occurred_at).label("month")
    stmt = (
        select(t.c.code, original.c.code.label("orig"), month, func.sum(t.c.amount_fen))
        .select_from(
            t.outerjoin(original, original.c.id == t.c.reverses_id).outerjoin(
                award, award.c.id == t.c.grant_id
            )
        )
        .where(t.c.id > after_id, t.c.id <= upto_id)
        .group_by(t.c.code, original.c.code, month)
    )
    if ids is not None:
        stmt = stmt.where(func.coalesce(t.c.call_id, award.c.call_id).in_(ids))
    return {
        (code, orig, when): int(amount) for code, orig, when, amount in db.session.execute(stmt)
    }


def money_by_month(filters: Filters) -> dict:
    """Money per stage and month from the ledger.

    Returns ``{"months": ["YYYY-MM", …], "series": {stage: [fen per month]},
    "cumulative": {stage: [running fen]}, "totals": {stage: fen}}``. A transfer's call
    is its own tag, else its grant's award's call. Four queries whatever the size of the
    ledger; only transfers not summed before are read (see ``_MONEY``).
    """
    ids = call_ids(filters)
    last_id = int(db.session.scalar(select(func.max(LedgerTransfer.id))) or 0)
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    key = (db.engine.url.render_as_string(), None if ids is None else tuple(ids))
    cached = _MONEY.get(key)
    seen = db.session.scalar(
        select(AuditEvent.hash).where(AuditEvent.seq == (cached[1] if cached else 0))
    )
    if cached is not None and seen == cached[2] and cached[0] <= last_id:
        after_id, sums = cached[0], dict(cached[3])
    else:
        after_id, sums = 0, {}
    for group, amount in _money_sums(ids, after_id, last_id).items():
        sums[group] = sums.get(group, 0) + amount
    if head is not None:
        if len(_MONEY) >= _MONEY_ENTRIES:
            _MONEY.clear()
        _MONEY[key] = (last_id, int(head.seq), head.hash, dict(sums))
    sign: dict[str, tuple[str, int]] = {}
    for stage, (plus, minus) in STAGES.items():
        sign.update({c: (stage, 1) for c in plus})
        sign.update({c: (stage, -1) for c in minus})
    flows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (code, orig, when), amount in sums.items():
        effective, factor = (orig, -1) if code == "REVERSAL" else (code, 1)
        if effective not in sign:
            continue
        stage, direction = sign[effective]
        flows[stage][when] += factor * direction * amount
    months = sorted({m for per in flows.values() for m in per})
    series = {stage: [flows[stage].get(m, 0) for m in months] for stage in STAGES}
    cumulative = {}
    for stage, values in series.items():
        running, out = 0, []
        for v in values:
            running += v
            out.append(running)
        cumulative[stage] = out
    totals = {stage: sum(values) for stage, values in series.items()}
    return {"months": months, "series": series, "cumulative": cumulative, "totals": totals}


def grades(filters: Filters) -> dict[str, int]:
    """Accepted evaluations per grade code (excellent, good, fair, poor)."""
    stmt = (
        select(Evaluation.grade, func.count(Evaluation.id))
        .join(Project, Project.id == Evaluation.project_id)
        .where(Evaluation.state == "accepted")
        .group_by(Evaluation.grade)
    )
    counts = dict(db.session.execute(_scoped(stmt, Project.call_id, filters)).all())
    return {g: int(counts.get(g, 0)) for g in GRADES}


def _bin_of(column):
    """The index of the score bin ``column`` (a decimal as text) falls in (-1 outside every
    bin), in SQL."""
    column = cast(column, Numeric(12, 4))
    return case(
        *((and_(column >= low, column < high), i) for i, (low, high, _l) in enumerate(BINS)),
        else_=-1,
    )


def _bins(stmt) -> list[dict]:
    """``stmt`` selects (bin index, count) grouped by bin: the counts in BINS' order."""
    counts = {int(i): int(n) for i, n in db.session.execute(stmt).all()}
    return [{"label": label, "count": counts.get(i, 0)} for i, (_l, _h, label) in enumerate(BINS)]


def score_distributions(filters: Filters) -> dict:
    """Totals binned (by the database): accepted evaluations (third party) and submitted
    expert reviews."""
    evaluation_bin = _bin_of(Evaluation.total)
    evaluations = _scoped(
        select(evaluation_bin, func.count())
        .select_from(Evaluation)
        .join(Project, Project.id == Evaluation.project_id)
        .where(Evaluation.state == "accepted", Evaluation.total.is_not(None))
        .group_by(evaluation_bin),
        Project.call_id,
        filters,
    )
    review_bin = _bin_of(ReviewAssignment.total)
    reviews = _scoped(
        select(review_bin, func.count())
        .select_from(ReviewAssignment)
        .where(ReviewAssignment.state == "submitted", ReviewAssignment.total.is_not(None))
        .group_by(review_bin),
        ReviewAssignment.call_id,
        filters,
    )
    return {"evaluation": _bins(evaluations), "review": _bins(reviews)}


def participation(filters: Filters) -> dict:
    """Societies that submitted at least one application ÷ societies registered.

    ``share`` is a Decimal rounded half-up to 4 places (None with no society).
    """
    registered = db.session.scalar(
        select(func.count(Organisation.id)).where(Organisation.kind == "society")
    )
    stmt = (
        select(func.count(distinct(Application.society_id)))
        .join(Organisation, Organisation.id == Application.society_id)
        .where(Application.submitted_at.is_not(None), Organisation.kind == "society")
    )
    taking_part = db.session.scalar(_scoped(stmt, Application.call_id, filters))
    share = None
    if registered:
        share = (Decimal(taking_part) / Decimal(registered)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )
    return {"participating": int(taking_part), "registered": int(registered), "share": share}


def participation_target() -> Decimal | None:
    """The programme's target share of societies taking part (``data/zhejiang.toml``)."""
    path = Path(current_app.root_path).parent / "data" / "zhejiang.toml"
    with open(path, "rb") as fh:
        data = tomllib.load(fh, parse_float=Decimal)
    for target in data.get("targets", []):
        if target.get("measure") == "society_share_participating":
            return Decimal(target["min"])
    return None


def all_figures(filters: Filters, lang: str = "zh") -> dict:
    """Every figure of the dashboard, in one dictionary (the page and the export)."""
    return {
        "by_category": projects_by_category(filters),
        "by_city": projects_by_city(filters, lang),
        "money": money_by_month(filters),
        "grades": grades(filters),
        "scores": score_distributions(filters),
        "participation": participation(filters),
        "participation_target": participation_target(),
        "stopped": stopped_projects(filters),
        "stations": stage_figures(),
    }
