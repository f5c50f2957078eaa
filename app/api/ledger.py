"""Auditors' API over the ledger: transfers and balances (routes on the api blueprint)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.api.openapi import NULLABLE_INT, NULLABLE_STR, resource
from app.api.paging import BadParameter, int_param, page
from app.api.views import bp
from app.core import clock
from app.core.permissions import requires
from app.extensions import db
from app.ledger import exports
from app.ledger.models import TRANSFER_CODES, LedgerAccount, LedgerTransfer

A = LedgerAccount.__table__
T = LedgerTransfer.__table__
_INT = {"type": "integer"}


def _query(name: str, description: str, kind: str = "integer") -> dict:
    schema = {"type": "integer", "minimum": 0} if kind == "integer" else {"type": "string"}
    if kind == "date":
        schema["format"] = "date"
    return {"name": name, "in": "query", "description": description, "schema": schema}


resource(
    "ledger_transfer",
    "/api/v1/ledger/transfers",
    {
        "id": _INT,
        "code": {"type": "string", "enum": list(TRANSFER_CODES)},
        "from_account": {"type": "string"},
        "to_account": {"type": "string"},
        "amount_fen": _INT,
        "fund_id": NULLABLE_INT,
        "call_id": NULLABLE_INT,
        "grant_id": NULLABLE_INT,
        "voucher_no": NULLABLE_STR,
        "reverses_id": NULLABLE_INT,
        "memo": NULLABLE_STR,
        "occurred_at": {"type": "string", "format": "date-time"},
        "created_by_id": NULLABLE_INT,
    },
    [
        _query("fund", "fund id"),
        _query("call", "call id"),
        _query("grant", "grant (award/project) id"),
        {**_query("code", "transfer code", "string"), "schema": {"enum": list(TRANSFER_CODES)}},
        _query("from", "first day, YYYY-MM-DD (Asia/Shanghai)", "date"),
        _query("to", "last day, YYYY-MM-DD (Asia/Shanghai), inclusive", "date"),
    ],
)
resource(
    "ledger_balance",
    "/api/v1/ledger/balances",
    {
        "id": _INT,
        "code": {"type": "string"},
        "debits_fen": _INT,
        "credits_fen": _INT,
        "balance_fen": _INT,
    },
)


def _date_param(name: str, *, end: bool = False):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError as exc:
        raise BadParameter(name, f"parameter '{name}' must be a date YYYY-MM-DD") from exc
    start = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=clock.SHANGHAI)
    return clock.as_utc(start)


def _transfer_item(row) -> dict:
    return {
        "id": row.id,
        "code": row.code,
        "from_account": row.from_account,
        "to_account": row.to_account,
        "amount_fen": row.amount_fen,
        "fund_id": row.fund_id,
        "call_id": row.call_id,
        "grant_id": row.grant_id,
        "voucher_no": row.voucher_no,
        "reverses_id": row.reverses_id,
        "memo": row.memo,
        "occurred_at": clock.rfc3339(row.occurred_at),
        "created_by_id": row.created_by_id,
    }


@bp.route("/ledger/transfers")
@requires("audit.read")
def ledger_transfers():
    """Transfers by id, filterable by fund, call, grant, code and date."""
    code = request.args.get("code") or None
    if code is not None and code not in TRANSFER_CODES:
        raise BadParameter("code", f"parameter 'code' must be one of {', '.join(TRANSFER_CODES)}")
    src, dst = aliased(A), aliased(A)
    stmt = (
        select(T, src.c.code.label("from_account"), dst.c.code.label("to_account"))
        .join(src, src.c.id == T.c.from_account_id)
        .join(dst, dst.c.id == T.c.to_account_id)
    )
    stmt = exports.filter_transfers(
        stmt,
        fund_id=int_param("fund"),
        call_id=int_param("call"),
        grant_id=int_param("grant"),
        code=code,
        start=_date_param("from"),
        end=_date_param("to", end=True),
    )
    return jsonify(page(stmt, T.c.id, _transfer_item))


def _balance_item(row) -> dict:
    return {
        "id": row.id,
        "code": row.code,
        "debits_fen": row.debits_fen,
        "credits_fen": row.credits_fen,
        "balance_fen": row.credits_fen - row.debits_fen,
    }


@bp.route("/ledger/balances")
@requires("audit.read")
def ledger_balances():
    """Every account's totals and balance, with the ledger's totals beside the page."""
    total = func.coalesce
    debits, credits = db.session.execute(
        select(total(func.sum(A.c.debits_fen), 0), total(func.sum(A.c.credits_fen), 0))
    ).one()
    stmt = select(A.c.id, A.c.code, A.c.debits_fen, A.c.credits_fen)
    totals = {"debits_fen": int(debits), "credits_fen": int(credits)}
    return jsonify(page(stmt, A.c.id, _balance_item, extra={"totals": totals}))
