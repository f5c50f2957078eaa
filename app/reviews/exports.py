"""Downloads of the review module: the pool, 专家抽取记录表, 专家评分明细表,
评审结果汇总排序表, the long score file for ``flask review rank`` and 专家咨询费发放表."""

from __future__ import annotations

import io
from decimal import Decimal
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import func, select

from app.applications.exports import _font
from app.applications.models import Application
from app.calls.models import Call
from app.core import clock, export_jobs
from app.core.errors import ValidationFailed
from app.core.sheets import XLSX_MIME, Column, CsvWriter, Footer, XlsxBook
from app.extensions import db
from app.reviews.models import Expert, ReviewAssignment, ReviewDraw
from app.reviews.operations.common import rubric_of
from app.reviews.operations.draw import conflicts_of_call
from app.reviews.operations.panel import fee_rows
from app.reviews.operations.pool import IMPORT_COLUMNS
from app.reviews.operations.ranking import Ranking, submitted_of
from app.reviews.scoring import round_half_up
from app.reviews.states import CONFLICT_LABELS, AssignmentState

UNIT = "学会部"


def _footer(user) -> Footer:
    return Footer(UNIT, getattr(user, "name", ""))


def _number(app: Application) -> str:
    return app.project_number or str(app.id)


def pool_xlsx(fh, experts: list[Expert], *, user) -> None:
    """The expert pool in the import sheet's columns (re-importable), plus credit and state."""
    cols = [Column(c, width=16) for c in IMPORT_COLUMNS]
    cols += [Column("信用分", "int"), Column("状态"), Column("编号", "int")]
    with XlsxBook(fh, title="专家库", footer=_footer(user), unit="人") as book:
        summary = book.summary([Column("项目"), Column("数量", "int")])
        detail = book.detail("明细", cols)
        for e in experts:
            detail.append(
                [
                    e.user.name,
                    e.user.email,
                    e.org.name if e.org else "",
                    e.title,
                    "是" if e.is_senior else "否",
                    "; ".join(e.fields or []),
                    "; ".join(e.keywords or []),
                    e.region or "",
                    e.yearly_limit,
                    e.credit_score,
                    "在库" if e.is_active else "停用",
                    e.id,
                ]
            )
        summary.append(["专家总数", len(experts)])
        summary.append(["在库", sum(1 for e in experts if e.is_active)])


def draw_xlsx(fh, draw: ReviewDraw, call: Call, *, user) -> None:
    """专家抽取记录表: seed, hash, candidates, drawn, reserves, conflicts, overrides,
    declines and recusals with their replacements."""
    experts = {e.id: e for e in db.session.query(Expert).all()}

    def who(x) -> tuple[str, str]:
        e = experts.get(int(x))
        return (e.user.name, e.org.name if e.org else "") if e else ("", "")

    apps = {a.id: a for a in db.session.query(Application).filter_by(call_id=call.id)}
    with XlsxBook(
        fh, title=f"专家抽取记录表（{call.title}）", footer=_footer(user), unit="人"
    ) as book:
        summary = book.summary([Column("项目", width=20), Column("内容", width=70)])
        drawn = book.detail(
            "明细-抽取结果",
            [
                Column("申报编号"),
                Column("申报名称", width=40),
                Column("序位", "int"),
                Column("专家编号", "int"),
                Column("专家姓名"),
                Column("工作单位", width=24),
            ],
        )
        for app_id, expert_ids in sorted(draw.assignments().items()):
            app = apps.get(app_id)
            for pos, x in enumerate(expert_ids, 1):
                drawn.append([_number(app), app.title, pos, x, *who(x)])
        reserve = book.detail(
            "明细-备选专家",
            [
                Column("申报编号"),
                Column("备选序位", "int"),
                Column("专家编号", "int"),
                Column("专家姓名"),
                Column("工作单位", width=24),
            ],
        )
        for app_id in sorted(draw.assignments()):
            for pos, x in enumerate(draw.reserves(app_id), 1):
                reserve.append([_number(apps[app_id]), pos, x, *who(x)])
        recusal = book.detail(
            "明细-回避",
            [
                Column("申报编号"),
                Column("专家编号", "int"),
                Column("专家姓名"),
                Column("回避原因", width=30),
                Column("说明", width=30),
            ],
        )
        for c in conflicts_of_call(call.id):
            if c.application_id in apps:
                recusal.append(
                    [
                        _number(apps[c.application_id]),
                        c.expert_id,
                        who(c.expert_id)[0],
                        str(CONFLICT_LABELS.get(c.reason, c.reason)),
                        c.detail or "",
                    ]
                )
        changes = book.detail(
            "明细-调整与替换",
            [
                Column("申报编号"),
                Column("类型"),
                Column("原专家编号", "int"),
                Column("新专家编号", "int"),
                Column("理由", width=40),
                Column("时间", width=20),
            ],
        )
        for o in draw.overrides or []:
            changes.append(
                [
                    _number(apps[o["application_id"]]),
                    "人工调整",
                    o["removed"],
                    o["added"],
                    o["reason"],
                    o["at"],
                ]
            )
        rows = (
            db.session.query(ReviewAssignment)
            .filter_by(draw_id=draw.id)
            .order_by(ReviewAssignment.id)
        )
        replaced = {r.replaces_id: r for r in rows if r.replaces_id}
        for r in rows:
            if r.state in ("declined", "recused"):
                new = replaced.get(r.id)
                changes.append(
                    [
                        _number(r.application),
                        AssignmentState(r.state).label,
                        r.expert_id,
                        new.expert_id if new else None,
                        r.response_reason or "",
                        clock.rfc3339(r.responded_at),
                    ]
                )
        for label, value in [
            ("申报批次", call.title),
            ("抽取编号", str(draw.id)),
            ("随机种子", str(draw.seed)),
            ("输入摘要（sha256）", draw.input_hash),
            ("每份申报专家数", str(draw.k)),
            ("领域筛选", "、".join(draw.field_filter or []) or "全部"),
            ("候选专家数", str(len(draw.candidates or []))),
            ("候选专家编号", ", ".join(str(x) for x in draw.candidates or [])),
            ("申报书数", str(len(draw.application_ids or []))),
            ("抽取人", draw.created_by.name if draw.created_by else ""),
            ("抽取时间", clock.local(draw.created_at).strftime("%Y-%m-%d %H:%M:%S")),
            (
                "确认时间",
                clock.local(draw.confirmed_at).strftime("%Y-%m-%d %H:%M:%S")
                if draw.confirmed_at
                else "未确认",
            ),
        ]:
            summary.append([label, value])


def scores_detail_xlsx(fh, call: Call, *, user, report=None) -> None:
    """专家评分明细表: one row per criterion of every submitted sheet; ``report(done,
    total, message)`` hears of the sheets written (background export)."""
    rows = submitted_of(call.id)
    with XlsxBook(
        fh, title=f"专家评分明细表（{call.title}）", footer=_footer(user), unit="分"
    ) as book:
        summary = book.summary(
            [
                Column("申报编号"),
                Column("申报名称", width=40),
                Column("专家编号", "int"),
                Column("总分"),
                Column("否决项"),
                Column("总体意见", width=50),
            ]
        )
        detail = book.detail(
            "明细",
            [
                Column("申报编号"),
                Column("专家编号", "int"),
                Column("评审指标", width=40),
                Column("得分"),
                Column("评语", width=40),
            ],
        )
        for number, r in enumerate(rows, 1):
            rubric = rubric_of(r.rubric_snapshot_id)
            scores = {s.criterion_key: s for s in r.scores}
            for c in rubric.criteria:
                s = scores.get(c.key)
                detail.append(
                    [
                        _number(r.application),
                        r.expert_id,
                        c.title.get("zh"),
                        "不适用" if s is not None and s.score is None else (s.score if s else ""),
                        s.comment if s else "",
                    ]
                )
            summary.append(
                [
                    _number(r.application),
                    r.application.title,
                    r.expert_id,
                    r.total or "",
                    "、".join(rubric.veto(v.veto_key).title.get("zh") for v in r.vetoes),
                    r.overall_comment,
                ]
            )
            if report is not None and (number % 50 == 0 or number == len(rows)):
                report(number, len(rows), _("已写入 %(n)s / %(t)s 份评分表", n=number, t=len(rows)))


def scores_detail_rows(call_id: int) -> int:
    """How many detail rows the 专家评分明细表 of a call has (criteria of submitted sheets)."""
    from app.reviews.models import ReviewScore

    return db.session.scalar(
        select(func.count(ReviewScore.id))
        .join(ReviewAssignment, ReviewAssignment.id == ReviewScore.assignment_id)
        .where(ReviewAssignment.call_id == call_id, ReviewAssignment.state == "submitted")
    )


def _check_scores(params, actor) -> None:
    call = db.session.get(Call, params.get("call_id") or 0)
    if call is None or call.state == "draft":
        raise ValidationFailed(_("没有这个批次。"))


def _build_scores(params, actor, report):
    call = db.session.get(Call, params["call_id"])
    fh = io.BytesIO()
    scores_detail_xlsx(fh, call, user=actor, report=report)
    return fh.getvalue(), f"专家评分明细表-{call.id}.xlsx", XLSX_MIME


SCORES_EXPORT = "reviews.scores"
export_jobs.register(
    SCORES_EXPORT, _l("专家评分明细表"), "reviews.rank", _build_scores, _check_scores
)


FLAG_LABELS = {
    "veto": "一票否决",
    "veto_hold": "否决待核",
    "insufficient_reviews": "评审人数不足",
    "disagreement": "分歧较大",
    "tie": "并列",
}


def ranking_xlsx(fh, call: Call, ranking: Ranking, *, user) -> None:
    """评审结果汇总排序表."""
    with XlsxBook(
        fh, title=f"评审结果汇总排序表（{call.title}）", footer=_footer(user), unit="分"
    ) as book:
        summary = book.summary(
            [
                Column("排名", "int"),
                Column("申报编号"),
                Column("申报名称", width=40),
                Column("申报单位", width=24),
                Column("评审人数", "int"),
                Column("各专家总分", width=30),
                Column("汇总得分"),
                Column("推荐档次"),
                Column("标记", width=24),
            ]
        )
        for row in ranking.rows:
            r = row.ranked
            summary.append(
                [
                    r.rank,
                    _number(row.application),
                    row.application.title,
                    row.application.society.name,
                    r.n,
                    " / ".join("" if t is None else f"{t:.2f}" for _a, t in row.totals),
                    "" if r.aggregate is None else str(r.aggregate),
                    r.band.label.get("zh") if r.band else "",
                    "、".join(FLAG_LABELS.get(f, f) for f in r.flags),
                ]
            )
        stats = book.detail("明细-信度与宽严度", [Column("项目", width=30), Column("数值")])
        stats.append(["组内相关系数 ICC(1)", "" if ranking.icc is None else f"{ranking.icc:.4f}"])
        for expert_id, value in sorted(ranking.leniency.items()):
            stats.append([f"专家 {expert_id} 宽严度", f"{value:.2f}"])
        from app.reviews.panel_exports import panel_sheet  # 会议评审 (second stage)

        panel_sheet(book, call, ranking)


def scores_csv(fh, call: Call) -> int:
    """The call's scores in the long format ``application,reviewer,criterion,score``
    (ids; blank = not applicable; a veto key with score 1) for ``flask review rank``."""
    writer = CsvWriter(fh, ["application", "reviewer", "criterion", "score"])
    for r in submitted_of(call.id):
        for s in r.scores:
            writer.append([str(r.application_id), str(r.expert_id), s.criterion_key, s.score or ""])
        for v in r.vetoes:
            writer.append([str(r.application_id), str(r.expert_id), v.veto_key, "1"])
    writer.close()
    return writer.rows


PANEL_ATTENDANCE = {"present": "全天", "half_day": "半天", "absent": "缺席"}


def fees_xlsx(fh, call: Call, *, user) -> None:
    """专家咨询费发放表: remote-review fees from completed reviews, for finance."""
    rows = fee_rows(call)
    with XlsxBook(fh, title=f"专家咨询费发放表（{call.title}）", footer=_footer(user)) as book:
        summary = book.summary(
            [Column("项目"), Column("人数", "int"), Column("金额（元）", "yuan")]
        )
        detail = book.detail(
            "明细",
            [
                Column("专家编号", "int"),
                Column("姓名"),
                Column("工作单位", width=24),
                Column("职称"),
                Column("高级职称"),
                Column("评审份数", "int"),
                Column("单价（元/份）", "yuan"),
                Column("金额（元）", "yuan"),
                Column("会议评审出席"),
                Column("会评日标准（元/天）", "yuan"),
                Column("会评金额（元）", "yuan"),
                Column("合计（元）", "yuan"),
                Column("开户行", width=20),
                Column("银行账号", width=24),
                Column("签收"),
            ],
        )
        for f in rows:
            e = f.expert
            detail.append(
                [
                    e.id,
                    e.user.name,
                    e.org.name if e.org else "",
                    e.title,
                    "是" if e.is_senior else "否",
                    f.reviews,
                    f.rate_fen,
                    f.amount_fen,
                    PANEL_ATTENDANCE.get(f.panel.attendance, "") if f.panel else "",
                    f.panel.rate_fen if f.panel else 0,
                    f.panel_fen,
                    f.total_fen,
                    e.bank_name or "",
                    e.bank_account or "",
                    "",
                ]
            )
        summary.append(["通讯评审咨询费合计", len(rows), sum(f.amount_fen for f in rows)])
        panel = [f for f in rows if f.panel is not None]
        if panel:  # 会议评审: the day rate by title, a half day at 60%
            summary.append(["会议评审咨询费合计", len(panel), sum(f.panel_fen for f in panel)])
            summary.append(["合计", len(rows), sum(f.total_fen for f in rows)])


# -- the expert's own documents (PDF) ------------------------------------------


def _pdf(story_of, title: str) -> bytes:
    """A4 PDF with the CJK font; ``story_of(p, styles)`` returns the flowables."""
    font = _font()
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    styles = {
        "base": base,
        "h1": ParagraphStyle("h1", parent=base, fontSize=18, leading=26, alignment=1),
        "center": ParagraphStyle("c", parent=base, alignment=1),
        "right": ParagraphStyle("r", parent=base, alignment=2),
    }

    def p(text, style="base"):
        return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), styles[style])

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    doc.build(story_of(p, styles))
    return buffer.getvalue()


def _grid(p, rows, widths):
    table = Table([[p(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _code(row: ReviewAssignment) -> str:
    return row.application.project_number or f"A{row.application.id:05d}"


def _day(value) -> str:
    return clock.local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def sheet_pdf(row: ReviewAssignment, rubric, *, anonymous: bool) -> bytes:
    """评分表: the expert's submitted sheet — application, each criterion's score and
    comment, total, vetoes, overall comment, date and a signature line."""
    app = row.application
    scores = {s.criterion_key: s for s in row.scores}
    vetoes = {v.veto_key: v.reason for v in row.vetoes}

    def story(p, st):
        head = [["申报书编号", _code(row)], ["项目名称", app.title or ""]]
        if not anonymous:
            head.append(["申报单位", app.society.name])
        head += [
            ["评审批次", app.call.title],
            ["评分表", f"{rubric.title.zh}（v{rubric.version}）"],
        ]
        rows = [["评审指标", "权重", "分值范围", "得分", "评语"]]
        for c in rubric.criteria:
            s = scores.get(c.key)
            value = "—" if s is None else ("不适用" if s.score is None else s.score)
            rows.append(
                [c.title.zh, str(c.weight), f"{c.min}–{c.max}", value, s.comment if s else ""]
            )
        total = "—" if row.total is None else str(round_half_up(Decimal(row.total)))
        out = [
            p("专家评分表", "h1"),
            Spacer(1, 6),
            _grid(p, head, [30 * mm, 144 * mm]),
            Spacer(1, 8),
            _grid(p, rows, [44 * mm, 14 * mm, 20 * mm, 16 * mm, 80 * mm]),
            Spacer(1, 6),
            p(f"总分（百分制）：{total}"),
        ]
        if rubric.vetoes:
            lines = [
                f"{v.title.zh}：{'是，理由：' + (vetoes[v.key] or '') if v.key in vetoes else '否'}"
                for v in rubric.vetoes
            ]
            out += [Spacer(1, 4), p("一票否决项：\n" + "\n".join(lines))]
        out += [
            Spacer(1, 4),
            p("总体评审意见：\n" + (row.overall_comment or "")),
            Spacer(1, 20),
            p(f"评审专家（签字）：________________　　{row.expert.user.name}", "right"),
            p(f"提交时间：{_day(row.submitted_at)}", "right"),
        ]
        return out

    return _pdf(story, "专家评分表")


DECLARATION = (
    "本人受邀对上述申报书进行评审，郑重声明并承诺：",
    "一、本人与该申报书的申报单位、合作单位及项目团队成员不存在亲属关系，近三年内无任职、"
    "雇佣或合作关系，本人未参与该申报，亦无其他可能影响公正评审的利害关系；如评审中发现存在"
    "上述情形，将立即申请回避。",
    "二、本人对评审中知悉的申报材料、评审意见和评审结果严格保密，不复制、不泄露、不用于评审"
    "以外的任何用途，不私下接触申报单位或接受其任何形式的馈赠。",
    "三、本人独立、客观、公正地按评分标准评审，对所出具的评审意见负责。",
    "如违反上述承诺，本人愿承担相应责任并接受处理。",
)


def declaration_pdf(row: ReviewAssignment, *, anonymous: bool) -> bytes:
    """回避及保密承诺书: the expert's no-conflict declaration and confidentiality pledge,
    with the time they accepted."""
    app = row.application

    def story(p, st):
        head = [["申报书编号", _code(row)], ["项目名称", app.title or ""]]
        if not anonymous:
            head.append(["申报单位", app.society.name])
        head += [["评审批次", app.call.title], ["评审专家", row.expert.user.name]]
        out = [p("回避及保密承诺书", "h1"), Spacer(1, 6), _grid(p, head, [30 * mm, 144 * mm])]
        out += [Spacer(1, 8)] + [p(line) for line in DECLARATION]
        out += [
            Spacer(1, 8),
            p(f"本人已于 {_day(row.declared_at)} 在线声明无利益冲突并签署本承诺。"),
            Spacer(1, 20),
            p(f"承诺人（签字）：________________　　{row.expert.user.name}", "right"),
            p(f"日期：{clock.local(row.declared_at).date().isoformat()}", "right"),
        ]
        return out

    return _pdf(story, "回避及保密承诺书")
