"""Documents for the third party: 绩效评价报告 (PDF: score, grade, per indicator, problems)."""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.applications.models import Application
from app.calls.states import CATEGORY_LABELS
from app.core import clock
from app.evaluation.models import Evaluation
from app.evaluation.operations import (
    evaluation_vetoes,
    group_subtotals,
    rubric_for,
    sheet_scores,
)
from app.evaluation.states import GRADE_ZH, KIND_LABELS, EvaluationState, RectificationState
from app.extensions import db

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _plain(value) -> str:
    if value is None:
        return "—"
    return format(Decimal(value).normalize(), "f")


def report_pdf(evaluation: Evaluation) -> bytes:
    """The evaluation report (绩效评价报告) as an A4 PDF in Chinese.

    Project and agency, the total and grade, a table per indicator (weight, self score,
    agency score, the computed evidence, comment), group subtotals, the veto items
    raised with their reasons (and the grade they capped), site-check notes, the
    problem list with deadlines, and a signature block for the agency's seal.
    """
    font = _font()
    base = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=base, fontSize=18, leading=26, alignment=1, spaceAfter=8)
    h2 = ParagraphStyle("h2", parent=base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=4)

    def p(text, style=base):
        return Paragraph(
            escape(str(text if text is not None else "")).replace("\n", "<br/>"), style
        )

    def table(rows, widths):
        t = Table([[p(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    engagement, project = evaluation.engagement, evaluation.project
    app = db.session.get(Application, project.application_id)
    rubric = rubric_for(evaluation)
    agency_scores, comments = sheet_scores(evaluation, "agency")
    self_scores, _self_comments = sheet_scores(evaluation, "self")
    evidence = evaluation.evidence or {}
    grade = GRADE_ZH.get(evaluation.grade or "", "—")
    vetoes = evaluation_vetoes(evaluation)
    if evaluation.grade_before_veto:
        grade = f"{grade}（因否决项由“{GRADE_ZH[evaluation.grade_before_veto]}”降级）"
    state = EvaluationState(str(evaluation.state)).label
    story = [
        p("绩效评价报告", h1),
        p(app.title, ParagraphStyle("title", parent=h2, alignment=1)),
        Spacer(1, 6),
        table(
            [
                ["项目编号", app.project_number or str(project.id)],
                ["承担学会", app.society.name],
                ["任务类别", str(CATEGORY_LABELS.get(app.category or "", app.category or ""))],
                ["评估机构", engagement.agency.name],
                ["评价类型", str(KIND_LABELS.get(engagement.kind, engagement.kind))],
                ["评价状态", str(state)],
                ["指标体系", f"{rubric.title.zh}（第 {rubric.version} 版）"],
                ["指标体系 SHA-256", engagement.rubric_sha256],
                ["自评得分", evaluation.self_total or "—"],
                ["评价得分", evaluation.total or "—"],
                ["评价等级", grade],
            ],
            [40 * mm, 130 * mm],
        ),
        p(f"评价结论：得分 {evaluation.total or '—'}，评价等级：{grade}", h2),
        p(evaluation.summary or ""),
        p("一、分项指标得分", h2),
        table(
            [["一级", "指标", "权重", "自评", "评价得分", "系统数据", "评价意见"]]
            + [
                [
                    c.group or "",
                    c.title.zh,
                    _plain(c.weight),
                    _score(self_scores, c.key),
                    _score(agency_scores, c.key),
                    evidence.get(c.source, "") if c.source else "",
                    comments.get(c.key, ""),
                ]
                for c in rubric.criteria
            ],
            [14 * mm, 46 * mm, 12 * mm, 13 * mm, 16 * mm, 18 * mm, 51 * mm],
        ),
        p("二、分组得分", h2),
        table(
            [["一级指标", "得分", "分值"]]
            + [[g, _plain(v), _plain(w)] for g, v, w in group_subtotals(evaluation, "agency")],
            [60 * mm, 40 * mm, 40 * mm],
        ),
        p("三、否决项", h2),
        table(
            [["否决项", "理由"]] + [[rubric.veto(k).title.zh, r] for k, r in vetoes.items()],
            [70 * mm, 100 * mm],
        )
        if vetoes
        else p("（未提出否决项）"),
        p("四、现场核查情况", h2),
        p(evaluation.site_notes or "（无）"),
        p("五、问题清单及整改要求", h2),
        table(
            [["序号", "问题", "整改要求", "整改期限", "状态"]]
            + [
                [
                    str(i.seq),
                    i.problem,
                    i.requirement,
                    i.deadline.isoformat(),
                    str(RectificationState(str(i.state)).label),
                ]
                for i in evaluation.items
            ],
            [12 * mm, 60 * mm, 50 * mm, 24 * mm, 24 * mm],
        ),
        Spacer(1, 16),
        p(f"评估机构（盖章）：{engagement.agency.name}"),
        p(f"日期：{clock.today().isoformat()}"),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title="绩效评价报告",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    ).build(story)
    return buffer.getvalue()


def _score(scores: dict, key: str) -> str:
    if key not in scores:
        return ""
    value = scores[key]
    return "不适用" if value is None else _plain(value)
