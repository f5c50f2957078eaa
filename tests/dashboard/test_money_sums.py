"""Money by month reads only the transfers it has not summed before, and sums again
from scratch when the database's history is another (the audit chain differs)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core import clock
from app.dashboard import figures
from app.dashboard.figures import Filters, money_by_month
from app.extensions import db
from app.ledger import operations as ledger
from tests import factories


def _fresh(filters: Filters) -> dict:
    figures._MONEY.clear()
    return money_by_month(filters)


def test_later_transfers_are_added_to_the_remembered_sums(session, monkeypatch):
    r = factories.signed_project()
    grant = r.project.id
    whole, one_call = Filters(), Filters(call_id=r.call.id)
    with clock.frozen(datetime(2026, 4, 30, 17, 0, tzinfo=UTC)):  # May in Shanghai
        wrong = ledger.release(grant, 500_000, actor=r.approver, key="m-rel")
    db.session.flush()
    figures._MONEY.clear()
    first = {f: money_by_month(f) for f in (whole, one_call)}
    assert first[one_call]["totals"]["released"] == 500_000
    with clock.frozen(datetime(2026, 5, 10, 2, 0, tzinfo=UTC)):
        ledger.reverse(wrong.id, actor=r.approver, reason="金额有误。")
    with clock.frozen(datetime(2026, 7, 1, 2, 0, tzinfo=UTC)):
        ledger.release(grant, 100_000, actor=r.approver, key="m-rel-2")
        ledger.disburse(grant, 100_000, actor=r.finance, key="m-pay", voucher_no="M-1")
    db.session.flush()
    read_from = []
    real = figures._money_sums
    monkeypatch.setattr(
        figures,
        "_money_sums",
        lambda ids, after, upto: read_from.append(after) or real(ids, after, upto),
    )
    added = {}
    for f in (whole, one_call):
        added[f] = money_by_month(f)  # the remembered sums plus four transfers more
        assert read_from[-1] == wrong.id  # only the transfers after the last one summed
        assert money_by_month(f) == added[f]  # nothing new: the same figures
        assert added[f] != first[f] and "2026-07" in added[f]["months"]
    assert added[one_call]["totals"]["released"] == 100_000
    for f in (whole, one_call):
        assert _fresh(f) == added[f]  # as if everything were summed at once
        assert read_from[-1] == 0


def test_another_history_is_summed_again(session):
    r = factories.signed_project()
    money_by_month(Filters())
    key, (last_id, seq, _hash, sums) = next(iter(figures._MONEY.items()))
    # As if the remembered sums came from a database whose chain has another event at
    # that sequence number (a rolled-back test, a restored backup): not used.
    figures._MONEY[key] = (last_id, seq, "0" * 64, {("DISBURSE", None, "1999-01"): 1})
    again = money_by_month(Filters())
    assert "1999-01" not in again["months"] and again == _fresh(Filters())
    assert again["totals"]["committed"] == r.project.amount_fen
