"""Spreadsheet imports of the projects' money (issue 11), through ``app.core.imports``:
matching-fund receipts (the co-building government) into the matching register, and
payments (finance) recorded through the tranche payment (one audited DISBURSE transfer
per row; the whole sheet or nothing).
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.applications.models import Application
from app.audit import trail
from app.core import clock, imports
from app.core.errors import DomainError, NotAllowed
from app.core.imports import Column, ImportRow
from app.core.money import format_yuan, parse_fen
from app.extensions import db
from app.projects.models import MatchingReceipt, Project, Tranche
from app.projects.operations.money import pay_tranche, record_matching_receipt
from app.projects.permissions import can_pay, can_record_matching

MATCHING_COLUMNS = (
    Column("项目编号", _l("立项时的项目编号，如 2026-ZL-001")),
    Column("到位金额（元）", _l("单位：元，最多两位小数")),
    Column("到位日期", _l("格式：2026-03-31，不能晚于今天")),
    Column("凭证号", _l("同一项目内不能重复")),
    Column("备注", _l("选填"), required=False),
)
MATCHING_EXAMPLE = ("2026-ZL-001", "200000.00", "2026-03-31", "PZ-2026-001", "")
PAYMENT_COLUMNS = (
    Column("项目编号", _l("立项时的项目编号，如 2026-ZL-001")),
    Column("批次", _l("填项目页“节点”列的序号：签约后首批为 0，之后为 1、2…")),
    Column("支付金额（元）", _l("须等于该批次的应付金额")),
    Column("凭证号", _l("财务支付凭证号")),
    Column("支付日期", _l("格式：2026-03-31")),
)
PAYMENT_EXAMPLE = ("2026-ZL-001", "0", "300000.00", "ZF-2026-001", "2026-03-31")


def _project(number: str) -> Project | None:
    """The project of ``number`` (its project number, or its id)."""
    if not number:
        return None
    ids = db.session.scalars(
        select(Project.id)
        .join(Application, Application.id == Project.application_id)
        .where(Application.project_number == number)
    ).all()
    if len(ids) == 1:
        return db.session.get(Project, ids[0])
    if not ids and number.isdigit():
        return db.session.get(Project, int(number))
    return None


def _date(text: str, problems: list, label) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError:
        problems.append(_("%(l)s格式应为 2026-03-31", l=label))
        return None


def _amount(text: str, problems: list) -> int | None:
    if not text:
        return None
    try:
        value = parse_fen(text)
    except DomainError as err:
        problems.append(err.message)
        return None
    if value <= 0:
        problems.append(_("金额必须大于零"))
        return None
    return value


# --- matching-fund receipts -----------------------------------------------------------


def _matching_checker(actor):
    def check(line: int, cells: dict, seen: dict) -> ImportRow:
        problems: list[str] = []
        project = _project(cells["项目编号"])
        if cells["项目编号"] and (project is None or not can_record_matching(actor, project)):
            problems.append(_("找不到本单位共建的项目 %(n)s", n=cells["项目编号"]))
            project = None
        amount = _amount(cells["到位金额（元）"], problems)
        received_on = _date(cells["到位日期"], problems, _("到位日期"))
        if received_on and received_on > clock.today():
            problems.append(_("到位日期不能晚于今天"))
        voucher = cells["凭证号"][:64]
        if project is not None and voucher:
            key = (project.id, voucher)
            if key in seen:
                problems.append(_("凭证号与第 %(line)s 行重复", line=seen[key]))
            else:
                seen[key] = line
            if db.session.scalar(
                select(MatchingReceipt.id).where(
                    MatchingReceipt.project_id == project.id, MatchingReceipt.voucher_no == voucher
                )
            ):
                problems.append(_("凭证号 %(v)s 已登记过", v=voucher))
        data = {
            "project": project,
            "amount_fen": amount,
            "received_on": received_on,
            "voucher_no": voucher,
            "note": cells.get("备注", ""),
        }
        return ImportRow(line, data, problems)

    return check


def _require(decision) -> None:
    if not decision:
        raise NotAllowed(decision.reason)


def preview_matching(stream, *, actor) -> list[ImportRow]:
    """Every row of a matching-receipts sheet with its problems (nothing written)."""
    if not actor.has_role("local_partner"):
        raise NotAllowed(_("只有共建的地方政府或科协可以登记配套资金到位情况。"))
    return imports.parse(stream, MATCHING_COLUMNS, _matching_checker(actor))


def import_matching(stream, *, actor) -> list[MatchingReceipt]:
    """Record every receipt of the sheet in the projects' matching register, or none.
    Each row is ``record_matching_receipt`` (audited as ``matching_receipt.record``);
    the sheet is audited as ``matching_receipt.import``."""
    rows = preview_matching(stream, actor=actor)

    def create(data):
        return record_matching_receipt(
            data["project"],
            data["amount_fen"],
            data["received_on"],
            data["voucher_no"],
            data["note"],
            actor=actor,
        )

    created = imports.commit(rows, create, noun=_("配套资金到位记录"))
    trail.record(
        "matching_receipt.import",
        "matching_receipt",
        None,
        actor=actor,
        after={"count": len(created), "ids": [r.id for r in created]},
    )
    return created


# --- payments -------------------------------------------------------------------------


def _payment_check(line: int, cells: dict, seen: dict) -> ImportRow:
    problems: list[str] = []
    project = _project(cells["项目编号"])
    if cells["项目编号"] and project is None:
        problems.append(_("找不到项目 %(n)s", n=cells["项目编号"]))
    tranche = None
    seq_text = cells["批次"]
    if project is not None and seq_text:
        if not seq_text.isdigit():
            problems.append(_("批次应为数字"))
        else:
            tranche = db.session.scalar(
                select(Tranche).where(
                    Tranche.project_id == project.id, Tranche.seq == int(seq_text)
                )
            )
            if tranche is None:
                problems.append(_("该项目的节点 %(n)s 没有拨付批次", n=seq_text))
            elif tranche.state != "released":
                problems.append(_("节点 %(n)s 的拨付批次尚未批准拨付或已支付", n=seq_text))
            elif (key := (project.id, tranche.seq)) in seen:
                problems.append(_("与第 %(line)s 行是同一批次", line=seen[key]))
            else:
                seen[key] = line
    amount = _amount(cells["支付金额（元）"], problems)
    if tranche is not None and amount is not None and amount != tranche.amount_fen:
        problems.append(
            _("支付金额应等于该批次应付金额 %(a)s 元", a=format_yuan(tranche.amount_fen))
        )
    paid_on = _date(cells["支付日期"], problems, _("支付日期"))
    voucher = cells["凭证号"]
    if voucher:
        if ("voucher", voucher) in seen:
            problems.append(_("凭证号与第 %(line)s 行重复", line=seen[("voucher", voucher)]))
        else:
            seen[("voucher", voucher)] = line
    data = {"tranche": tranche, "amount_fen": amount, "voucher_no": voucher, "paid_on": paid_on}
    return ImportRow(line, data, problems)


def preview_payments(stream, *, actor) -> list[ImportRow]:
    """Every row of a payments sheet with its problems (nothing written)."""
    _require(can_pay(actor))
    return imports.parse(stream, PAYMENT_COLUMNS, _payment_check)


def import_payments(stream, *, actor) -> list[Tranche]:
    """Record every payment of the sheet through ``pay_tranche`` (one audited DISBURSE
    ledger transfer per row), or none of them. Audited as ``tranche.import_payments``."""
    rows = preview_payments(stream, actor=actor)

    def create(data):
        return pay_tranche(
            data["tranche"], data["amount_fen"], data["voucher_no"], data["paid_on"], actor=actor
        )

    created = imports.commit(rows, create, noun=_("支付记录"))
    trail.record(
        "tranche.import_payments",
        "tranche",
        None,
        actor=actor,
        after={
            "count": len(created),
            "tranche_ids": [t.id for t in created],
            "amount_fen": sum(int(t.amount_fen) for t in created),
        },
    )
    return created
