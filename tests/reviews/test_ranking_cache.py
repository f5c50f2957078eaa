"""The ranking page at scale: the computed ranking is cached on the round's scores
(a reopen or a new submission recomputes it), the table is paged, and the page
explains the aggregation method and the reliability in words."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.reviews import operations as ops
from app.reviews.operations import ranking as ranking_ops
from tests import factories
from tests.conftest import login

KEYS = ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")


def _sheet(value):
    return {"scores": {k: value for k in KEYS}, "overall_comment": "可行。"}


def _round(n_apps=3):
    r = factories.review_round(n_apps=n_apps, n_experts=6)
    r.rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=4), actor=r.officer)
    for i, row in enumerate(r.rows):
        user = row.expert.user
        ops.respond(row, "accept", actor=user, no_conflict=True, pledge=True)
        ops.submit_sheet(row, _sheet(str(5 + i % 5)), actor=user)
    db.session.flush()
    return r


def test_ranking_is_computed_once_per_state_of_the_scores(session, monkeypatch):
    r = _round()
    calls = []
    real = ranking_ops._compute_round
    monkeypatch.setattr(
        ranking_ops, "_compute_round", lambda call: calls.append(call.id) or real(call)
    )
    first = ops.rank_call(r.call)
    again = ops.rank_call(r.call)
    assert len(calls) == 1
    assert [x.ranked for x in first.rows] == [x.ranked for x in again.rows]
    # A reopen takes a sheet out of the round: recomputed, and it shows.
    row = r.rows[0]
    ops.reopen_sheet(row, actor=r.officer, reason="评语过简。")
    db.session.flush()
    reopened = ops.rank_call(r.call)
    assert len(calls) == 2 and reopened.reviews == first.reviews - 1
    # Resubmitted with other scores: recomputed again, with the new total.
    ops.submit_sheet(row, _sheet("10"), actor=row.expert.user)
    db.session.flush()
    resubmitted = ops.rank_call(r.call)
    assert len(calls) == 3 and resubmitted.reviews == first.reviews
    totals = {ref.id: t for x in resubmitted.rows for ref, t in x.totals if ref.id == row.id}
    assert totals[row.id] == 100


@pytest.fixture
def small_pages(app):
    before = app.config.get("REVIEW_PAGE_SIZE")
    app.config["REVIEW_PAGE_SIZE"] = 2
    yield
    app.config["REVIEW_PAGE_SIZE"] = before


def test_ranking_page_is_paged_and_explained(client, session, small_pages):
    r = _round()
    login(client, r.officer)
    path = f"/reviews/calls/{r.call.id}/ranking"
    page = client.get(path).get_data(as_text=True)
    assert "截尾平均" in page and "trimmed_mean" not in page
    assert "评审信度" in page and "一致性" in page and "越接近 1 越一致" in page
    assert "1 / 2" in page and "共 3 条" in page
    numbers = [a.project_number for a in r.apps]
    assert sum(1 for n in numbers if f"<td>{n}</td>" in page) == 2
    rest = client.get(f"{path}?page=2").get_data(as_text=True)
    assert sum(1 for n in numbers if f"<td>{n}</td>" in rest) == 1
    # Leniency lists the experts by name.
    for row in r.rows[:3]:
        assert row.expert.user.name in page


def test_whole_ranking_on_one_page(client, session, small_pages):
    r = _round()
    login(client, r.officer)
    path = f"/reviews/calls/{r.call.id}/ranking"
    paged = client.get(path).get_data(as_text=True)
    assert "在一页中显示全部 3 条" in paged
    page = client.get(f"{path}?all=1&page=2").get_data(as_text=True)
    numbers = [a.project_number for a in r.apps]
    assert all(f"<td>{n}</td>" in page for n in numbers)
    assert "分页显示" in page and "1 / 2" not in page


def test_reliability_verdicts():
    from decimal import Decimal

    from app.reviews.views.ranking import reliability_verdict

    assert "无法计算" in reliability_verdict(None)
    assert "良好" in reliability_verdict(Decimal("0.8"))
    assert "中等" in reliability_verdict(Decimal("0.6"))
    assert "较差" in reliability_verdict(Decimal("0.2"))
