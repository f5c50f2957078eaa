"""Spreadsheets of the stations module (xlsx through ``app.core.sheets``): the station
registry, the needs board (as filtered on screen) and the stations' yearly reports.

Each function takes rows the caller already narrowed to what the user may see and
returns the workbook's bytes; sheet titles and headers are Chinese (the documents the
department files).
"""

from __future__ import annotations

import io
from collections import Counter

from app.core.sheets import Column, Footer, XlsxBook
from app.stations.states import GRADE_LABELS, NEED_KINDS, URGENCIES, NeedState, StationState


def _footer(user) -> Footer:
    return Footer(user.org.name if user.org else "", user.name)


def stations_xlsx(stations, *, user, latest_grades: dict | None = None) -> bytes:
    """The station registry: one row per station with its parties, state and latest grade."""
    latest_grades = latest_grades or {}
    out = io.BytesIO()
    with XlsxBook(out, title="学会服务站名册", footer=_footer(user), unit="个") as book:
        summary = book.summary([Column("状态", width=16), Column("服务站数", "int")])
        detail = book.detail(
            "明细",
            [
                Column("编号", "int", width=8),
                Column("服务站", width=30),
                Column("所在园区", width=26),
                Column("城市代码", width=10),
                Column("共建政府", width=24),
                Column("牵头学会", width=24),
                Column("合作学会", width=30),
                Column("首席科技专家", width=14),
                Column("专家团队人数", "int"),
                Column("状态", width=10),
                Column("建立时间", "datetime", width=20),
                Column("认定示范基地时间", "datetime", width=20),
                Column("最近评价等级", width=12),
            ],
        )
        counts = Counter()
        for s in stations:
            state = str(s.state)
            counts[state] += 1
            grade = latest_grades.get(s.id)
            detail.append(
                [
                    s.id,
                    s.name,
                    s.park.name,
                    s.park.city_code,
                    s.government.name,
                    s.society.name,
                    "、".join(p.society.name for p in s.partners),
                    (s.chief_expert or {}).get("name", ""),
                    len(s.experts),
                    str(StationState(state).label),
                    s.established_at,
                    s.base_at,
                    str(GRADE_LABELS[grade]) if grade else "",
                ]
            )
        for state in StationState:
            summary.append([str(state.label), counts.get(state.value, 0)])
        summary.append(["合计", sum(counts.values())])
    return out.getvalue()


def needs_xlsx(needs, *, user, scope: str) -> bytes:
    """The needs board as filtered (``scope`` names the filters in the title)."""
    out = io.BytesIO()
    with XlsxBook(out, title=f"需求对接台账（{scope}）", footer=_footer(user), unit="项") as book:
        summary = book.summary([Column("状态", width=16), Column("需求数", "int")])
        detail = book.detail(
            "明细",
            [
                Column("编号", "int", width=8),
                Column("需求名称", width=30),
                Column("需求类型", width=18),
                Column("所属行业", width=14),
                Column("紧急程度", width=10),
                Column("服务站", width=28),
                Column("城市代码", width=10),
                Column("需求单位", width=24),
                Column("状态", width=10),
                Column("对接项目", "int"),
                Column("满意度（1-5）", "int"),
                Column("发布时间", "datetime", width=20),
                Column("关闭时间", "datetime", width=20),
            ],
        )
        counts = Counter()
        for n in needs:
            state = str(n.state)
            counts[state] += 1
            detail.append(
                [
                    n.id,
                    n.title,
                    str(NEED_KINDS.get(n.kind, n.kind)),
                    n.industry,
                    str(URGENCIES.get(n.urgency, n.urgency)),
                    n.station.name,
                    n.station.park.city_code,
                    n.org.name,
                    str(NeedState(state).label),
                    n.project_id,
                    n.satisfaction,
                    n.created_at,
                    n.closed_at,
                ]
            )
        for state in NeedState:
            summary.append([str(state.label), counts.get(state.value, 0)])
        summary.append(["合计", sum(counts.values())])
    return out.getvalue()


REPORT_COLUMNS = (
    ("needs_collected", "收集需求数"),
    ("needs_solved", "解决需求数"),
    ("experts_stationed", "入驻专家数"),
    ("enterprises_served", "服务企业数"),
    ("technicians_trained", "培训技术人员数"),
    ("events_held", "举办活动数"),
    ("patents", "专利数"),
    ("standards", "标准数"),
    ("products", "新产品数"),
)


def reports_xlsx(rows, *, user) -> bytes:
    """Yearly reports: ``rows`` of ``(report, station, evaluation or None)``; a summary
    per year (sums), then one detail row per report with its grade."""
    out = io.BytesIO()
    with XlsxBook(out, title="服务站年度报告汇总", footer=_footer(user)) as book:
        summary = book.summary(
            [Column("年度", "int", width=8), Column("报告数", "int")]
            + [Column(title, "int") for _k, title in REPORT_COLUMNS]
            + [Column("企业新增收入（元）", "yuan", width=18)]
        )
        detail = book.detail(
            "明细",
            [Column("服务站", width=30), Column("年度", "int", width=8)]
            + [Column(title, "int") for _k, title in REPORT_COLUMNS]
            + [
                Column("企业新增收入（元）", "yuan", width=18),
                Column("报送时间", "datetime", width=20),
                Column("评价得分", width=10),
                Column("评价等级", width=10),
            ],
        )
        by_year: dict[int, list] = {}
        for report, station, evaluation in rows:
            detail.append(
                [station.name, report.year]
                + [getattr(report, key) for key, _t in REPORT_COLUMNS]
                + [
                    report.revenue_fen,
                    report.submitted_at,
                    evaluation.total if evaluation else "",
                    str(GRADE_LABELS[evaluation.grade]) if evaluation else "",
                ]
            )
            sums = by_year.setdefault(report.year, [0] * (len(REPORT_COLUMNS) + 2))
            sums[0] += 1
            for i, (key, _t) in enumerate(REPORT_COLUMNS, start=1):
                sums[i] += getattr(report, key)
            sums[-1] += report.revenue_fen
        for year in sorted(by_year):
            summary.append([year, *by_year[year]])
    return out.getvalue()
