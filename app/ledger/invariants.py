"""Ledger invariants, checked by ``flask audit verify`` and the property tests.

Each check runs as aggregate SQL, so it costs a few scans however long the
ledger grows, and returns the first fault found (or None).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import aliased

from app.audit.models import AuditEvent
from app.audit.verify import EXTRA_CHECKS, Fault
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransfer

A = LedgerAccount.__table__
E = LedgerEntry.__table__
T = LedgerTransfer.__table__


def _fault(detail: str) -> Fault:
    return Fault("ledger", None, detail)


def _scalar(stmt):
    return db.session.execute(stmt).scalar()


def check_double_entry() -> Fault | None:
    """Debits equal credits overall, and each transfer has its two matching entries."""
    total = func.coalesce
    debits, credits = db.session.execute(
        select(total(func.sum(E.c.debit_fen), 0), total(func.sum(E.c.credit_fen), 0))
    ).one()
    if debits != credits:
        return _fault(f"total debits {debits} != total credits {credits}")
    odd = _scalar(
        select(E.c.transfer_id).group_by(E.c.transfer_id).having(func.count() != 2).limit(1)
    )
    if odd is not None:
        return _fault(f"transfer {odd} does not have exactly two entries")
    debit, credit = aliased(E), aliased(E)
    bad = _scalar(
        select(T.c.id)
        .outerjoin(
            debit,
            and_(
                debit.c.transfer_id == T.c.id,
                debit.c.account_id == T.c.from_account_id,
                debit.c.debit_fen == T.c.amount_fen,
            ),
        )
        .outerjoin(
            credit,
            and_(
                credit.c.transfer_id == T.c.id,
                credit.c.account_id == T.c.to_account_id,
                credit.c.credit_fen == T.c.amount_fen,
            ),
        )
        .where(or_(debit.c.id.is_(None), credit.c.id.is_(None)))
        .order_by(T.c.id)
        .limit(1)
    )
    if bad is not None:
        return _fault(f"transfer {bad}: entries do not match its accounts and amount")
    return None


def check_balances() -> Fault | None:
    """No negative balance but world's; cached totals equal the sums of the entries."""
    negative = _scalar(
        select(A.c.code)
        .where(A.c.code != "world:appropriation", A.c.credits_fen - A.c.debits_fen < 0)
        .limit(1)
    )
    if negative is not None:
        return _fault(f"account {negative} has a negative balance")
    sums = (
        select(
            E.c.account_id,
            func.sum(E.c.debit_fen).label("debits"),
            func.sum(E.c.credit_fen).label("credits"),
        )
        .group_by(E.c.account_id)
        .subquery()
    )
    stale = _scalar(
        select(A.c.code)
        .outerjoin(sums, sums.c.account_id == A.c.id)
        .where(
            or_(
                A.c.debits_fen != func.coalesce(sums.c.debits, 0),
                A.c.credits_fen != func.coalesce(sums.c.credits, 0),
            )
        )
        .order_by(A.c.id)
        .limit(1)
    )
    if stale is not None:
        return _fault(f"account {stale}: cached totals differ from its entries")
    return None


def check_conservation() -> Fault | None:
    """World's deficit equals all other balances, and each fund's money stays in that fund."""
    world = _scalar(select(A.c.credits_fen - A.c.debits_fen).where(A.c.kind == "world")) or 0
    others = _scalar(
        select(func.coalesce(func.sum(A.c.credits_fen - A.c.debits_fen), 0)).where(
            A.c.kind != "world"
        )
    )
    if -world != others:
        return _fault(f"world balance {world} does not offset the other balances {others}")
    held = dict(
        db.session.execute(
            select(A.c.fund_id, func.sum(A.c.credits_fen - A.c.debits_fen))
            .where(A.c.kind != "world")
            .group_by(A.c.fund_id)
        ).all()
    )
    src, dst = aliased(A), aliased(A)
    appropriated = dict(
        db.session.execute(
            select(
                T.c.fund_id,
                func.sum(case((src.c.kind == "world", T.c.amount_fen), else_=-T.c.amount_fen)),
            )
            .join(src, src.c.id == T.c.from_account_id)
            .join(dst, dst.c.id == T.c.to_account_id)
            .where(or_(src.c.kind == "world", dst.c.kind == "world"))
            .group_by(T.c.fund_id)
        ).all()
    )
    for fund in sorted(set(held) | set(appropriated), key=lambda f: (f is None, f)):
        if (held.get(fund) or 0) != (appropriated.get(fund) or 0):
            return _fault(
                f"fund {fund}: appropriated {appropriated.get(fund) or 0}"
                f" but its accounts hold {held.get(fund) or 0}"
            )
    # Money moves only within one fund: both non-world accounts carry the transfer's fund.
    crossed = _scalar(
        select(T.c.id)
        .join(src, src.c.id == T.c.from_account_id)
        .join(dst, dst.c.id == T.c.to_account_id)
        .where(
            or_(
                and_(src.c.kind != "world", src.c.fund_id.is_distinct_from(T.c.fund_id)),
                and_(dst.c.kind != "world", dst.c.fund_id.is_distinct_from(T.c.fund_id)),
            )
        )
        .order_by(T.c.id)
        .limit(1)
    )
    if crossed is not None:
        return _fault(f"transfer {crossed} moves money between funds")
    return None


def check_grant_flow() -> Fault | None:
    """Per grant, net of reversals: released ≤ committed − decommitted, disbursed ≤ released."""
    original = aliased(T)
    kind = func.coalesce(original.c.code, T.c.code)
    signed = case((T.c.code == "REVERSAL", -T.c.amount_fen), else_=T.c.amount_fen)
    net: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = db.session.execute(
        select(T.c.grant_id, kind, func.sum(signed))
        .outerjoin(original, original.c.id == T.c.reverses_id)
        .where(T.c.grant_id.is_not(None))
        .group_by(T.c.grant_id, kind)
    ).all()
    for grant, code, amount in rows:
        net[grant][code] += amount
    for grant in sorted(net):
        flows = net[grant]
        committed = flows["COMMIT"] - flows["DECOMMIT"]
        if flows["RELEASE"] > committed:
            return _fault(f"grant {grant}: released {flows['RELEASE']} > committed {committed}")
        if flows["DISBURSE"] > flows["RELEASE"]:
            return _fault(
                f"grant {grant}: disbursed {flows['DISBURSE']} > released {flows['RELEASE']}"
            )
    return None


def check_audited() -> Fault | None:
    """Every transfer has exactly one audit event, and no such event lacks its transfer."""
    ev = AuditEvent.__table__
    events = (
        select(ev.c.entity_id, func.count().label("n"))
        .where(ev.c.entity_type == "transfer")
        .group_by(ev.c.entity_id)
        .subquery()
    )
    # min(), not ORDER BY … LIMIT 1: with a LIMIT, PostgreSQL expects an early match and
    # nests the loop over both sides, which never ends on a healthy ledger of 100,000 rows.
    bad = _scalar(
        select(func.min(T.c.id))
        .outerjoin(events, events.c.entity_id == cast(T.c.id, String))
        .where(func.coalesce(events.c.n, 0) != 1)
    )
    if bad is not None:
        return _fault(f"transfer {bad} does not have exactly one audit event")
    transfers = _scalar(select(func.count()).select_from(T))
    audited = _scalar(select(func.count()).select_from(ev).where(ev.c.entity_type == "transfer"))
    if transfers != audited:
        return _fault(f"{audited} transfer audit events for {transfers} transfers")
    return None


CHECKS = (check_double_entry, check_balances, check_conservation, check_grant_flow, check_audited)


def check_ledger() -> Fault | None:
    """Every ledger invariant; the first fault found, or None."""
    for check in CHECKS:
        fault = check()
        if fault is not None:
            return fault
    return None


if check_ledger not in EXTRA_CHECKS:
    EXTRA_CHECKS.append(check_ledger)
