"""The draw page at scale: assignments paged, searchable by application or expert,
filtered by state; codes, titles and names instead of internal ids; a fixed number
of queries whatever the size of the call."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.reviews import operations as ops
from tests import factories
from tests.conftest import login, queries_of


@pytest.fixture
def small_pages(app):
    before = app.config.get("REVIEW_PAGE_SIZE")
    app.config["REVIEW_PAGE_SIZE"] = 4
    yield
    app.config["REVIEW_PAGE_SIZE"] = before


def _round(n_apps=3, n_experts=6, confirm=True):
    r = factories.review_round(n_apps=n_apps, n_experts=n_experts)
    draw = ops.run_draw(r.call, actor=r.officer, seed=7)
    r.rows = ops.confirm_draw(draw, actor=r.officer) if confirm else []
    db.session.flush()
    return r


def _task_rows(page: str) -> list[str]:
    table = page.rsplit('id="assignments"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr>")[1:] if "colspan" not in row]


def test_assignments_are_paged_with_names_and_codes(client, session, small_pages):
    r = _round()
    login(client, r.officer)
    path = f"/reviews/calls/{r.call.id}/draw"
    first = client.get(path).get_data(as_text=True)
    assert len(_task_rows(first)) == 4 and "1 / 3" in first and "共 9 条" in first
    last = client.get(f"{path}?page=3").get_data(as_text=True)
    assert len(_task_rows(last)) == 1
    seen = "".join(
        "".join(_task_rows(client.get(f"{path}?page={p}").get_data(as_text=True)))
        for p in (1, 2, 3)
    )
    for row in r.rows:
        assert row.expert.user.name in seen
    for app in r.apps:
        assert app.project_number in seen and app.title in seen
    # No internal ids: no "#<id>" cells and no bare expert ids before names.
    assert not re.search(r"<td>\d+</td>", "".join(_task_rows(first)))
    assert client.get(f"{path}?page=99").status_code == 200


def test_search_and_state_filter(client, session, small_pages):
    r = _round()
    login(client, r.officer)
    path = f"/reviews/calls/{r.call.id}/draw"
    app = r.apps[1]
    found = _task_rows(client.get(f"{path}?q={app.project_number}").get_data(as_text=True))
    assert len(found) == 3 and all(app.project_number in row for row in found)
    one = r.rows[0]
    name = one.expert.user.name
    mine = _task_rows(client.get(f"{path}?q={name}").get_data(as_text=True))
    expected = sum(1 for row in r.rows if row.expert.user.name == name)
    assert len(mine) == expected and all(name in row for row in mine)
    ops.respond(one, "accept", actor=one.expert.user, no_conflict=True, pledge=True)
    db.session.flush()
    accepted = _task_rows(client.get(f"{path}?state=accepted").get_data(as_text=True))
    assert len(accepted) == 1 and name in accepted[0]
    page = client.get(f"{path}?state=nonsense&q=nothing-matches").get_data(as_text=True)
    assert _task_rows(page) == [] and "没有符合条件的评审任务" in page


def test_pending_draw_shows_codes_titles_and_names(client, session):
    r = _round(confirm=False)
    login(client, r.officer)
    page = client.get(f"/reviews/calls/{r.call.id}/draw").get_data(as_text=True)
    pending = page.split("待确认的抽取结果", 1)[1].split("</section>", 1)[0]
    for app in r.apps:
        assert app.project_number in pending and app.title in pending
    names = [e.user.name for e in r.experts]
    assert sum(1 for n in names if n in pending) >= 3
    assert 'data-confirm="' in pending  # confirming sends invitations: asked first


def test_draw_page_queries_do_not_grow(client, session, small_pages):
    small = _round(n_apps=1, n_experts=4)
    big = _round(n_apps=6, n_experts=8)
    login(client, small.officer)
    a = queries_of(client, f"/reviews/calls/{small.call.id}/draw")
    b = queries_of(client, f"/reviews/calls/{big.call.id}/draw?page=2")
    c = queries_of(client, f"/reviews/calls/{big.call.id}/draw?q={big.apps[0].title}")
    assert a == b == c
