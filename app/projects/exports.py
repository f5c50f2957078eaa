"""Finance downloads (xlsx, 元 in the header, 汇总 then 明细, formula-like text
neutralised by the shared sheet writer): 拨付台账, 预算执行率表, 分科目支出明细,
配套资金到位情况表, 结余资金表, 追回台账."""

from __future__ import annotations

import io
from collections import defaultdict

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core import export_jobs
from app.core.errors import ValidationFailed
from app.core.sheets import XLSX_MIME, Column, Footer, XlsxBook
from app.extensions import db
from app.ledger.models import LedgerTransfer
from app.projects import indicators
from app.projects.models import (
    ClawbackEntry,
    Expenditure,
    MatchingReceipt,
    Project,
    ProjectReport,
)
from app.projects.operations.common import (
    COUNTED_REPORT_STATES,
    approved_budget,
    matching_committed_fen,
    matching_received_fen,
    project_title,
    spent_fen,
)
from app.projects.states import EXPENDITURE_SOURCES, ProjectState, TrancheState

MAKER = "浙江省科学技术协会学会部"
SHEETS = {
    "disbursements": "拨付台账",
    "execution": "预算执行率表",
    "expenditures": "分科目支出明细",
    "matching": "配套资金到位情况表",
    "balances": "结余资金表",
    "clawbacks": "追回台账",
}


def _projects(call_id=None) -> list[Project]:
    stmt = select(Project).where(Project.state != "awaiting_agreement").order_by(Project.id)
    if call_id:
        stmt = stmt.where(Project.call_id == call_id)
    return list(db.session.scalars(stmt))


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


def _head(p: Project) -> list:
    return [p.id, p.application.project_number or "", project_title(p), p.society.name]


HEAD = [
    Column("项目ID", "int", 8),
    Column("项目编号", width=16),
    Column("项目名称", width=36),
    Column("承担学会", width=28),
]


def build(kind: str, *, maker_name: str = "", call_id: int | None = None, report=None) -> bytes:
    """The xlsx bytes of sheet ``kind`` (a key of ``SHEETS``), optionally for one call;
    ``report(done, total, message)`` hears of the projects written (background export)."""
    buffer = io.BytesIO()
    title = SHEETS[kind]
    projects = _projects(call_id)
    if report is not None:
        projects = _Reporting(projects, report)
    with XlsxBook(buffer, title=title, footer=Footer(MAKER, maker_name), unit="元") as book:
        globals()[f"_{kind}"](book, projects)
    return buffer.getvalue()


def row_count(call_id: int | None = None) -> int:
    """How many projects a sheet lists (what decides inline or background generation)."""
    stmt = select(db.func.count(Project.id)).where(Project.state != "awaiting_agreement")
    if call_id:
        stmt = stmt.where(Project.call_id == call_id)
    return db.session.scalar(stmt)


class _Reporting(list):
    """The projects, telling ``report`` every ``step`` rows as a sheet walks them."""

    def __init__(self, rows, report, step: int = 50):
        super().__init__(rows)
        self.report, self.step = report, step

    def __iter__(self):
        total = len(self)
        for number, row in enumerate(super().__iter__(), 1):
            yield row
            if number % self.step == 0 or number == total:
                self.report(number, total, _("已写入 %(n)s / %(t)s 个项目", n=number, t=total))


def _build_export(params, actor, report):
    kind = params["kind"]
    data = build(
        kind, maker_name=getattr(actor, "name", ""), call_id=params.get("call_id"), report=report
    )
    return data, f"{SHEETS[kind]}.xlsx", XLSX_MIME


def _check_export(params, actor) -> None:
    if params.get("kind") not in SHEETS:
        raise ValidationFailed(_("没有这张报表。"))


export_jobs.register(
    "projects.sheet", _l("财务报表"), "projects.export", _build_export, _check_export
)


def _disbursements(book: XlsxBook, projects) -> None:
    summary = book.summary(
        [
            *HEAD,
            Column("立项金额（元）", "yuan", 16),
            Column("已批准拨付（元）", "yuan", 16),
            Column("已支付（元）", "yuan", 16),
            Column("项目状态", width=12),
        ]
    )
    detail = book.detail(
        "明细",
        [
            *HEAD,
            Column("批次", "int", 6),
            Column("金额（元）", "yuan", 16),
            Column("状态", width=10),
            Column("批准时间", "datetime", 20),
            Column("支付日期", "date", 12),
            Column("凭证号", width=16),
        ],
    )
    rows = []
    for p in projects:
        released = paid = 0
        for t in p.tranches:
            detail.append(
                [
                    *_head(p),
                    t.seq,
                    t.amount_fen,
                    TrancheState(str(t.state)).label,
                    t.released_at,
                    t.paid_on,
                    t.voucher_no,
                ]
            )
            released += t.amount_fen if t.state in ("released", "paid") else 0
            paid += t.amount_fen if t.state == "paid" else 0
        rows.append([*_head(p), p.amount_fen, released, paid, p.state_label()])
    for row in rows:
        summary.append(row)
    summary.append(
        [
            "",
            "",
            "合计",
            "",
            sum(r[4] for r in rows),
            sum(r[5] for r in rows),
            sum(r[6] for r in rows),
            "",
        ]
    )


def _execution(book: XlsxBook, projects) -> None:
    summary = book.summary(
        [
            *HEAD,
            Column("专项预算（元）", "yuan", 16),
            Column("已支出（元）", "yuan", 16),
            Column("执行率", width=10),
        ]
    )
    detail = book.detail(
        "明细-按科目",
        [
            *HEAD,
            Column("预算科目", width=16),
            Column("批准专项（元）", "yuan", 16),
            Column("已支出（元）", "yuan", 16),
            Column("执行率", width=10),
        ],
    )
    for p in projects:
        budget = approved_budget(p)
        for line in budget:
            spent = spent_fen(p.id, line_key=line["line_key"], source="fund")
            rate = indicators._ratio(spent, line["fund_fen"])
            detail.append([*_head(p), line["name"], line["fund_fen"], spent, _pct(rate)])
        total = sum(line["fund_fen"] for line in budget)
        summary.append(
            [
                *_head(p),
                total,
                spent_fen(p.id, source="fund"),
                _pct(indicators.budget_execution_rate(p)),
            ]
        )


def _expenditures(book: XlsxBook, projects) -> None:
    summary = book.summary(
        [
            Column("预算科目", width=16),
            Column("资金来源", width=10),
            Column("金额（元）", "yuan", 16),
            Column("笔数", "int", 8),
        ]
    )
    detail = book.detail(
        "明细",
        [
            *HEAD,
            Column("预算科目", width=16),
            Column("资金来源", width=10),
            Column("支出日期", "date", 12),
            Column("金额（元）", "yuan", 16),
            Column("凭证号", width=16),
            Column("收款人", width=20),
            Column("报告ID", "int", 8),
        ],
    )
    totals: dict = defaultdict(lambda: [0, 0])
    by_id = {p.id: p for p in projects}
    rows = db.session.scalars(
        select(Expenditure)
        .join(ProjectReport, ProjectReport.id == Expenditure.report_id)
        .where(
            ProjectReport.state.in_(COUNTED_REPORT_STATES),
            Expenditure.project_id.in_(list(by_id) or [0]),
        )
        .order_by(Expenditure.project_id, Expenditure.line_key, Expenditure.spent_on)
    )
    for e in rows:
        p = by_id[e.project_id]
        names = {b["line_key"]: b["name"] for b in approved_budget(p)}
        source = str(EXPENDITURE_SOURCES[e.source])
        detail.append(
            [
                *_head(p),
                names.get(e.line_key, e.line_key),
                source,
                e.spent_on,
                e.amount_fen,
                e.voucher_no,
                e.payee,
                e.report_id,
            ]
        )
        key = (names.get(e.line_key, e.line_key), source)
        totals[key][0] += e.amount_fen
        totals[key][1] += 1
    for (line, source), (amount, count) in sorted(totals.items()):
        summary.append([line, source, amount, count])


def _matching(book: XlsxBook, projects) -> None:
    summary = book.summary(
        [
            *HEAD,
            Column("承诺配套（元）", "yuan", 16),
            Column("已到位（元）", "yuan", 16),
            Column("到位率", width=10),
        ]
    )
    detail = book.detail(
        "明细",
        [
            *HEAD,
            Column("到位日期", "date", 12),
            Column("金额（元）", "yuan", 16),
            Column("凭证号", width=16),
            Column("说明", width=30),
        ],
    )
    for p in projects:
        summary.append(
            [
                *_head(p),
                matching_committed_fen(p),
                matching_received_fen(p.id),
                _pct(indicators.funds_in_place_rate(p)),
            ]
        )
        for row in db.session.scalars(
            select(MatchingReceipt)
            .where(MatchingReceipt.project_id == p.id)
            .order_by(MatchingReceipt.id)
        ):
            detail.append([*_head(p), row.received_on, row.amount_fen, row.voucher_no, row.note])


def _grant_sums(project_id: int) -> dict:
    rows = db.session.execute(
        select(LedgerTransfer.code, func.sum(LedgerTransfer.amount_fen))
        .where(LedgerTransfer.grant_id == project_id)
        .group_by(LedgerTransfer.code)
    ).all()
    return {code: int(total) for code, total in rows}


def _balances(book: XlsxBook, projects) -> None:
    cols = [
        *HEAD,
        Column("状态", width=12),
        Column("立项金额（元）", "yuan", 16),
        Column("已支付（元）", "yuan", 16),
        Column("专项已支出（元）", "yuan", 16),
        Column("结余（元）", "yuan", 16),
        Column("收回未拨（元）", "yuan", 16),
        Column("留用（元）", "yuan", 16),
        Column("留用至", "date", 12),
        Column("应追回（元）", "yuan", 16),
    ]
    summary = book.summary(cols)
    detail = book.detail("明细-全部项目", cols)
    for p in projects:
        sums = _grant_sums(p.id)
        row = [
            *_head(p),
            p.state_label(),
            p.amount_fen,
            sums.get("DISBURSE", 0),
            spent_fen(p.id, source="fund"),
            p.unspent_fen,
            sums.get("DECOMMIT", 0),
            p.retained_fen,
            p.retained_until,
            sums.get("CLAWBACK_DEMAND", 0),
        ]
        detail.append(row)
        if p.settled_at is not None:
            summary.append(row)


def _clawbacks(book: XlsxBook, projects) -> None:
    summary = book.summary(
        [
            *HEAD,
            Column("状态", width=12),
            Column("应追回（元）", "yuan", 16),
            Column("已追回（元）", "yuan", 16),
            Column("未追回（元）", "yuan", 16),
        ]
    )
    detail = book.detail(
        "明细",
        [
            *HEAD,
            Column("类别", width=8),
            Column("日期", "date", 12),
            Column("金额（元）", "yuan", 16),
            Column("凭证号", width=16),
            Column("事由", width=36),
            Column("转账ID", "int", 8),
        ],
    )
    for p in projects:
        entries = db.session.scalars(
            select(ClawbackEntry).where(ClawbackEntry.project_id == p.id).order_by(ClawbackEntry.id)
        ).all()
        if not entries:
            continue
        demanded = sum(e.amount_fen for e in entries if e.kind == "demand")
        received = sum(e.amount_fen for e in entries if e.kind == "receipt")
        summary.append(
            [*_head(p), ProjectState(str(p.state)).label, demanded, received, demanded - received]
        )
        for e in entries:
            detail.append(
                [
                    *_head(p),
                    "追缴" if e.kind == "demand" else "到账",
                    e.on_date,
                    e.amount_fen,
                    e.voucher_no,
                    e.reason,
                    e.transfer_id,
                ]
            )
