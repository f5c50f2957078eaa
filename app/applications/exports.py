"""Documents: the application as a Chinese PDF for sealing; 申报汇总表 and 形式审查结果表 (xlsx)."""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

import xlsxwriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.applications.models import Application, Decision
from app.applications.states import ApplicationState
from app.calls.states import CATEGORY_LABELS
from app.core import clock
from app.core.money import format_yuan

FONT = "STSong-Light"
MAKER = "浙江省科学技术协会学会部"
GROUPS = {"output": "产出指标", "effect": "效益指标", "satisfaction": "满意度指标"}
_INJECTION = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value) -> str:
    """Neutralise spreadsheet formula injection: text starting with = + - @ tab CR gets a '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_INJECTION) else text


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def application_pdf(app: Application) -> bytes:
    """The application (申报书) as an A4 PDF in Chinese, with a signature and seal block."""
    font = _font()
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    h1 = ParagraphStyle("h1", parent=base, fontSize=18, leading=26, alignment=1, spaceAfter=8)
    h2 = ParagraphStyle("h2", parent=base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=4)

    def p(text, style=base):
        return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), style)

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

    call, chief = app.call, app.chief_expert or {}
    story = [
        p(call.title, ParagraphStyle("call", parent=base, alignment=1)),
        p("项目申报书", h1),
        p(app.title, ParagraphStyle("title", parent=h2, alignment=1)),
        Spacer(1, 6),
        table(
            [
                ["项目编号", app.project_number or "（未提交）"],
                ["申报单位", app.society.name],
                ["任务类别", str(CATEGORY_LABELS.get(app.category or "", app.category or ""))],
                ["学会服务站", app.station.name if app.station else ""],
                ["所在园区", app.park.name if app.park else ""],
                ["共建地方", app.co_government.name if app.co_government else ""],
                [
                    "首席科技专家",
                    f"{chief.get('name', '')}（{chief.get('title', '')}，"
                    f"{chief.get('organisation', '')}）",
                ],
                ["申请专项资金（元）", format_yuan(app.requested_fen)],
                ["地方配套（元）", format_yuan(app.matching_fen)],
                ["自筹资金（元）", format_yuan(app.self_raised_fen)],
            ],
            [45 * mm, 120 * mm],
        ),
        p("一、项目摘要", h2),
        p(app.summary),
        p("二、项目目标", h2),
        p(app.objectives),
        p("三、项目团队", h2),
        table(
            [["姓名", "职称", "单位", "分工"]]
            + [
                [m.get("name"), m.get("title"), m.get("organisation"), m.get("role")]
                for m in app.team or []
            ],
            [30 * mm, 30 * mm, 60 * mm, 45 * mm],
        ),
        p("四、绩效目标", h2),
        table(
            [["类别", "指标", "单位", "目标值"]]
            + [
                [GROUPS.get(t.target_group, t.target_group), t.indicator, t.unit, t.target_value]
                for t in app.targets
            ],
            [30 * mm, 85 * mm, 20 * mm, 30 * mm],
        ),
        p("五、经费预算（单位：元）", h2),
        table(
            [["预算科目", "专项资金", "地方配套", "自筹", "合计"]]
            + [
                [
                    (call.line(b.line_key) or {}).get("zh", b.line_key),
                    format_yuan(b.fund_fen),
                    format_yuan(b.matching_fen),
                    format_yuan(b.self_raised_fen),
                    format_yuan(b.total_fen),
                ]
                for b in app.budget
            ]
            + [
                [
                    "合计",
                    format_yuan(app.requested_fen),
                    format_yuan(app.matching_fen),
                    format_yuan(app.self_raised_fen),
                    format_yuan(app.requested_fen + app.matching_fen + app.self_raised_fen),
                ]
            ],
            [45 * mm, 30 * mm, 30 * mm, 30 * mm, 30 * mm],
        ),
        p("六、进度安排与分期拨付", h2),
        table(
            [["节点", "名称", "完成日期", "交付成果", "拨付比例"]]
            + [
                [
                    str(m.seq),
                    m.title,
                    m.due_on.isoformat() if m.due_on else "",
                    m.deliverables,
                    f"{m.tranche_pct}%",
                ]
                for m in app.milestones
            ],
            [12 * mm, 35 * mm, 25 * mm, 73 * mm, 20 * mm],
        ),
        p("七、申请回避的评审专家", h2),
        table(
            [["姓名", "单位", "理由"]]
            + [
                [e.get("name"), e.get("organisation"), e.get("reason")]
                for e in app.excluded_experts or []
            ],
            [30 * mm, 60 * mm, 75 * mm],
        ),
        p("八、承诺", h2),
        p(("☑" if app.pledge_integrity else "☐") + " 本单位承诺所填内容真实，遵守科研诚信要求。"),
        p(("☑" if app.pledge_no_duplicate else "☐") + " 本项目未以相同内容重复申报其他财政资金。"),
        Spacer(1, 24),
        p("项目负责人（签字）：____________　　申报单位（盖章）：____________"),
        Spacer(1, 8),
        p("日期：______年____月____日"),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=app.title or "申报书",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    doc.build(story)
    return buffer.getvalue()


def _yuan(fen: int) -> Decimal:
    return Decimal(int(fen or 0)).scaleb(-2)


class _Sheet:
    """A sheet with a title carrying the unit, a frozen header row and the signature footer."""

    def __init__(self, book, name: str, title: str, headers: list[str], widths: list[int]):
        self.ws = book.add_worksheet(name)
        self.book = book
        self.fmt_title = book.add_format({"bold": True, "font_size": 14})
        self.fmt_head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.fmt_text = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
        self.fmt_money = book.add_format({"border": 1, "num_format": "#,##0.00"})
        self.ws.write_string(0, 0, title, self.fmt_title)
        for col, (head, width) in enumerate(zip(headers, widths, strict=True)):
            self.ws.write_string(1, col, head, self.fmt_head)
            self.ws.set_column(col, col, width)
        self.ws.freeze_panes(2, 0)
        self.row = 2

    def add(self, cells: list) -> None:
        for col, value in enumerate(cells):
            if isinstance(value, Decimal):
                self.ws.write_number(self.row, col, value, self.fmt_money)
            elif isinstance(value, int) and not isinstance(value, bool):
                self.ws.write_number(self.row, col, value, self.fmt_text)
            else:
                self.ws.write_string(self.row, col, safe_text(value), self.fmt_text)
        self.row += 1

    def footer(self, maker_name: str) -> None:
        today = clock.today().isoformat()
        self.row += 1
        for label, value in (
            ("制表单位：", MAKER),
            ("制表人：", maker_name),
            ("审核人：", ""),
            ("日期：", today),
        ):
            self.ws.write_string(self.row, 0, label)
            self.ws.write_string(self.row, 1, safe_text(value))
            self.row += 1
        self.ws.set_footer(f"&L制表单位：{MAKER}&C制表人：{maker_name}　审核人：&R日期：{today}")


def summary_xlsx(call, applications, *, maker_name: str) -> bytes:
    """申报汇总表: 汇总 (by category and by state) and 明细 (one row per application), in 元."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    summary = _Sheet(
        book,
        "汇总",
        f"{call.title} 申报汇总表（金额单位：元）",
        ["任务类别", "项数", "申请专项资金", "地方配套", "自筹资金"],
        [22, 10, 18, 18, 18],
    )
    for key in call.categories:
        rows = [a for a in applications if a.category == key]
        summary.add(
            [
                str(CATEGORY_LABELS.get(key, key)),
                len(rows),
                _yuan(sum(a.requested_fen for a in rows)),
                _yuan(sum(a.matching_fen for a in rows)),
                _yuan(sum(a.self_raised_fen for a in rows)),
            ]
        )
    summary.add(
        [
            "合计",
            len(applications),
            _yuan(sum(a.requested_fen for a in applications)),
            _yuan(sum(a.matching_fen for a in applications)),
            _yuan(sum(a.self_raised_fen for a in applications)),
        ]
    )
    summary.footer(maker_name)
    detail = _Sheet(
        book,
        "明细",
        f"{call.title} 申报明细（金额单位：元）",
        [
            "项目编号",
            "项目名称",
            "申报单位",
            "任务类别",
            "首席科技专家",
            "申请专项资金",
            "地方配套",
            "自筹资金",
            "状态",
            "提交时间",
        ],
        [16, 36, 26, 14, 14, 16, 16, 16, 18, 18],
    )
    for a in applications:
        detail.add(
            [
                a.project_number or "",
                a.title,
                a.society.name,
                str(CATEGORY_LABELS.get(a.category or "", a.category or "")),
                (a.chief_expert or {}).get("name", ""),
                _yuan(a.requested_fen),
                _yuan(a.matching_fen),
                _yuan(a.self_raised_fen),
                str(ApplicationState(a.state).label),
                clock.local(a.submitted_at).strftime("%Y-%m-%d %H:%M") if a.submitted_at else "",
            ]
        )
    detail.footer(maker_name)
    book.close()
    return buffer.getvalue()


def eligibility_xlsx(call, applications, decisions, *, maker_name: str) -> bytes:
    """形式审查结果表: 汇总 (counts by outcome) and 明细 (outcome and written reasons)."""
    latest: dict[int, Decision] = {}
    for d in decisions:
        if d.kind in ("accept", "return", "reject"):
            latest[d.application_id] = d
    outcome = {"accept": "受理", "return": "退回修改", "reject": "不予受理"}
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    summary = _Sheet(
        book,
        "汇总",
        f"{call.title} 形式审查结果汇总（金额单位：元）",
        ["审查结论", "项数", "申请专项资金"],
        [16, 10, 18],
    )
    for kind, label in [*outcome.items(), ("", "尚未审查")]:
        rows = [
            a for a in applications if (latest.get(a.id).kind if a.id in latest else "") == kind
        ]
        summary.add([label, len(rows), _yuan(sum(a.requested_fen for a in rows))])
    summary.footer(maker_name)
    detail = _Sheet(
        book,
        "明细",
        f"{call.title} 形式审查结果表（金额单位：元）",
        ["项目编号", "项目名称", "申报单位", "申请专项资金", "审查结论", "理由", "审查时间"],
        [16, 36, 26, 16, 12, 40, 18],
    )
    for a in applications:
        d = latest.get(a.id)
        detail.add(
            [
                a.project_number or "",
                a.title,
                a.society.name,
                _yuan(a.requested_fen),
                outcome.get(d.kind, "") if d else "尚未审查",
                (d.reason or "") if d else "",
                clock.local(d.created_at).strftime("%Y-%m-%d %H:%M") if d else "",
            ]
        )
    detail.footer(maker_name)
    book.close()
    return buffer.getvalue()
