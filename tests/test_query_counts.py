"""No N+1: every main page runs as many SQL queries on ten times the data.

Each page is requested for a small round (2 applications) and for a round ten
times bigger (20 applications, with twice the experts and ten times the reviews
and transfers) built in the same rolled-back session; the query counts must be
equal. Counts only, never timings (those live in ``bench/`` and
``docs/performance.md``).
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.awards import operations as awards
from app.calls import operations as calls
from app.core import clock
from app.extensions import db
from app.ledger import operations as ledger
from app.reviews import operations as reviews
from app.reviews.models import ReviewAssignment
from tests import factories as f
from tests.conftest import login, queries_of

SCORES = {
    k: "8" for k in ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")
}


def _round(n_apps: int, n_experts: int, officer, finance) -> SimpleNamespace:
    """An open call → n accepted applications → a confirmed draw of 3 reviewers each,
    every sheet submitted; then a grant per application with its money moved."""
    the_call = f.call(officer=officer, reviews_per_application=3, per_society_limit=1)
    rows = [f.accepted(the_call, officer=officer) for _ in range(n_apps)]
    experts = [f.expert(officer) for _ in range(n_experts)]
    with clock.frozen(clock.as_utc(the_call.closes_at) + timedelta(seconds=1)):
        calls.open_and_close_calls()
    calls.advance_call(the_call, "start_review", actor=officer)
    draw = reviews.run_draw(the_call, actor=officer, seed=11)
    assignments = reviews.confirm_draw(draw, actor=officer)
    for row in assignments:
        user = row.expert.user
        reviews.respond(row, "accept", actor=user, no_conflict=True, pledge=True)
        reviews.submit_sheet(row, {"scores": SCORES, "overall_comment": "可行。"}, actor=user)
    reviews.finish_round(the_call, actor=officer)
    # The decision page lists proposals and not-funded decisions row by row.
    for row in rows[: n_apps // 2]:
        awards.propose_award(row, 100_000, "同意。", actor=officer)
    awards.mark_not_funded(rows[-1], "排名靠后。", actor=officer)
    for row in rows:
        g = row.id
        ledger.commit(the_call.id, g, 1_000_000, actor=officer, key=f"qc:{g}:commit")
        ledger.release(g, 600_000, actor=officer, key=f"qc:{g}:release")
        ledger.disburse(g, 600_000, actor=finance, key=f"qc:{g}:pay", voucher_no=f"QC{g}")
    busiest = max(experts, key=lambda e: sum(1 for a in assignments if a.expert_id == e.id))
    applicant = db.session.get(type(officer), rows[0].created_by_id)
    return SimpleNamespace(
        call=the_call, app=rows[0], apps=rows, reviewer=busiest.user, applicant=applicant
    )


def _pages(r) -> dict[str, tuple[str, str]]:
    """page name → (who, path) for one round."""
    return {
        "call list": ("officer", "/calls"),
        "call detail": ("officer", f"/calls/{r.call.id}"),
        "application list": ("officer", f"/applications?call={r.call.id}"),
        "all applications": ("officer", "/applications"),
        "application detail": ("officer", f"/applications/{r.app.id}"),
        "applicant's applications": ("applicant", "/applications"),
        "review calls": ("officer", "/reviews/calls"),
        "draw page": ("officer", f"/reviews/calls/{r.call.id}/draw"),
        "ranking page": ("officer", f"/reviews/calls/{r.call.id}/ranking"),
        "expert pool": ("officer", "/reviews/experts"),
        "experts of the round": ("officer", f"/reviews/calls/{r.call.id}/experts"),
        "award decision": ("officer", f"/awards/calls/{r.call.id}"),
        "award decision (approver)": ("approver", f"/awards/calls/{r.call.id}"),
        "reviews list": ("reviewer", "/reviews/mine"),
        "ledger transfers": ("finance", "/ledger/transfers"),
        "trial balance": ("finance", "/ledger/"),
        "audit events": ("auditor", "/audit/events"),
    }


def _measure(app, people: dict, r) -> dict[str, int]:
    clients = {}
    counts = {}
    for name, (who, path) in _pages(r).items():
        user = (
            r.applicant if who == "applicant" else r.reviewer if who == "reviewer" else people[who]
        )
        client = clients.get(user.id)
        if client is None:
            client = clients[user.id] = app.test_client()
            login(client, user)
        counts[name] = queries_of(client, path)
    return counts


@pytest.fixture
def people(session):
    return {
        "officer": f.user("officer"),
        "finance": f.user("finance"),
        "auditor": f.user("auditor"),
        "approver": f.user("approver"),
    }


def test_query_counts_do_not_grow_with_the_data(app, session, people):
    officer, finance = people["officer"], people["finance"]
    small = _round(2, 6, officer, finance)
    session.flush()
    before = _measure(app, people, small)
    big = _round(20, 12, officer, finance)
    session.flush()
    submitted = session.scalar(
        select(func.count()).where(
            ReviewAssignment.call_id == big.call.id, ReviewAssignment.state == "submitted"
        )
    )
    assert (len(small.apps), len(big.apps), submitted) == (2, 20, 60)  # really ten times
    after = _measure(app, people, big)
    grown = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not grown, f"query counts grew with the data (small, 10x): {grown}"
