"""Fund and call operations: each flushes, audits, and never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.audit import trail
from app.calls.models import Call, CallAmendment, CallCounter, Fund, RubricSnapshot
from app.calls.permissions import can_amend_call, can_appropriate, can_edit_call
from app.calls.rules import AMENDABLE, RULE_FIELDS, rubrics_dir, validate_rules
from app.calls.states import CALL_WORKFLOW, CallState
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.money import format_yuan
from app.core.tick import on_tick
from app.extensions import db
from app.ledger import operations as ledger
from app.ledger.models import LedgerAccount
from app.reviews.rubric import RubricError, load_rubric, rubric_sha256


def _require(decision) -> None:
    if not decision:
        raise NotAllowed(decision.reason)


def _jsonable(value):
    if isinstance(value, datetime):
        return clock.rfc3339(value)
    if isinstance(value, CallState):
        return value.value
    return value


def rules_of(call: Call) -> dict:
    """The call's current rules as plain data (aware UTC times)."""
    values = {name: getattr(call, name) for name in RULE_FIELDS}
    for name in ("opens_at", "closes_at"):
        if values[name] is not None:
            values[name] = clock.as_utc(values[name])
    return values


def create_fund(name: str, year: int, *, actor) -> Fund:
    """Create a year's fund with nothing appropriated yet.

    Raises ``ValidationFailed`` for a missing name or a year outside 2000–2100,
    ``Conflict`` when the fund already exists. Audited as ``fund.create``.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写资金名称。"), field="name")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(_("年度无效。"), field="year")
    if db.session.scalar(select(Fund.id).where(Fund.name == name, Fund.year == year)):
        raise Conflict(_("该年度的同名资金已存在。"), field="name")
    fund = Fund(name=name, year=year)
    db.session.add(fund)
    db.session.flush()
    trail.record("fund.create", "fund", fund.id, actor=actor, after={"name": name, "year": year})
    return fund


def record_appropriation(fund: Fund, amount_fen: int, *, actor, reference: str = ""):
    """Finance records money appropriated to ``fund``: an APPROPRIATE ledger transfer.

    ``reference`` (the appropriation's document number) makes the idempotency
    key, so submitting the same document twice moves the money once; without
    one every call is a new appropriation. Raises ``NotAllowed`` unless the
    actor is finance, ``ValidationFailed`` for a non-positive amount. The
    ledger writes the ``ledger.appropriate`` audit event.
    """
    _require(can_appropriate(actor, fund))
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationFailed(_("拨款金额必须大于零。"), field="amount")
    reference = (reference or "").strip()
    key = f"fund:{fund.id}:appropriate:" + (reference or uuid.uuid4().hex)
    return ledger.appropriate(fund.id, amount_fen, actor=actor, key=key, memo=reference or None)


def balance_fen(code: str) -> int:
    """The ledger balance of account ``code`` (0 before its first transfer)."""
    account = db.session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    return account.balance_fen if account is not None else 0


def fund_available_fen(fund: Fund) -> int:
    """What the fund holds that no call has reserved (``fund:F:available``)."""
    return balance_fen(ledger.fund_code(fund.id))


def funds_available_fen(funds) -> dict[int, int]:
    """``fund_available_fen`` of every fund in ``funds``, in one query: {fund id: fen}."""
    codes = {ledger.fund_code(f.id): f.id for f in funds}
    found = {
        codes[code]: int(credits) - int(debits)
        for code, credits, debits in db.session.execute(
            select(LedgerAccount.code, LedgerAccount.credits_fen, LedgerAccount.debits_fen).where(
                LedgerAccount.code.in_(list(codes))
            )
        )
    }
    return {fund_id: found.get(fund_id, 0) for fund_id in codes.values()}


def create_call(fund_id: int, data: dict, *, actor) -> Call:
    """Create a draft call under ``fund_id`` with the rules in ``data``.

    ``data`` holds every field of ``rules.RULE_FIELDS`` (aware datetimes,
    integer fen). Raises ``NotAllowed`` (not an officer), ``ValidationFailed``
    listing every problem. Audited as ``call.create``.
    """
    _require(can_edit_call(actor, None))
    if db.session.get(Fund, fund_id) is None:
        raise ValidationFailed(_("请选择专项资金。"), field="fund_id")
    values = validate_rules(data)
    missing = [f for f in RULE_FIELDS if f not in values]
    if missing:
        raise ValidationFailed(_("申报规则不完整：%(fields)s", fields="、".join(missing)))
    call = Call(fund_id=fund_id, created_by_id=getattr(actor, "id", None), **values)
    db.session.add(call)
    db.session.flush()
    db.session.add(CallCounter(call_id=call.id, last_seq=0))
    trail.record(
        "call.create",
        "call",
        call.id,
        actor=actor,
        after={"state": "draft", **{k: _jsonable(v) for k, v in values.items()}},
    )
    return call


def update_call(call: Call, data: dict, *, actor) -> Call:
    """Change a draft call's rules (a published one changes only by ``amend_call``).

    Raises ``NotAllowed`` (not an officer or not a draft) and
    ``ValidationFailed``. Audited as ``call.update`` with the changed fields.
    """
    _require(can_edit_call(actor, call))
    values = validate_rules({**rules_of(call), **data})
    before, after = _diff(call, values)
    for name, value in values.items():
        setattr(call, name, value)
    db.session.flush()
    if after:
        trail.record("call.update", "call", call.id, actor=actor, before=before, after=after)
    return call


def _diff(call: Call, values: dict) -> tuple[dict, dict]:
    current = rules_of(call)
    changed = [k for k, v in values.items() if current.get(k) != v]
    return (
        {k: _jsonable(current[k]) for k in changed},
        {k: _jsonable(values[k]) for k in changed},
    )


def snapshot_rubric(filename: str) -> RubricSnapshot:
    """The snapshot of a rubric file's bytes, created if these bytes are new.

    Raises ``ValidationFailed`` listing the rubric's problems when it does not validate.
    """
    path = rubrics_dir() / filename
    if path.parent != rubrics_dir() or not path.is_file():
        raise ValidationFailed(_("评审评分表文件不存在：%(name)s", name=filename))
    data = path.read_bytes()
    try:
        rubric = load_rubric(data)
    except RubricError as exc:
        raise ValidationFailed(_("评审评分表无效。"), details=exc.problems) from exc
    digest = rubric_sha256(data)
    snap = db.session.scalar(select(RubricSnapshot).where(RubricSnapshot.sha256 == digest))
    if snap is None:
        snap = RubricSnapshot(
            rubric_id=rubric.id,
            version=rubric.version,
            kind=rubric.kind,
            filename=filename,
            sha256=digest,
            content=data,
        )
        db.session.add(snap)
        db.session.flush()
    return snap


def publish_call(call: Call, *, actor) -> Call:
    """Publish a draft call: pin its rubric and reserve its budget from the fund (RESERVE).

    Raises ``NotAllowed`` (not an officer), ``InvalidTransition`` (not a
    draft), ``ValidationFailed`` (incomplete rules, invalid rubric) and
    ``Conflict`` when the fund's unreserved appropriation is below the call's
    total budget. Audited as ``call.publish`` (the ledger adds ``ledger.reserve``).
    """
    _require(CALL_WORKFLOW.can(call, "publish", actor))
    validate_rules(rules_of(call))
    snap = snapshot_rubric(call.rubric_file)
    _reserve(call, actor=actor)
    call.rubric_snapshot_id = snap.id
    call.published_at = clock.now()
    CALL_WORKFLOW.apply(
        call,
        "publish",
        actor=actor,
        after={"rubric_snapshot_id": snap.id, "rubric_sha256": snap.sha256},
    )
    return call


def _reserve(call: Call, *, actor) -> None:
    try:
        ledger.reserve(
            call.fund_id, call.id, call.total_budget_fen, actor=actor, key=f"call:{call.id}:reserve"
        )
    except ledger.InsufficientBalance as exc:
        available = balance_fen(ledger.fund_code(call.fund_id))
        raise Conflict(
            _(
                "专项资金可用额度不足：可用 %(available)s 元，本批次需 %(needed)s 元。",
                available=format_yuan(available),
                needed=format_yuan(call.total_budget_fen),
            )
        ) from exc


def amend_call(call: Call, changes: dict, *, actor, reason: str) -> CallAmendment:
    """Change a published call's rules by an audited amendment (变更公告).

    Only ``rules.AMENDABLE`` fields change; the opening time only before the
    call opens, the closing time only before it closes and never into the past.
    Raises ``NotAllowed``, ``ValidationFailed`` (no reason, nothing changed,
    invalid values). Writes a ``CallAmendment`` and the ``call.amend`` event
    with before/after of the changed fields.
    """
    _require(can_amend_call(actor, call))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写变更理由。"), field="reason")
    fields = tuple(f for f in AMENDABLE if f in changes)
    values = validate_rules({**rules_of(call), **changes}, fields=fields)
    before, after = _diff(call, values)
    if not after:
        raise ValidationFailed(_("没有修改任何规则。"))
    now = clock.now()
    if "opens_at" in after and call.state != CallState.PUBLISHED:
        raise ValidationFailed(_("申报已开始，不能再修改开始时间。"), field="opens_at")
    if "closes_at" in after:
        if call.state not in (CallState.PUBLISHED, CallState.OPEN):
            raise ValidationFailed(_("申报已截止，不能再修改截止时间。"), field="closes_at")
        if values["closes_at"] <= now:
            raise ValidationFailed(_("新的截止时间必须晚于当前时间。"), field="closes_at")
    for name in after:
        setattr(call, name, values[name])
    number = 1 + (
        db.session.scalar(
            select(func.count(CallAmendment.id)).where(CallAmendment.call_id == call.id)
        )
        or 0
    )
    amendment = CallAmendment(
        call_id=call.id,
        number=number,
        reason=reason,
        before=before,
        after=after,
        actor_id=getattr(actor, "id", None),
    )
    db.session.add(amendment)
    db.session.flush()
    trail.record(
        "call.amend", "call", call.id, actor=actor, before=before, after=after, reason=reason
    )
    return amendment


def advance_call(call: Call, action: str, *, actor, reason: str | None = None) -> Call:
    """Move a call by a staff action: ``start_review``, ``start_notice``, ``decide``, ``archive``.

    Archiving gives back to the fund what is left on the call's ledger account
    (UNRESERVE, audited by the ledger).
    Raises ``InvalidTransition`` and ``NotAllowed``. Audited as ``call.<action>``.
    """
    if action not in ("start_review", "start_notice", "decide", "archive"):
        raise ValidationFailed(_("未知操作。"))
    if action == "archive":
        _require(CALL_WORKFLOW.can(call, "archive", actor))
        _unreserve(call, actor=actor)
    CALL_WORKFLOW.apply(call, action, actor=actor, reason=reason)
    return call


def _unreserve(call: Call, *, actor) -> None:
    left = balance_fen(ledger.call_code(call.id))
    if left > 0:
        ledger.unreserve(call.fund_id, call.id, left, actor=actor, key=f"call:{call.id}:unreserve")


@on_tick("calls")
def open_and_close_calls() -> int:
    """Open published calls whose opening time has come and close open ones past closing.

    Idempotent: a second run at the same time moves nothing. Returns how many moved.
    """
    now = clock.now()
    moved = 0
    due_open = select(Call).where(Call.state == CallState.PUBLISHED, Call.opens_at <= now)
    for call in db.session.scalars(due_open.order_by(Call.id).with_for_update(of=Call)).all():
        CALL_WORKFLOW.apply(call, "open", system=True, role="system")
        moved += 1
    due_close = select(Call).where(Call.state == CallState.OPEN, Call.closes_at <= now)
    for call in db.session.scalars(due_close.order_by(Call.id).with_for_update(of=Call)).all():
        CALL_WORKFLOW.apply(call, "close", system=True, role="system")
        moved += 1
    return moved
