"""The expert pool and the experts of a round at scale: one page of
``REVIEW_PAGE_SIZE`` experts at a time, the same matches as before paging, totals
counted over every page, a fixed number of queries whatever the size; the review
calls list counts its sheets in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.calls import operations as calls
from app.core import clock
from app.core.money import format_yuan
from app.extensions import db
from app.reviews import operations as ops
from app.reviews.operations.pool import page_experts
from tests import factories
from tests.conftest import login, post, queries_of

SCORES = {
    k: "8" for k in ("need", "service_plan", "expert_team", "co_building", "outcomes", "budget")
}


@pytest.fixture
def small_pages(app):
    before = app.config.get("REVIEW_PAGE_SIZE")
    app.config["REVIEW_PAGE_SIZE"] = 2
    yield
    app.config["REVIEW_PAGE_SIZE"] = before


def _body(page: str) -> str:
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def _rows(page: str) -> list[str]:
    return [row for row in _body(page).split("<tr>")[1:] if "colspan" not in row]


def _submitted_round(n_apps=2, n_experts=5):
    """A call in review with every drawn sheet submitted (as tests/test_query_counts.py)."""
    r = factories.review_round(n_apps=n_apps, n_experts=n_experts, k=3)
    with clock.frozen(clock.as_utc(r.call.closes_at) + timedelta(seconds=1)):
        calls.open_and_close_calls()
    calls.advance_call(r.call, "start_review", actor=r.officer)
    draw = ops.run_draw(r.call, actor=r.officer, seed=5)
    r.rows = ops.confirm_draw(draw, actor=r.officer)
    for row in r.rows:
        user = row.expert.user
        ops.respond(row, "accept", actor=user, no_conflict=True, pledge=True)
        ops.submit_sheet(row, {"scores": SCORES, "overall_comment": "可行。"}, actor=user)
    db.session.flush()
    return r


def test_pool_pages_match_the_search(client, session, small_pages):
    officer = factories.user("officer")
    for _ in range(5):
        factories.expert(officer)
    farm = factories.expert(officer, fields=("outreach",), keywords=["数字农业"])
    # A non-ASCII field code, a full-width keyword (matched after NFKC and case folding).
    chip = factories.expert(
        officer, fields=("科普", "key_tech_x"), keywords=["ＡＩ芯片"], title="研究员"
    )
    db.session.flush()
    searches = (
        ("", ""), ("数字", ""), ("", "outreach"), ("", "key_tech"), ("无此人", ""),
        ("ai芯", ""), ("", "科普"), ("研究员 ai", "科普"), ("ai", "key_tech"), ("", "key"),
    )  # fmt: skip
    for q, field in searches:
        wanted = [e.id for e in ops.search_experts(q, field)]
        got = [e.id for p in (1, 2, 3, 4, 5) for e in page_experts(q, field, page=p, per_page=2)[0]]
        assert got == wanted and page_experts(q, field, per_page=2)[1] == len(wanted), (q, field)
    login(client, officer)
    first = client.get("/reviews/experts").get_data(as_text=True)
    total = len(ops.search_experts())
    assert len(_rows(first)) == 2 and f"共 {total} 条" in first
    assert f"专家库共 {total} 人" in first
    last_page = (total + 1) // 2
    tail = client.get(f"/reviews/experts?page={last_page}").get_data(as_text=True)
    assert chip.user.name in tail
    found = client.get("/reviews/experts?q=数字").get_data(as_text=True)
    assert len(_rows(found)) == 1 and farm.user.name in found
    many = client.get("/reviews/experts?field=key_tech").get_data(as_text=True)
    assert "field=key_tech" in many and "page=2" in many  # the filter stays in the links


def test_round_experts_are_paged_with_totals_of_the_round(client, session, small_pages):
    r = _submitted_round()
    login(client, r.officer)
    path = f"/reviews/calls/{r.call.id}/experts"
    fees = ops.fee_rows(r.call)  # the unpaged rows, as the fee sheet has them
    first = client.get(path).get_data(as_text=True)
    assert len(_rows(first)) == 2 and f"共 {len(fees)} 条" in first
    total_fen = sum(f.total_fen for f in fees)
    summary = f"本轮专家 {len(fees)} 人，完成评审 {len(r.rows)} 份"
    summary += f"，咨询费合计 {format_yuan(total_fen)} 元"
    assert summary in first
    pages = (len(fees) + 1) // 2
    seen = "".join(
        _body(client.get(f"{path}?page={p}").get_data(as_text=True)) for p in range(1, pages + 1)
    )
    for f in fees:
        assert f">{f.expert.id} {f.expert.user.name}<" in seen
        assert format_yuan(f.total_fen) in seen
    one = fees[-1].expert
    found = client.get(f"{path}?q={one.user.name}").get_data(as_text=True)
    assert len(_rows(found)) == 1 and one.user.name in found
    # Rating from page 2 comes back to page 2.
    rating = {"expert_id": fees[2].expert.id, "timeliness": 90, "quality": 80, "score": 85}
    response = post(client, f"{path}?page=2", rating)
    assert response.status_code == 302 and "page=2" in response.headers["Location"]
    assert "85" in "".join(_rows(client.get(f"{path}?page=2").get_data(as_text=True)))


def test_expert_pages_queries_do_not_grow(client, session, small_pages):
    small = _submitted_round(n_apps=1, n_experts=3)
    big = _submitted_round(n_apps=4, n_experts=8)
    login(client, small.officer)
    a = queries_of(client, f"/reviews/calls/{small.call.id}/experts")
    b = queries_of(client, f"/reviews/calls/{big.call.id}/experts?page=2")
    assert a == b
    name = big.experts[0].user.name
    c = queries_of(client, "/reviews/experts")
    d = queries_of(client, "/reviews/experts?page=3")
    e = queries_of(client, f"/reviews/experts?q={name}&field=key_tech&page=1")
    assert c == d == e


def test_review_calls_list_counts_by_the_database(client, session):
    r = _submitted_round(n_apps=2, n_experts=5)
    waiting = factories.review_round(n_apps=1, n_experts=0)  # a call with no draw yet
    login(client, r.officer)
    page = client.get("/reviews/calls").get_data(as_text=True)
    n = len(r.rows)
    row = page.split(f"<td>{r.call.id}</td>", 1)[1].split("</tr>", 1)[0]
    assert f"<td>{n} / {n}</td>" in row
    row = page.split(f"<td>{waiting.call.id}</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>0 / 0</td>" in row
