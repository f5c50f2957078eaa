"""The one posting path: validation, idempotency, the conditional UPDATEs, rows, audit."""

from __future__ import annotations

import hashlib
import json
import re

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.util import identity_key

from app.audit import trail
from app.audit.models import AuditHead
from app.core import clock
from app.core.errors import Conflict, DomainError, ValidationFailed
from app.core.money import MAX_FEN
from app.extensions import db
from app.ledger.models import WORLD, LedgerAccount, LedgerEntry, LedgerTransfer

_ACCOUNT_PATTERNS = {
    "world": re.compile(r"^world:appropriation$"),
    "fund_available": re.compile(r"^fund:(\d+):available$"),
    "call_available": re.compile(r"^call:(\d+):available$"),
    "grant_committed": re.compile(r"^grant:(\d+):committed$"),
    "grant_payable": re.compile(r"^grant:(\d+):payable$"),
    "grant_disbursed": re.compile(r"^grant:(\d+):disbursed$"),
    "grant_clawback_due": re.compile(r"^grant:(\d+):clawback_due$"),
}
# code → (kind of the source account, kind of the target account)
ROUTES = {
    "APPROPRIATE": ("world", "fund_available"),
    "RESERVE": ("fund_available", "call_available"),
    "UNRESERVE": ("call_available", "fund_available"),
    "COMMIT": ("call_available", "grant_committed"),
    "DECOMMIT": ("grant_committed", "call_available"),
    "RELEASE": ("grant_committed", "grant_payable"),
    "DISBURSE": ("grant_payable", "grant_disbursed"),
    "CLAWBACK_DEMAND": ("grant_disbursed", "grant_clawback_due"),
    "CLAWBACK_RECEIVED": ("grant_clawback_due", "fund_available"),
}
_TAGS = ("fund_id", "call_id", "grant_id")


class InsufficientBalance(DomainError):
    """The source account holds less than the amount; nothing was written."""

    status = 409


def fund_code(fund_id: int) -> str:
    return f"fund:{int(fund_id)}:available"


def call_code(call_id: int) -> str:
    return f"call:{int(call_id)}:available"


def grant_code(grant_id: int, part: str) -> str:
    """``part`` is committed, payable, disbursed or clawback_due."""
    return f"grant:{int(grant_id)}:{part}"


def _kind_of(code: str) -> tuple[str, dict]:
    for kind, pattern in _ACCOUNT_PATTERNS.items():
        match = pattern.match(code or "")
        if match:
            if kind == "world":
                return kind, {}
            tag = {"fund": "fund_id", "call": "call_id", "grant": "grant_id"}[code.split(":")[0]]
            return kind, {tag: int(match.group(1))}
    raise ValidationFailed(_("未知的账户：%(code)s", code=code))


def _merge(tags: dict, extra: dict) -> None:
    for name, value in extra.items():
        if value is None:
            continue
        if tags.get(name) is not None and tags[name] != value:
            raise ValidationFailed(
                _("账户归属不一致：%(name)s 为 %(a)s 与 %(b)s。", name=name, a=tags[name], b=value)
            )
        tags[name] = value


def _check_amount(amount_fen) -> int:
    # bool is an int subclass and a float may hide fractions of a fen: both refused.
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationFailed(_("金额必须是以分为单位的整数。"), field="amount_fen")
    if amount_fen <= 0:
        raise ValidationFailed(_("金额必须大于零。"), field="amount_fen")
    if amount_fen > MAX_FEN:
        raise ValidationFailed(_("金额过大。"), field="amount_fen")
    return amount_fen


def _body_hash(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_ledger() -> None:
    # Every transfer writes an audit event, which locks the head row anyway; taking
    # that lock first gives all ledger writers one lock order (head, then accounts),
    # so two opposite transfers can never deadlock on their account rows.
    db.session.execute(
        select(AuditHead.__table__.c.seq).where(AuditHead.__table__.c.id == 1).with_for_update()
    )


def _find_account(code: str):
    table = LedgerAccount.__table__
    return db.session.execute(select(table).where(table.c.code == code)).first()


def _create_account(code: str, kind: str, tags: dict):
    table = LedgerAccount.__table__
    values = {
        "code": code,
        "kind": kind,
        "may_go_negative": code == WORLD,
        "debits_fen": 0,
        "credits_fen": 0,
        **tags,
    }
    dialect = db.session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(make(table).values(**values).on_conflict_do_nothing(index_elements=["code"]))
    return _find_account(code)


def _account_tags(kind: str, own: dict, tags: dict) -> dict:
    """The fund/call/grant a new account belongs to, from its code and the transfer."""
    if kind == "world":
        return {}
    if kind == "fund_available":
        return dict(own)
    if kind == "call_available":
        return {"fund_id": tags.get("fund_id"), **own}
    return {"fund_id": tags.get("fund_id"), "call_id": tags.get("call_id"), **own}


def _expire(account_ids) -> None:
    # The balance UPDATEs bypass the ORM; drop any stale copies it holds.
    for account_id in account_ids:
        instance = db.session.identity_map.get(identity_key(LedgerAccount, account_id))
        if instance is not None:
            db.session.expire(instance)


def _post(code, from_code, to_code, amount_fen, *, actor, key, tags, voucher_no, memo, reverses_id):
    """Validate, then move the money inside a savepoint; see ``transfer``."""
    _check_amount(amount_fen)
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise ValidationFailed(_("幂等键必须是1至200个字符。"), field="idempotency_key")
    from_kind, from_own = _kind_of(from_code)
    to_kind, to_own = _kind_of(to_code)
    if code != "REVERSAL" and ROUTES.get(code) != (from_kind, to_kind):
        raise ValidationFailed(_("转账类型 %(code)s 不允许此方向。", code=code))
    voucher_no = (voucher_no or "").strip() or None
    if code == "DISBURSE" and not voucher_no:
        raise ValidationFailed(_("支付必须填写凭证号。"), field="voucher_no")
    if voucher_no and len(voucher_no) > 64:
        raise ValidationFailed(_("凭证号过长。"), field="voucher_no")
    body = {
        "code": code,
        "from": from_code,
        "to": to_code,
        "amount_fen": amount_fen,
        **tags,
        "voucher_no": voucher_no,
        "memo": memo,
        "reverses_id": reverses_id,
    }
    body_hash = _body_hash(body)

    _lock_ledger()
    existing = db.session.execute(
        select(LedgerTransfer).where(LedgerTransfer.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.body_hash == body_hash:
            return existing
        raise Conflict(_("幂等键 %(key)s 已用于内容不同的另一笔转账。", key=key))
    if code == "DISBURSE":
        reused = db.session.execute(
            select(LedgerTransfer.id).where(
                LedgerTransfer.code == "DISBURSE", LedgerTransfer.voucher_no == voucher_no
            )
        ).first()
        if reused:
            raise Conflict(_("凭证号 %(no)s 已用于另一笔支付。", no=voucher_no))

    tags = dict(tags)
    _merge(tags, from_own)
    _merge(tags, to_own)
    source = _find_account(from_code)
    if source is None and from_kind != "world":
        raise InsufficientBalance(_("余额不足：%(code)s 没有可用资金。", code=from_code))
    target = _find_account(to_code)
    for row in (source, target):
        if row is not None and row.kind != "world":
            _merge(tags, {name: getattr(row, name) for name in _TAGS if name != "grant_id"})

    with db.session.begin_nested():
        if source is None:
            source = _create_account(from_code, from_kind, {})
        if target is None:
            target = _create_account(to_code, to_kind, _account_tags(to_kind, to_own, tags))
        accounts = LedgerAccount.__table__
        debited = db.session.execute(
            update(accounts)
            .where(
                accounts.c.id == source.id,
                accounts.c.may_go_negative
                | (accounts.c.credits_fen - accounts.c.debits_fen >= amount_fen),
            )
            .values(debits_fen=accounts.c.debits_fen + amount_fen)
        )
        if debited.rowcount != 1:
            raise InsufficientBalance(
                _(
                    "余额不足：%(code)s 的余额少于 %(amount)s 分。",
                    code=from_code,
                    amount=amount_fen,
                )
            )
        db.session.execute(
            update(accounts)
            .where(accounts.c.id == target.id)
            .values(credits_fen=accounts.c.credits_fen + amount_fen)
        )
        row = LedgerTransfer(
            code=code,
            from_account_id=source.id,
            to_account_id=target.id,
            amount_fen=amount_fen,
            idempotency_key=key,
            body_hash=body_hash,
            fund_id=tags.get("fund_id"),
            call_id=tags.get("call_id"),
            grant_id=tags.get("grant_id"),
            voucher_no=voucher_no,
            memo=memo,
            reverses_id=reverses_id,
            occurred_at=clock.now(),
            created_by_id=getattr(actor, "id", None),
        )
        db.session.add(row)
        db.session.flush()
        db.session.execute(
            insert(LedgerEntry.__table__),
            [
                {
                    "transfer_id": row.id,
                    "account_id": source.id,
                    "debit_fen": amount_fen,
                    "credit_fen": 0,
                },
                {
                    "transfer_id": row.id,
                    "account_id": target.id,
                    "debit_fen": 0,
                    "credit_fen": amount_fen,
                },
            ],
        )
        after = {
            "code": code,
            "from": from_code,
            "to": to_code,
            "amount_fen": amount_fen,
            "fund_id": row.fund_id,
            "call_id": row.call_id,
            "grant_id": row.grant_id,
            "voucher_no": voucher_no,
        }
        if reverses_id is not None:
            after["reverses_id"] = reverses_id
        reason = memo if code == "REVERSAL" else None
        trail.record(
            f"ledger.{code.lower()}", "transfer", row.id, actor=actor, after=after, reason=reason
        )
    _expire((source.id, target.id))
    return row


def transfer(
    code: str,
    from_code: str,
    to_code: str,
    amount_fen: int,
    *,
    actor,
    idempotency_key: str,
    fund_id: int | None = None,
    call_id: int | None = None,
    grant_id: int | None = None,
    voucher_no: str | None = None,
    memo: str | None = None,
) -> LedgerTransfer:
    """Move ``amount_fen`` from account ``from_code`` to ``to_code``: debit one, credit the other.

    Arguments: ``code`` is one of ``ROUTES`` (not REVERSAL: use ``reverse``) and
    must match the kinds of the two accounts; ``amount_fen`` a positive int;
    ``idempotency_key`` identifies the request; ``fund_id``/``call_id``/``grant_id``
    tag the transfer (they are also taken from the account codes and from the
    accounts already on file, and must agree with them); ``voucher_no`` is
    required for DISBURSE and may pay only once; ``actor`` is the user (or None
    for the system).

    Effects, in one savepoint: the world account is created on first use and
    the target account when missing (tagged with its fund, call and grant);
    one conditional UPDATE debits the source only if its balance covers the
    amount (the world account may go negative); one UPDATE credits the target;
    the transfer row and its two entries are inserted; exactly one audit event
    ``ledger.<code>`` (entity ``transfer``) is written. Flushes, never commits.

    Idempotency: the same key with the same body returns the stored transfer and
    writes nothing; the same key with a different body raises ``Conflict``.

    Raises: ``ValidationFailed`` (bad amount, account code, direction, voucher,
    disagreeing tags), ``InsufficientBalance`` (nothing written), ``Conflict``
    (key reused with another body, voucher number reused).
    """
    if code not in ROUTES:
        raise ValidationFailed(_("未知的转账类型：%(code)s", code=code))
    tags = {"fund_id": fund_id, "call_id": call_id, "grant_id": grant_id}
    return _post(
        code,
        from_code,
        to_code,
        amount_fen,
        actor=actor,
        key=idempotency_key,
        tags=tags,
        voucher_no=voucher_no,
        memo=memo,
        reverses_id=None,
    )
