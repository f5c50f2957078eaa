"""Award documents: 拟立项公示名单 (PDF), 立项通知书 (PDF), 任务书 (PDF), 资金分配表 (xlsx)."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.applications.exports import GROUPS, MAKER, _font
from app.awards.states import AwardState
from app.core import clock, export_jobs
from app.core.errors import ValidationFailed
from app.core.money import format_wanyuan, format_yuan
from app.core.sheets import Column, Footer, XlsxBook


class _Doc:
    """A small helper around reportlab with the CJK font."""

    def __init__(self):
        font = _font()
        self.base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
        self.h1 = ParagraphStyle(
            "h1", parent=self.base, fontSize=18, leading=26, alignment=1, spaceAfter=8
        )
        self.h2 = ParagraphStyle(
            "h2", parent=self.base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=4
        )
        self.center = ParagraphStyle("c", parent=self.base, alignment=1)

    def p(self, text, style=None):
        return Paragraph(escape(str(text or "")).replace("\n", "<br/>"), style or self.base)

    def table(self, rows, widths):
        t = Table([[self.p(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
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

    def build(self, story, title: str) -> bytes:
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
        doc.build(story)
        return buffer.getvalue()


def _unit(notice) -> str:
    return "工作日" if notice.is_working_days else "自然日"


def notice_pdf(notice) -> bytes:
    """拟立项公示名单: number, title, society, amount in 万元, and how to object."""
    d = _Doc()
    rows = [["序号", "项目编号", "项目名称", "承担学会", "资助金额（万元）"]]
    for i, award in enumerate(notice.awards, 1):
        state = "（已撤销）" if award.state == "revoked" else ""
        rows.append(
            [
                str(i),
                award.application.project_number,
                award.application.title + state,
                award.society.name,
                format_wanyuan(award.amount_fen),
            ]
        )
    story = [
        d.p(notice.call.title, d.center),
        d.p("拟立项公示名单", d.h1),
        d.p(
            f"第 {notice.number} 批　公示期：{clock.local(notice.starts_at).date().isoformat()} 至 "
            f"{notice.last_day.isoformat()}（{notice.days} 个{_unit(notice)}）",
            d.center,
        ),
        Spacer(1, 8),
        d.table(rows, [12 * mm, 30 * mm, 62 * mm, 46 * mm, 24 * mm]),
        Spacer(1, 10),
        d.p(
            "公示期内，对拟立项项目有异议的，请以书面形式提出，个人须署真实姓名并留联系方式，"
            "单位须加盖公章；匿名异议或逾期提出的异议不予受理。"
        ),
        Spacer(1, 16),
        d.p(MAKER, ParagraphStyle("r", parent=d.base, alignment=2)),
        d.p(
            clock.local(notice.starts_at).date().isoformat(),
            ParagraphStyle("r2", parent=d.base, alignment=2),
        ),
    ]
    return d.build(story, "拟立项公示名单")


def letter_pdf(award) -> bytes:
    """立项通知书 of a confirmed award."""
    d = _Doc()
    app = award.application
    story = [
        d.p("立项通知书", d.h1),
        d.p(f"{award.society.name}："),
        Spacer(1, 6),
        d.p(
            f"经专家评审、集体研究和公示，贵单位申报的“{app.title}”（项目编号 "
            f"{app.project_number}）列入{award.call.title}，予以立项，资助专项资金 "
            f"{format_wanyuan(award.amount_fen)} 万元（{format_yuan(award.amount_fen)} 元）。"
        ),
        d.p(
            "请于收到本通知之日起二十日内签订项目任务书，按任务书约定组织实施，"
            "专项资金按进度分期拨付，专款专用。"
        ),
        Spacer(1, 24),
        d.p(MAKER, ParagraphStyle("r", parent=d.base, alignment=2)),
        d.p(
            clock.local(award.confirmed_at or clock.now()).date().isoformat(),
            ParagraphStyle("r2", parent=d.base, alignment=2),
        ),
    ]
    return d.build(story, "立项通知书")


def agreement_pdf(agreement) -> bytes:
    """任务书: parties, targets, budget by line × source, milestones with tranches, signatures."""
    d = _Doc()
    award, app = agreement.award, agreement.award.application
    budget_rows = [["预算科目", "专项资金", "地方配套", "自筹", "合计"]]
    totals = [0, 0, 0]
    for b in agreement.budget:
        values = [int(b["fund_fen"]), int(b["matching_fen"]), int(b["self_raised_fen"])]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        budget_rows.append([b["name"], *map(format_yuan, values), format_yuan(sum(values))])
    budget_rows.append(["合计", *map(format_yuan, totals), format_yuan(sum(totals))])
    story = [
        d.p(award.call.title, d.center),
        d.p("项目任务书", d.h1),
        d.p(f"任务书编号：{agreement.number}", d.center),
        Spacer(1, 6),
        d.table(
            [
                ["项目名称", agreement.title],
                ["项目编号", app.project_number],
                ["承担单位（乙方）", agreement.society.name],
                ["委托单位（甲方）", MAKER],
                ["专项资金（元）", format_yuan(agreement.amount_fen)],
            ],
            [45 * mm, 129 * mm],
        ),
        d.p("一、绩效目标", d.h2),
        d.table(
            [["类别", "指标", "单位", "目标值"]]
            + [
                [GROUPS.get(t["group"], t["group"]), t["indicator"], t["unit"], t["target_value"]]
                for t in agreement.targets
            ],
            [30 * mm, 94 * mm, 20 * mm, 30 * mm],
        ),
        d.p("二、经费预算（单位：元）", d.h2),
        d.table(budget_rows, [46 * mm, 32 * mm, 32 * mm, 32 * mm, 32 * mm]),
        d.p("三、进度安排与分期拨付", d.h2),
        d.table(
            [["节点", "名称", "完成日期", "交付成果", "拨付比例", "拨付金额（元）"]]
            + [
                [
                    str(m["seq"]),
                    m["title"],
                    m.get("due_on") or "",
                    m.get("deliverables") or "",
                    f"{m['tranche_pct']}%",
                    format_yuan(m["amount_fen"]),
                ]
                for m in agreement.milestones
            ],
            [12 * mm, 32 * mm, 24 * mm, 54 * mm, 20 * mm, 32 * mm],
        ),
        d.p("四、约定", d.h2),
        d.p(
            "乙方按本任务书组织实施，专项资金专款专用；节点0（签订任务书）完成后拨付首期资金，"
            "其余各期在相应节点通过、地方配套资金按比例到位且无逾期报告时拨付。"
            "任务书签订后内容不得更改，确需变更的，签订补充任务书。"
        ),
    ]
    approved = [a for a in agreement.amendments if a.state == "approved"]
    if approved:
        story.append(d.p("五、补充任务书", d.h2))
        story += [d.p(f"补充任务书{a.number}：{a.title}\n{a.content}") for a in approved]
    story += [
        Spacer(1, 24),
        d.p("甲方（盖章）：____________　　乙方（盖章）：____________"),
        Spacer(1, 8),
        d.p(
            f"签订日期：{clock.local(agreement.signed_at).date().isoformat()}"
            if agreement.signed_at
            else "签订日期：______年____月____日"
        ),
    ]
    if agreement.content_sha256:
        story.append(d.p(f"内容摘要（sha256）：{agreement.content_sha256}"))
    return d.build(story, "任务书")


def allocation_xlsx(call, awards, *, maker_name: str) -> bytes:
    """资金分配表: one row per award with its state and amounts (元)."""
    buffer = io.BytesIO()
    cols = [
        Column("项目编号", width=16),
        Column("项目名称", width=40),
        Column("承担学会", width=28),
        Column("状态", width=14),
        Column("排名", "int", 8),
        Column("申请金额（元）", "yuan", 16),
        Column("立项金额（元）", "yuan", 16),
    ]
    live = [a for a in awards if a.state != "revoked"]
    with XlsxBook(
        buffer, title=f"{call.title} 资金分配表", footer=Footer(MAKER, maker_name)
    ) as book:
        summary = book.summary([Column("项目", width=30), Column("金额（元）", "yuan", 18)])
        detail = book.detail("明细", cols)
        for a in awards:
            detail.append(
                [
                    a.application.project_number,
                    a.application.title,
                    a.society.name,
                    str(AwardState(str(a.state)).label),
                    a.rank,
                    a.requested_fen,
                    a.amount_fen,
                ]
            )
        summary.append(["批次总预算", call.total_budget_fen])
        summary.append(["立项金额合计（不含已撤销）", sum(a.amount_fen for a in live)])
        summary.append([f"立项项目数（不含已撤销）：{len(live)}", None])
    return buffer.getvalue()


def letters_zip(awards, report=None) -> bytes:
    """立项通知书 of every award in one zip, ``立项通知书-<项目编号>.pdf`` each;
    ``report(done, total, message)`` hears of each letter as it is written."""
    buffer, total = io.BytesIO(), len(awards)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number, award in enumerate(awards, 1):
            name = f"立项通知书-{award.application.project_number or award.id}.pdf"
            archive.writestr(name, letter_pdf(award))
            if report is not None:
                report(number, total, _("第 %(n)s / %(t)s 份通知书", n=number, t=total))
    return buffer.getvalue()


def confirmed_awards(call_id) -> list:
    """The call's confirmed awards (those with a 立项通知书), by project number."""
    from sqlalchemy import select

    from app.awards.models import Award
    from app.extensions import db

    rows = db.session.scalars(
        select(Award).where(Award.call_id == int(call_id), Award.state == "confirmed")
    ).all()
    return sorted(rows, key=lambda a: (a.application.project_number or "", a.id))


def _check_letters(params, actor) -> None:
    if not confirmed_awards(params["call_id"]):
        raise ValidationFailed(_("本批次还没有已确认的立项，无通知书可生成。"))


def _build_letters(params, actor, report):
    awards = confirmed_awards(params["call_id"])
    data = letters_zip(awards, report)
    return data, f"立项通知书-批次{params['call_id']}.zip", "application/zip"


LETTERS_EXPORT = "awards.letters"
export_jobs.register(
    LETTERS_EXPORT, _l("立项通知书（批量）"), "awards.export", _build_letters, _check_letters
)
