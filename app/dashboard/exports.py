"""The dashboard's figures as an xlsx (汇总 first, then one 明细 sheet per figure)."""

from __future__ import annotations

import io

from app.core.sheets import Column, Footer, XlsxBook
from app.evaluation.states import GRADE_ZH, GRADES

STAGE_TITLES = {
    "reserved": "预留（元）",
    "committed": "已立项承诺（元）",
    "released": "已批准拨付（元）",
    "paid": "已支付（元）",
    "clawback_demanded": "已追缴（元）",
    "clawed_back": "已追回（元）",
}


def figures_xlsx(figures: dict, *, scope: str, unit: str, preparer: str) -> bytes:
    """The figures of ``all_figures`` in one workbook; money cells are 元 from fen."""
    out = io.BytesIO()
    with XlsxBook(
        out, title=f"项目绩效与资金看板（{scope}）", footer=Footer(unit, preparer)
    ) as book:
        summary = book.summary([Column("指标", width=36), Column("数值", width=20)])
        by_category = book.detail(
            "明细-任务类别", [Column("任务类别", width=20), Column("项目数", "int")]
        )
        for row in figures["by_category"]:
            by_category.append([row["label"], row["count"]])
        by_city = book.detail(
            "明细-地市", [Column("行政区划代码"), Column("地市"), Column("项目数", "int")]
        )
        for row in figures["by_city"]:
            by_city.append([row["code"], row["name"], row["count"]])
        money = figures["money"]
        stages = list(STAGE_TITLES)
        by_month = book.detail(
            "明细-资金进度",
            [Column("月份")] + [Column(STAGE_TITLES[s], "yuan", width=18) for s in stages],
        )
        for i, month in enumerate(money["months"]):
            by_month.append([month] + [money["series"][s][i] for s in stages])
        by_month.append(["合计"] + [money["totals"][s] for s in stages])
        grades = book.detail("明细-评价等级", [Column("等级"), Column("项目数", "int")])
        for g in GRADES:
            grades.append([GRADE_ZH[g], figures["grades"][g]])
        scores = book.detail(
            "明细-得分分布",
            [Column("分数段"), Column("绩效评价", "int"), Column("专家评审", "int")],
        )
        for ev, rv in zip(
            figures["scores"]["evaluation"], figures["scores"]["review"], strict=True
        ):
            scores.append([ev["label"], ev["count"], rv["count"]])
        stations = figures.get("stations")
        if stations is not None:
            _station_sheets(book, stations)
        part = figures["participation"]
        share = "" if part["share"] is None else f"{part['share'] * 100:.2f}%"
        target = figures.get("participation_target")
        rows = [
            ["立项项目数", str(sum(r["count"] for r in figures["by_category"]))],
            ["已撤销或终止项目数（不计入立项项目数）", str(figures.get("stopped", 0))],
            ["参与学会数（已提交申报）", str(part["participating"])],
            ["已注册省级学会数", str(part["registered"])],
            ["学会参与率", share],
            ["学会参与率目标", "" if target is None else f"{target * 100:.0f}%"],
        ]
        rows += [[f"累计{STAGE_TITLES[s]}", _yuan(money["totals"][s])] for s in stages]
        if stations is not None:
            rows += _station_summary(stations)
        for row in rows:
            summary.append(row)
    return out.getvalue()


def _pct(value) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"


def _range(goal: dict) -> str:
    if goal.get("min") is None:
        return ""
    return f"{goal['min']}–{goal['max']}" if goal.get("max") is not None else f"≥{goal['min']}"


def _at_least(goal: dict) -> str:
    return "" if goal.get("min") is None else f"≥{_pct(goal['min'])}"


def _station_summary(st: dict) -> list[list[str]]:
    """The stations' stage goals as summary rows (measured, then the target)."""
    city, soc = st["city_share_with_base"], st["society_share_participating"]
    return [
        ["试点地区数", str(st["pilot_regions"]["value"])],
        ["试点地区数目标", _range(st["pilot_regions"])],
        ["建有示范基地的设区市占比", _pct(city["value"])],
        ["建有示范基地的设区市占比目标", _at_least(city)],
        ["参与学会占比（含服务站）", _pct(soc["value"])],
        ["参与学会占比目标", _at_least(soc)],
        ["支持的高新园区数", str(st["parks_supported"]["value"])],
        ["支持的高新园区数目标", _range(st["parks_supported"])],
        ["已发布需求", str(st["needs"]["posted"])],
        ["已对接需求", str(st["needs"]["matched"])],
        ["已解决需求", str(st["needs"]["solved"])],
    ]


def _station_sheets(book, st: dict) -> None:
    """明细 sheets of the stations' stage goals: goals, by city, by year, grades."""
    goals = book.detail(
        "明细-服务站阶段目标",
        [
            Column("指标", width=30),
            Column("实际", width=14),
            Column("目标", width=14),
            Column("目标年度", "int"),
        ],
    )
    city, soc = st["city_share_with_base"], st["society_share_participating"]
    goals.append(
        [
            "试点地区数",
            str(st["pilot_regions"]["value"]),
            _range(st["pilot_regions"]),
            st["pilot_regions"].get("year"),
        ]
    )
    goals.append(
        ["建有示范基地的设区市占比", _pct(city["value"]), _at_least(city), city.get("year")]
    )
    goals.append(["参与学会占比（含服务站）", _pct(soc["value"]), _at_least(soc), soc.get("year")])
    goals.append(
        [
            "支持的高新园区数",
            str(st["parks_supported"]["value"]),
            _range(st["parks_supported"]),
            st["parks_supported"].get("year"),
        ]
    )
    by_city = book.detail(
        "明细-服务站地市",
        [
            Column("行政区划代码"),
            Column("设区市"),
            Column("服务站", "int"),
            Column("示范基地", "int"),
            Column("试点地区", "int"),
            Column("发布需求", "int"),
            Column("对接需求", "int"),
            Column("解决需求", "int"),
        ],
    )
    for c in st["by_city"]:
        by_city.append(
            [
                c["code"],
                c["zh"],
                c["stations"],
                c["bases"],
                c["pilot_regions"],
                c["needs_posted"],
                c["needs_matched"],
                c["needs_solved"],
            ]
        )
    by_year = book.detail(
        "明细-服务站年度",
        [
            Column("年度", "int"),
            Column("试点地区", "int"),
            Column("新增示范基地", "int"),
            Column("发布需求", "int"),
            Column("对接需求", "int"),
            Column("解决需求", "int"),
        ],
    )
    for y in st["by_year"]:
        by_year.append(
            [
                y["year"],
                y["pilot_regions"],
                y["bases"],
                y["needs_posted"],
                y["needs_matched"],
                y["needs_solved"],
            ]
        )
    grades = book.detail("明细-服务站评价等级", [Column("等级"), Column("服务站数", "int")])
    for key, count in st["grades"].items():
        grades.append([GRADE_ZH.get(key, key), count])


def _yuan(fen: int) -> str:
    from app.core.money import format_yuan

    return format_yuan(fen)
