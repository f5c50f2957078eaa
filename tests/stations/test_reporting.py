"""Yearly reports (negative counts refused), third-party evaluation on the station
performance rubric, and the 差 grade's funding block with the department's override."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.extensions import db
from app.stations import operations as ops
from app.stations import reporting
from app.stations.models import StationReport
from tests import factories

COUNTS = {
    "needs_collected": 12,
    "needs_solved": 7,
    "experts_stationed": 9,
    "enterprises_served": 30,
    "technicians_trained": 120,
    "events_held": 6,
    "patents": 4,
    "standards": 1,
    "products": 2,
    "revenue_fen": 1_500_000_000,
}
FULL = {
    "station_conditions": 8,
    "co_building": 6,
    "work_plan": 6,
    "supervision": 8,
    "funds_management": 8,
    "budget_execution": 6,
    "records": 8,
    "consulting": 8,
    "talent": 8,
    "key_technology": 10,
    "transfer": 10,
    "outreach": 6,
    "enterprise_satisfaction": 8,
}


def _lead(station):
    return factories.user("applicant", organisation=station.society)


def _evaluator(station):
    return factories.station_evaluator(station)


def test_report_with_a_negative_count_is_refused_and_nothing_is_written(session):
    station = factories.station_in("operating")
    files_before = db.session.scalar(select(func.count()).select_from(StationReport))
    with pytest.raises(ValidationFailed, match="负数") as err:
        reporting.submit_report(
            station,
            2025,
            {**COUNTS, "patents": -1},
            [(io.BytesIO(factories.PDF_BYTES), "证明.pdf")],
            actor=_lead(station),
        )
    assert err.value.field == "patents"
    assert db.session.scalar(select(func.count()).select_from(StationReport)) == files_before
    with pytest.raises(ValidationFailed):
        reporting.submit_report(station, 2025, {**COUNTS, "needs_solved": 13}, actor=_lead(station))
    with pytest.raises(NotAllowed):
        reporting.submit_report(station, 2025, COUNTS, actor=factories.user("applicant"))
    report = reporting.submit_report(
        station, 2025, COUNTS, [(io.BytesIO(factories.PDF_BYTES), "证明.pdf")], actor=_lead(station)
    )
    assert report.patents == 4 and len(report.evidence_file_ids) == 1
    with pytest.raises(Conflict):
        reporting.submit_report(station, 2025, COUNTS, actor=_lead(station))


def test_evaluation_totals_and_grades_by_the_rubric(session):
    station = factories.station_in("operating")
    reporting.submit_report(station, 2025, COUNTS, actor=_lead(station))
    with pytest.raises(ValidationFailed) as err:
        reporting.evaluate_station(station, 2025, {**FULL, "talent": 9}, actor=_evaluator(station))
    assert err.value.details
    scores = {**FULL, "enterprise_satisfaction": None, "key_technology": 5}
    row = reporting.evaluate_station(station, 2025, scores, actor=_evaluator(station))
    # (92 − 5) / 92 × 100 = 94.565… → 94.57, 优
    assert row.total == "94.57" and row.grade == "excellent"
    assert row.scores["enterprise_satisfaction"] is None
    with pytest.raises(Conflict):
        reporting.evaluate_station(station, 2025, FULL, actor=_evaluator(station))
    with pytest.raises(ValidationFailed, match="年度报告"):
        reporting.evaluate_station(station, 2024, FULL, actor=_evaluator(station))


def test_evaluator_must_be_independent_of_the_station(session):
    station = factories.station_in("operating")
    reporting.submit_report(station, 2025, COUNTS, actor=_lead(station))
    with pytest.raises(NotAllowed):
        reporting.evaluate_station(station, 2025, FULL, actor=factories.user("officer"))
    insider = factories.user("evaluator", organisation=station.society)
    with pytest.raises(NotAllowed):
        reporting.evaluate_station(station, 2025, FULL, actor=insider)


def test_poor_grade_blocks_the_society_until_overridden(session):
    station = factories.station_in("operating")
    society = station.society
    reporting.submit_report(station, 2025, COUNTS, actor=_lead(station))
    low = {k: 0 for k in FULL}
    low["station_conditions"] = 8
    row = reporting.evaluate_station(station, 2025, low, actor=_evaluator(station))
    assert row.grade == "poor"
    reason = reporting.society_station_block(society.id)
    assert reason and station.name in reason
    park = ops.create_park("受限测试园区", "330100", actor=None)
    gov = factories.org("local_government", city_code="330100")
    with pytest.raises(NotAllowed, match="差"):
        ops.create_station("新服务站", park_id=park.id, government_id=gov.id,
                           society_id=society.id, actor=None)  # fmt: skip
    with pytest.raises(NotAllowed):
        reporting.override_block(row, "整改到位", actor=factories.user("officer"))
    approver = factories.user("approver")
    with pytest.raises(ValidationFailed):
        reporting.override_block(row, " ", actor=approver)
    reporting.override_block(row, "已按期整改并通过复查。", actor=approver)
    assert reporting.society_station_block(society.id) is None
    ops.create_station("新服务站", park_id=park.id, government_id=gov.id,
                       society_id=society.id, actor=None)  # fmt: skip


def test_a_later_better_grade_lifts_the_block(session):
    station = factories.station_in("operating")
    reporting.submit_report(station, 2024, COUNTS, actor=_lead(station))
    reporting.submit_report(station, 2025, COUNTS, actor=_lead(station))
    reporting.evaluate_station(station, 2024, {k: 0 for k in FULL}, actor=_evaluator(station))
    assert reporting.society_station_block(station.society_id)
    reporting.evaluate_station(station, 2025, FULL, actor=_evaluator(station))
    assert reporting.society_station_block(station.society_id) is None
