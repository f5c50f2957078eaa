"""The panel stage (会议评审) in the 评审结果汇总排序表: a detail sheet of the final ranking."""

from __future__ import annotations

from app.calls.models import Call
from app.core.sheets import Column
from app.reviews.operations.panel import ranking_section

MODES = {"replace": "会评结果替代通讯评审得分", "combine": "会评结果与通讯评审得分加权合成"}


def panel_sheet(book, call: Call, ranking) -> None:
    """Add the sheet 明细-会议评审 when the call's panel has concluded."""
    section = ranking_section(call, ranking)
    if not section.rows:
        return
    panel = section.panel
    sheet = book.detail(
        "明细-会议评审",
        [
            Column("最终排名", "int"),
            Column("申报编号"),
            Column("申报名称", width=40),
            Column("通讯评审得分"),
            Column("通讯评审排名", "int"),
            Column("会评结果"),
            Column("最终得分"),
            Column("说明", width=30),
        ],
    )
    rule = MODES[panel.mode] + (
        f"（会评 {panel.panel_weight}%）" if panel.mode == "combine" else ""
    )
    for f in section.rows:
        sheet.append(
            [
                f.rank,
                f.application.project_number or str(f.application.id),
                f.application.title,
                "" if f.remote is None else str(f.remote),
                f.remote_rank,
                "" if not f.shortlisted or f.panel.value is None else str(f.panel.value),
                "" if f.final is None else str(f.final),
                rule if f.shortlisted else "未入围会议评审",
            ]
        )
