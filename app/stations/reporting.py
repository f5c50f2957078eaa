"""Stations' yearly reports, their third-party evaluations against the performance
rubric, and the funding block a 差 grade puts on the lead society.

``society_station_block(society_id)`` is the one check other modules call before they
let a society lead a new pilot station or receive station funding.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit import trail
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.files import store_upload
from app.extensions import db
from app.stations import permissions as rules
from app.stations.models import REPORT_COUNTS, Station, StationEvaluation, StationReport
from app.stations.states import GRADES

RUBRIC_FILE = "station-performance.toml"


def _require(decision) -> None:
    if not decision:
        raise NotAllowed(decision.reason)


def _count(data: dict, name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("请填写整数。"), field=name)
    if value < 0:
        raise ValidationFailed(_("数量不能为负数。"), field=name)
    return value


def submit_report(station: Station, year: int, data: dict, evidence=(), *, actor) -> StationReport:
    """File the station's report for ``year``: the counts of ``REPORT_COUNTS`` (revenue
    reported by enterprises in fen), a narrative, and evidence uploads
    ``[(stream, filename), …]``. Immutable once filed.

    Raises ``ValidationFailed`` for a negative or non-integer count, more needs solved
    than collected, a year out of range or a bad file (nothing is stored then);
    ``NotAllowed`` for anyone but the lead society or an officer; ``Conflict`` when the
    year is already reported. Audited as ``station_report.submit`` with every count.
    """
    _require(rules.can_report(actor, station))
    if not isinstance(year, int) or not 2000 <= year <= clock.today().year:
        raise ValidationFailed(_("报告年度无效。"), field="year")
    counts = {name: _count(data, name) for name in REPORT_COUNTS}
    if counts["needs_solved"] > counts["needs_collected"]:
        raise ValidationFailed(_("解决的需求数不能多于收集的需求数。"), field="needs_solved")
    exists = db.session.scalar(
        select(StationReport.id).where(
            StationReport.station_id == station.id, StationReport.year == year
        )
    )
    if exists:
        raise Conflict(_("该年度报告已报送。"), field="year")
    files = [
        store_upload(
            stream, name, kind="any", owner_type="station", owner_id=station.id, actor=actor
        )
        for stream, name in evidence
    ]
    report = StationReport(
        station_id=station.id,
        year=year,
        narrative=(data.get("narrative") or "").strip()[:10000],
        evidence_file_ids=[f.id for f in files],
        submitted_by_id=actor.id,
        submitted_at=clock.now(),
        **counts,
    )
    db.session.add(report)
    db.session.flush()
    trail.record(
        "station_report.submit",
        "station_report",
        report.id,
        actor=actor,
        after={
            "station_id": station.id,
            "year": year,
            **counts,
            "evidence_sha256": [f.sha256 for f in files],
        },
    )
    return report


def load_station_rubric():
    """The pinned snapshot of the station performance rubric and the parsed rubric."""
    from app.calls.operations import snapshot_rubric
    from app.reviews.rubric import load_rubric

    snap = snapshot_rubric(RUBRIC_FILE)
    return snap, load_rubric(snap.content)


def rubric_of(evaluation: StationEvaluation):
    """The rubric an evaluation was scored with (its pinned snapshot)."""
    from app.calls.models import RubricSnapshot
    from app.reviews.rubric import load_rubric

    return load_rubric(db.session.get(RubricSnapshot, evaluation.rubric_snapshot_id).content)


def evaluate_station(
    station: Station,
    year: int,
    scores: dict,
    *,
    actor,
    comment: str = "",
    report: tuple | None = None,
) -> StationEvaluation:
    """The third-party agency scores a station's year on the performance rubric.

    ``scores`` maps every criterion key to a score (number or numeric text) or None
    (not applicable, where the rubric allows it). The total is ``review_total`` rounded
    half-up to 2 decimals; the grade is the rubric band (优/良/中/差). ``report`` is an
    optional ``(stream, filename)`` evaluation report.

    Raises ``NotAllowed`` (not an evaluator of an independent agency), ``ValidationFailed``
    (no yearly report for ``year``; every problem of the sheet in ``details``),
    ``Conflict`` (the year is already evaluated). Audited as ``station_evaluation.submit``.
    """
    from app.reviews.scoring import review_total, round_half_up, validate_sheet

    _require(rules.can_evaluate(actor, station))
    filed = db.session.scalar(
        select(StationReport.id).where(
            StationReport.station_id == station.id, StationReport.year == year
        )
    )
    if not filed:
        raise ValidationFailed(_("该服务站尚未报送本年度报告，暂不能评价。"), field="year")
    if db.session.scalar(
        select(StationEvaluation.id).where(
            StationEvaluation.station_id == station.id, StationEvaluation.year == year
        )
    ):
        raise Conflict(_("该服务站本年度已评价。"), field="year")
    snap, rubric = load_station_rubric()
    problems = validate_sheet(rubric, scores)
    if problems:
        raise ValidationFailed(_("评分表有误，请修改后再提交。"), details=problems)
    clean = {
        c.key: None if scores[c.key] in (None, "") else Decimal(str(scores[c.key]).strip())
        for c in rubric.criteria
    }
    total = review_total(rubric, clean)
    if total is None:
        raise ValidationFailed(_("请至少对一项指标打分。"))
    total = round_half_up(total)
    grade = GRADES[rubric.band_for(total).label.get("zh")]
    stored = None
    if report is not None:
        stored = store_upload(
            report[0], report[1], kind="document", owner_type="station",
            owner_id=station.id, actor=actor,
        )  # fmt: skip
    row = StationEvaluation(
        station_id=station.id,
        year=year,
        evaluator_id=actor.id,
        agency_id=actor.org_id,
        rubric_snapshot_id=snap.id,
        scores={k: None if v is None else format(v, "f") for k, v in clean.items()},
        total=format(total, "f"),
        grade=grade,
        comment=(comment or "").strip()[:5000],
        report_file_id=stored.id if stored else None,
        submitted_at=clock.now(),
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "station_evaluation.submit",
        "station_evaluation",
        row.id,
        actor=actor,
        after={
            "station_id": station.id,
            "year": year,
            "scores": row.scores,
            "total": row.total,
            "grade": grade,
            "rubric_sha256": snap.sha256,
        },
    )
    from app.stations import notices

    notices.evaluation_returned(row)
    return row


def override_block(evaluation: StationEvaluation, reason: str, *, actor) -> StationEvaluation:
    """The department head lifts the funding block of a 差 evaluation, with a reason.

    Raises ``NotAllowed`` (not an approver), ``ValidationFailed`` (no reason; the grade
    is not 差), ``Conflict`` (already overridden). Audited as ``station_evaluation.override``.
    """
    _require(rules.can_override_block(actor, evaluation))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写理由。"), field="reason")
    if evaluation.grade != "poor":
        raise ValidationFailed(_("只有评价为“差”的服务站才有申报限制。"))
    if evaluation.override_at is not None:
        raise Conflict(_("该限制已解除。"))
    evaluation.override_at, evaluation.override_by_id = clock.now(), actor.id
    evaluation.override_reason = reason
    db.session.flush()
    trail.record(
        "station_evaluation.override",
        "station_evaluation",
        evaluation.id,
        actor=actor,
        before={"blocked": True},
        after={"blocked": False, "society_id": evaluation.station.society_id},
        reason=reason,
    )
    return evaluation


def latest_evaluations(society_id: int | None = None) -> list[StationEvaluation]:
    """Each station's most recent evaluation (of the society's stations when given)."""
    latest = (
        select(StationEvaluation.station_id, func.max(StationEvaluation.year).label("year"))
        .group_by(StationEvaluation.station_id)
        .subquery()
    )
    stmt = select(StationEvaluation).join(
        latest,
        (latest.c.station_id == StationEvaluation.station_id)
        & (latest.c.year == StationEvaluation.year),
    )
    if society_id is not None:
        stmt = stmt.join(Station, Station.id == StationEvaluation.station_id).where(
            Station.society_id == society_id
        )
    return list(db.session.scalars(stmt.order_by(StationEvaluation.station_id)))


def society_station_block(society_id: int) -> str | None:
    """Why ``society_id`` may not lead a new pilot or station funding, or None.

    A society is blocked while the latest evaluation of any station it leads is 差
    and the department has not overridden that grade with a reason; a later, better
    evaluation of the same station lifts the block.
    """
    for row in latest_evaluations(society_id):
        if row.grade == "poor" and row.override_at is None:
            return _(
                "贵学会牵头的服务站“%(name)s”%(year)s年度绩效评价为“差”，"
                "在学会部解除限制前不能申报新的试点或服务站经费。",
                name=row.station.name,
                year=row.year,
            )
    return None


def application_block(call, society_id: int | None, application_id: int | None = None):
    """Why an application to ``call`` may not go ahead under the 差-grade block, or None.

    The applications module calls this when a draft is created, submitted and accepted
    at the eligibility check. A project call funds society service stations: its
    applying society must not be blocked. A pilot call is applied for by a government;
    the society its pilot profile proposes to lead the station must not be blocked.
    """
    if call.kind == "pilot":
        if application_id is None:
            return None
        from app.stations.models import PilotProfile

        society_id = db.session.scalar(
            select(PilotProfile.lead_society_id).where(
                PilotProfile.application_id == application_id
            )
        )
    if not society_id:
        return None
    return society_station_block(society_id)
