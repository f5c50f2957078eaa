"""What auditors and finance download: the trail, the trial balance, the 项目资金台账.

Each download is a CSV (UTF-8 with BOM) or an xlsx (汇总 + 明细) written by
``app.core.sheets`` into a binary file, row by row from a streaming cursor.
Filters are parsed once (``parse_filters``) and recorded, as plain ids and
dates, in the ``export.download`` event (``record_download``) and in the
bundle's manifest.

Filter meaning: ``fund``/``call``/``project`` narrow the ledger rows by the
transfer's fund, call and grant (= project) id; ``society`` narrows the trail
to events by the society's users and the ledger to the grants of the
society's projects (when a project/award table records the society);
``from``/``to`` are inclusive Beijing dates on the event's or transfer's time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import column, exists, select, table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import aliased

from app.accounts.models import Organisation
from app.audit import trail
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import ValidationFailed
from app.core.sheets import Column, CsvWriter, Footer, XlsxBook
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransfer

BATCH = 5000
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FILTER_KEYS = ("fund", "call", "society", "project", "from", "to")
# Where an id of each filter is known: its own table when it exists, else the ledger's tags.
_ID_TABLES = {"fund": ("fund",), "call": ("call",), "project": ("project", "award")}
_LEDGER_TAG = {"fund": "fund_id", "call": "call_id", "project": "grant_id"}
_GRANT_OWNER_TABLES = (("project", "society_id"), ("award", "society_id"), ("project", "org_id"))
GRANT_KINDS_UNPAID = ("grant_committed", "grant_payable")
FUND_KINDS_FREE = ("fund_available", "call_available")


@dataclass(frozen=True)
class Filters:
    """Validated filters; every field optional."""

    fund: int | None = None
    call: int | None = None
    society: int | None = None
    project: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict:
        """The filters that are set, as plain ids and ISO dates (no personal data)."""
        out = {k: getattr(self, k) for k in ("fund", "call", "society", "project")}
        out["from"] = self.date_from.isoformat() if self.date_from else None
        out["to"] = self.date_to.isoformat() if self.date_to else None
        return {k: v for k, v in out.items() if v is not None}

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The UTC interval [start, end) of the date range."""
        return _day_start(self.date_from), _day_start(self.date_to, next_day=True)


def _day_start(day: date | None, *, next_day: bool = False) -> datetime | None:
    if day is None:
        return None
    day = day + timedelta(days=1) if next_day else day
    return clock.as_utc(datetime.combine(day, time(), tzinfo=clock.SHANGHAI))


def _has_table(name: str) -> bool:
    return sa_inspect(db.session.connection()).has_table(name)


def _id_known(kind: str, value: int) -> bool:
    """Whether ``value`` names a fund, call or project: in its table (if any) or the ledger."""
    for name in _ID_TABLES[kind]:
        if _has_table(name):
            t = table(name, column("id"))
            if db.session.scalar(select(exists().where(t.c.id == value))):
                return True
    tag = getattr(LedgerAccount, _LEDGER_TAG[kind])
    return bool(db.session.scalar(select(exists().where(tag == value))))


def _parse_id(raw, label: str) -> int | None:
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if not text.isdigit() or int(text) <= 0 or len(text) > 12:
        raise ValidationFailed(_("%(what)s编号无效：%(value)s", what=label, value=text[:20]))
    return int(text)


def _parse_day(raw, label: str) -> date | None:
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            _("%(what)s格式应为 YYYY-MM-DD：%(value)s", what=label, value=text[:20])
        ) from None


_PROJECT_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,39}")


def _project_by_number(raw) -> int | None:
    """A project number typed by a person (``2027-ZL-001``) → the project's (award's) id;
    a plain number stays an id (the API and the CLI). Raises ``ValidationFailed``."""
    text = "" if raw is None else str(raw).strip()
    if not text or text.isdigit():
        return _parse_id(text, _("项目"))
    if not _PROJECT_NUMBER.fullmatch(text) or not (
        _has_table("application") and _has_table("award")
    ):
        raise ValidationFailed(_("项目编号 %(value)s 不存在。", value=text[:40]))
    application = table("application", column("id"), column("project_number"))
    award = table("award", column("id"), column("application_id"))
    ids = db.session.scalars(
        select(award.c.id)
        .join(application, application.c.id == award.c.application_id)
        .where(db.func.upper(application.c.project_number) == text.upper())
        .order_by(award.c.id)
    ).all()
    if not ids:
        raise ValidationFailed(_("项目编号 %(value)s 不存在。", value=text[:40]))
    if len(ids) > 1:
        raise ValidationFailed(
            _("项目编号 %(value)s 对应多个项目，请改填项目的内部编号。", value=text[:40])
        )
    return ids[0]


def filter_choices() -> dict:
    """What the download centre offers to pick by name: funds and societies as
    ``[(id, name), ...]``."""
    funds = []
    if _has_table("fund"):
        fund = table("fund", column("id"), column("name"))
        funds = db.session.execute(select(fund.c.id, fund.c.name).order_by(fund.c.id)).all()
    societies = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.kind == "society")
        .order_by(Organisation.name, Organisation.id)
    ).all()
    return {"fund": [tuple(r) for r in funds], "society": [tuple(r) for r in societies]}


def parse_filters(raw) -> Filters:
    """Validate filters given as strings (form, query string, CLI) or ints.

    ``project`` is the project's id or its number (``2027-ZL-001``).
    Raises ``ValidationFailed`` for a malformed id or date, an id that names
    nothing (unknown fund, call, project; an organisation that is not a
    society), or a date range whose start is after its end.
    """
    raw = raw or {}
    labels = {"fund": _("专项资金"), "call": _("申报指南"), "project": _("项目")}
    values = {k: _parse_id(raw.get(k), labels[k]) for k in _ID_TABLES if k != "project"}
    values["project"] = _project_by_number(raw.get("project"))
    society = _parse_id(raw.get("society"), _("学会"))
    date_from = _parse_day(raw.get("from"), _("起始日期"))
    date_to = _parse_day(raw.get("to"), _("结束日期"))
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed(
            _("起始日期 %(start)s 晚于结束日期 %(end)s。", start=date_from, end=date_to)
        )
    for kind, value in values.items():
        if value is not None and not _id_known(kind, value):
            raise ValidationFailed(_("%(what)s %(id)s 不存在。", what=labels[kind], id=value))
    if society is not None:
        org = db.session.get(Organisation, society)
        if org is None or org.kind != "society":
            raise ValidationFailed(_("学会 %(id)s 不存在。", id=society))
    return Filters(date_from=date_from, date_to=date_to, society=society, **values)


def parse_cutoff(raw) -> date | None:
    """A trial balance cut-off date (inclusive), or None for now."""
    return _parse_day(raw, _("截止日期"))


def society_grants(society_id: int) -> set[int] | None:
    """Grant ids of a society's projects, or None when no table records the society yet."""
    for name, owner in _GRANT_OWNER_TABLES:
        if _has_table(name):
            cols = {c["name"] for c in sa_inspect(db.session.connection()).get_columns(name)}
            if owner in cols:
                t = table(name, column("id"), column(owner))
                return set(db.session.scalars(select(t.c.id).where(t.c[owner] == society_id)))
    return None


def footer_for(actor) -> Footer:
    """制表单位 and 制表人 from the user making the sheet (the CLI has none)."""
    if actor is None:
        return Footer(unit="", preparer=_("系统"))
    return Footer(unit=actor.org.name if actor.org else "", preparer=actor.name)


# ---------------------------------------------------------------------------
# The trail
# ---------------------------------------------------------------------------

_INTS, _WIDE = ("seq", "actor_id", "org_id"), ("before", "after")
TRAIL_COLUMNS = [
    Column(name, "int" if name in _INTS else "text", 30 if name in _WIDE else 14)
    for name in (
        "seq", "occurred_at", "actor_id", "actor_role", "org_id", "ip", "request_id", "action",
        "entity_type", "entity_id", "before", "after", "reason", "prev_hash", "hash",
    )
]  # fmt: skip


def _json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def trail_rows(filters: Filters):
    """Events matching the filters in seq order, as tuples of ``TRAIL_COLUMNS``."""
    t = AuditEvent.__table__
    stmt = select(t).order_by(t.c.seq)
    start, end = filters.bounds()
    if start:
        stmt = stmt.where(t.c.occurred_at >= start)
    if end:
        stmt = stmt.where(t.c.occurred_at < end)
    if filters.society:
        stmt = stmt.where(t.c.org_id == filters.society)
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for partition in result.partitions(BATCH):
        for r in partition:
            p = trail.event_payload(r)
            yield (
                r.seq, p["occurred_at"], r.actor_id, r.actor_role, r.org_id, r.ip, r.request_id,
                r.action, r.entity_type, r.entity_id, _json(r.before), _json(r.after), r.reason,
                r.prev_hash, r.hash,
            )  # fmt: skip


def write_trail(fh, fmt: str, filters: Filters, footer: Footer) -> int:
    """The operation log (操作日志) as CSV or xlsx; returns the number of rows."""
    rows = trail_rows(filters)
    if fmt == "csv":
        return _csv(fh, TRAIL_COLUMNS, rows)
    with XlsxBook(fh, title=_("系统操作日志"), footer=footer, unit=_("条")) as book:
        summary = book.summary([Column(_("项目"), width=24), Column(_("内容"), width=60)])
        detail = book.detail(_("明细"), TRAIL_COLUMNS)
        first = last = None
        for row in rows:
            detail.append(row)
            first = row[0] if first is None else first
            last = row[0]
        summary.append([_("事件数"), str(detail.rows)])
        summary.append([_("序号范围"), f"{first}–{last}" if first else "-"])
        summary.append([_("筛选条件"), _json(filters.as_dict())])
    return detail.rows


def _csv(fh, columns, rows) -> int:
    writer = CsvWriter(fh, columns)
    for row in rows:
        writer.append(row)
    writer.close()
    return writer.rows


# ---------------------------------------------------------------------------
# Trial balance at a cut-off date
# ---------------------------------------------------------------------------

TB_COLUMNS = [
    Column("code", width=28),
    Column("kind", width=18),
    Column("debits_fen", "int"),
    Column("credits_fen", "int"),
    Column("balance_fen", "int"),
    Column("debits_yuan", "yuan"),
    Column("credits_yuan", "yuan"),
    Column("balance_yuan", "yuan"),
]


def trial_balance_at(cutoff: date | None) -> list[tuple]:
    """Rows (code, kind, debits, credits, balance) recomputed from entries up to the cut-off."""
    e, t, a = LedgerEntry.__table__, LedgerTransfer.__table__, LedgerAccount.__table__
    stmt = (
        select(a.c.code, a.c.kind, db.func.sum(e.c.debit_fen), db.func.sum(e.c.credit_fen))
        .join(e, e.c.account_id == a.c.id)
        .join(t, t.c.id == e.c.transfer_id)
        .group_by(a.c.code, a.c.kind)
    )
    end = _day_start(cutoff, next_day=True)
    if end is not None:
        stmt = stmt.where(t.c.occurred_at < end)
    result = db.session.execute(stmt)
    rows = sorted((code, kind, int(d or 0), int(c or 0)) for code, kind, d, c in result)
    return [(code, kind, d, c, c - d) for code, kind, d, c in rows]


def write_trial_balance(fh, fmt: str, cutoff: date | None, footer: Footer) -> int:
    """试算平衡表 at the cut-off, one row per account and a TOTAL row (debits = credits)."""
    rows = trial_balance_at(cutoff)
    debits, credits = sum(r[2] for r in rows), sum(r[3] for r in rows)
    total = ("TOTAL", "", debits, credits, credits - debits)
    full = [(*r, r[2], r[3], r[4]) for r in [*rows, total]]
    if fmt == "csv":
        return _csv(fh, TB_COLUMNS, full)
    title = _("试算平衡表（截至 %(day)s）", day=(cutoff or clock.today()).isoformat())
    with XlsxBook(fh, title=title, footer=footer) as book:
        summary = book.summary([Column(_("项目"), width=20), Column(_("金额（元）"), "yuan", 20)])
        detail = book.detail(_("明细"), TB_COLUMNS)
        for row in full:
            detail.append(row)
        summary.append([_("借方合计"), debits])
        summary.append([_("贷方合计"), credits])
        summary.append([_("差额"), credits - debits])
    return len(full)


# ---------------------------------------------------------------------------
# 项目资金台账: one row per money movement
# ---------------------------------------------------------------------------

REGISTER_COLUMNS = [
    Column("transfer_id", "int", 10, _l("流水号")),
    Column("occurred_at", "datetime", 20, _l("日期")),
    Column("code", "text", 18, _l("类型")),
    Column("fund_id", "int", 8, _l("专项资金")),
    Column("call_id", "int", 8, _l("申报指南")),
    Column("project_id", "int", 10, _l("项目")),
    Column("from_account", "text", 26, _l("转出科目")),
    Column("to_account", "text", 26, _l("转入科目")),
    Column("amount_yuan", "yuan", 16, _l("金额（元）")),
    Column("amount_fen", "int", 14, _l("金额（分）")),
    Column("voucher_no", "text", 16, _l("凭证号")),
    Column("memo", "text", 30, _l("摘要")),
    Column("paid_to_date_yuan", "yuan", 16, _l("累计拨付（元）")),
    Column("balance_yuan", "yuan", 16, _l("余额（元）")),
]


def register_rows(filters: Filters):
    """Every transfer in id order with running figures; yields the rows the filters keep.

    ``paid_to_date`` is the money disbursed so far to the row's project (for
    rows without a project: to the fund's projects); a reversed payment counts
    back. ``balance`` is, for a project, what is awarded but not yet paid
    (committed + payable); for a fund, what is not yet awarded (fund and call
    available). Both run over the whole ledger, so they are right under filters.
    """
    t = LedgerTransfer.__table__
    src, dst = aliased(LedgerAccount.__table__), aliased(LedgerAccount.__table__)
    stmt = (
        select(t, src.c.code.label("src_code"), src.c.kind.label("src_kind"),
               dst.c.code.label("dst_code"), dst.c.kind.label("dst_kind"),
               src.c.fund_id.label("src_fund"), dst.c.fund_id.label("dst_fund"))
        .join(src, src.c.id == t.c.from_account_id)
        .join(dst, dst.c.id == t.c.to_account_id)
        .order_by(t.c.id)
    )  # fmt: skip
    start, end = filters.bounds()
    grants = society_grants(filters.society) if filters.society else None
    paid_grant: dict[int, int] = {}
    paid_fund: dict[int, int] = {}
    unpaid: dict[int, int] = {}
    free: dict[int, int] = {}
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for partition in result.partitions(BATCH):
        for r in partition:
            fund = r.fund_id or r.src_fund or r.dst_fund
            for kind, sign in ((r.src_kind, -1), (r.dst_kind, 1)):
                if kind in GRANT_KINDS_UNPAID and r.grant_id:
                    unpaid[r.grant_id] = unpaid.get(r.grant_id, 0) + sign * r.amount_fen
                if kind in FUND_KINDS_FREE and fund:
                    free[fund] = free.get(fund, 0) + sign * r.amount_fen
            paid = 0
            if r.dst_kind == "grant_disbursed" and r.src_kind == "grant_payable":
                paid = r.amount_fen
            elif r.src_kind == "grant_disbursed" and r.dst_kind == "grant_payable":
                paid = -r.amount_fen  # a reversed payment
            if r.grant_id:
                paid_grant[r.grant_id] = paid_grant.get(r.grant_id, 0) + paid
            if fund:
                paid_fund[fund] = paid_fund.get(fund, 0) + paid
            if not _keeps(r, fund, filters, start, end, grants):
                continue
            if r.grant_id:
                to_date, balance = paid_grant[r.grant_id], unpaid.get(r.grant_id, 0)
            else:
                to_date, balance = paid_fund.get(fund, 0), free.get(fund, 0)
            yield (
                r.id, r.occurred_at, r.code, fund, r.call_id, r.grant_id, r.src_code, r.dst_code,
                r.amount_fen, r.amount_fen, r.voucher_no, r.memo, to_date, balance,
            )  # fmt: skip


def _keeps(r, fund, filters: Filters, start, end, grants) -> bool:
    if filters.fund and fund != filters.fund:
        return False
    if filters.call and r.call_id != filters.call:
        return False
    if filters.project and r.grant_id != filters.project:
        return False
    if filters.society and (grants is None or r.grant_id not in grants):
        return False
    when = clock.as_utc(r.occurred_at)
    return not ((start and when < start) or (end and when >= end))


def write_register(fh, fmt: str, filters: Filters, footer: Footer) -> int:
    """项目资金台账 as CSV (English column names) or xlsx (Chinese headers, 汇总 by type)."""
    rows = register_rows(filters)
    if fmt == "csv":
        return _csv(fh, REGISTER_COLUMNS, rows)
    by_code: dict[str, list[int]] = {}
    with XlsxBook(fh, title=_("项目资金台账"), footer=footer) as book:
        summary = book.summary(
            [Column(_("类型"), width=20), Column(_("笔数"), "int"), Column(_("金额（元）"), "yuan")]
        )
        detail = book.detail(_("明细"), REGISTER_COLUMNS)
        for row in rows:
            detail.append(row)
            count_amount = by_code.setdefault(row[2], [0, 0])
            count_amount[0] += 1
            count_amount[1] += row[9]
        for code in sorted(by_code):
            summary.append([code, *by_code[code]])
        summary.append([_("筛选条件"), None, None])
        summary.append([_json(filters.as_dict()), None, None])
    return detail.rows


def record_download(kind: str, fmt: str, filters: dict, *, actor) -> None:
    """Write the ``export.download`` event (ids and dates only) in the caller's transaction."""
    trail.record(
        "export.download",
        "export",
        kind,
        actor=actor,
        after={"kind": kind, "format": fmt, "filters": filters},
    )


FILE_TITLES = {
    "trail": _l("操作日志"),
    "trial_balance": _l("试算平衡表"),
    "register": _l("项目资金台账"),
}


def write_download(kind: str, fmt: str, args, fh, *, actor) -> dict:
    """Validate ``args`` and write download ``kind`` in ``fmt`` to ``fh``.

    Returns the filters to record in the ``export.download`` event. Raises
    ``ValidationFailed`` for bad filters or cut-off date, ``KeyError`` for an
    unknown kind or format.
    """
    if kind not in FILE_TITLES or fmt not in ("csv", "xlsx"):
        raise KeyError((kind, fmt))
    footer = footer_for(actor)
    if kind == "trial_balance":
        cutoff = parse_cutoff(args.get("cutoff"))
        write_trial_balance(fh, fmt, cutoff, footer)
        return {"cutoff": cutoff.isoformat()} if cutoff else {}
    filters = parse_filters(args)
    (write_trail if kind == "trail" else write_register)(fh, fmt, filters, footer)
    return filters.as_dict()


def file_name(kind: str, fmt: str) -> str:
    """``项目资金台账-20260101.xlsx``: the title in the user's language and today's date."""
    return f"{FILE_TITLES[kind]}-{clock.today():%Y%m%d}.{fmt}"
