"""Finance's ledger pages: appropriation, trial balance, transfers, CSV download."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.audit import trail
from app.core import clock
from app.core.errors import DomainError
from app.core.forms import NumberRange, page_args, page_of, show_error
from app.core.money import parse_fen
from app.core.permissions import requires
from app.extensions import db
from app.home import navigation
from app.ledger import (
    exports,
    invariants,  # noqa: F401  (registers the ledger check with audit verify)
)
from app.ledger import operations as ledger
from app.ledger.models import TRANSFER_CODES, LedgerAccount, LedgerTransfer

bp = Blueprint("ledger", __name__, url_prefix="/ledger")
navigation.add("ledger.trial_balance", _l("资金账簿"), "ledger.read")
navigation.add("ledger.appropriate", _l("资金拨付"), "ledger.appropriate")


class AppropriationForm(FlaskForm):
    fund_id = IntegerField(_l("专项资金编号"), validators=[DataRequired(), NumberRange(min=1)])
    amount = StringField(_l("金额（元）"), validators=[DataRequired(), Length(max=40)])
    memo = TextAreaField(_l("摘要"), validators=[Optional(), Length(max=500)])
    # One key per rendered form: a double-click or a resubmission posts the same
    # key and body, so it returns the first transfer instead of paying twice.
    request_key = HiddenField()


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD (Beijing) date as a UTC bound; None when empty or malformed."""
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    start = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=clock.SHANGHAI)
    return clock.as_utc(start)


def _filters() -> dict:
    args = request.args

    def number(name):
        raw = args.get(name, "").strip()
        return int(raw) if raw.isdigit() else None

    code = args.get("code", "").strip()
    return {
        "fund_id": number("fund"),
        "call_id": number("call"),
        "grant_id": number("grant"),
        "code": code if code in TRANSFER_CODES else None,
        "start": _day(args.get("from")),
        "end": _day(args.get("to"), end=True),
    }


@bp.route("/appropriate", methods=["GET", "POST"])
@requires("ledger.appropriate")
def appropriate():
    """Record an appropriation to a fund."""
    form = AppropriationForm()
    if not form.request_key.data:
        form.request_key.data = uuid.uuid4().hex
    if form.validate_on_submit():
        try:
            amount = parse_fen(form.amount.data)
        except DomainError as err:
            err.field = "amount"
            status = show_error(form, err)  # before rendering, so the message shows
            return render_template("ledger/appropriate.html", form=form), status
        try:
            done = ledger.appropriate(
                form.fund_id.data,
                amount,
                actor=current_user,
                key=f"web:appropriate:{form.request_key.data}",
                memo=(form.memo.data or "").strip() or None,
            )
        except DomainError as err:
            db.session.rollback()
            if err.field == "amount_fen":
                err.field = "amount"
            status = show_error(form, err)  # before rendering, so the message shows
            return render_template("ledger/appropriate.html", form=form), status
        db.session.commit()
        flash(_("已拨付，转账编号 %(id)s。", id=done.id), "success")
        return redirect(url_for("ledger.transfers", fund=done.fund_id))
    status = 400 if request.method == "POST" else 200
    return render_template("ledger/appropriate.html", form=form), status


@bp.route("/")
@requires("ledger.read")
def trial_balance():
    """The trial balance: every account's debits, credits and balance."""
    rows, totals = exports.trial_balance()
    return render_template("ledger/trial_balance.html", rows=rows, totals=totals)


@bp.route("/transfers")
@requires("ledger.read")
def transfers():
    """Transfers filtered by fund, call, grant, code and date, newest first."""
    page, size = page_args(request)
    stmt = exports.filter_transfers(select(LedgerTransfer), **_filters())
    rows, total = page_of(stmt.order_by(LedgerTransfer.id.desc()), page, size)
    ids = {r.from_account_id for r in rows} | {r.to_account_id for r in rows}
    codes = dict(
        db.session.execute(
            select(LedgerAccount.id, LedgerAccount.code).where(LedgerAccount.id.in_(ids))
        ).all()
    )
    return render_template(
        "ledger/transfers.html",
        rows=rows,
        codes=codes,
        transfer_codes=TRANSFER_CODES,
        args=request.args,
        page=page,
        size=size,
        total=total,
    )


@bp.route("/transfers.csv")
@requires("ledger.export")
def download_transfers():
    """Download the (filtered) transfers as CSV, streamed; the download is audited."""
    filters = _filters()
    logged = {k: v for k, v in filters.items() if v is not None and k not in ("start", "end")}
    trail.record(
        "export.download",
        "ledger",
        None,
        actor=current_user,
        after={"file": "ledger_transfers.csv", **logged,
               "from": request.args.get("from") or None, "to": request.args.get("to") or None},
    )  # fmt: skip
    db.session.commit()
    ids = exports.filter_transfers(select(LedgerTransfer.id), **filters)
    body = stream_with_context(exports.transfers_csv_bytes(ids))
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=ledger_transfers.csv"
    return response
