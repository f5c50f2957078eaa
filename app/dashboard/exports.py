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
        part = figures["participation"]
        share = "" if part["share"] is None else f"{part['share'] * 100:.2f}%"
        target = figures.get("participation_target")
        rows = [
            ["立项项目数", str(sum(r["count"] for r in figures["by_category"]))],
            ["参与学会数（已提交申报）", str(part["participating"])],
            ["已注册省级学会数", str(part["registered"])],
            ["学会参与率", share],
            ["学会参与率目标", "" if target is None else f"{target * 100:.0f}%"],
        ]
        rows += [[f"累计{STAGE_TITLES[s]}", _yuan(money["totals"][s])] for s in stages]
        for row in rows:
            summary.append(row)
    return out.getvalue()


def _yuan(fen: int) -> str:
    from app.core.money import format_yuan

    return format_yuan(fen)
