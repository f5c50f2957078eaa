"""The decision page at scale: one page of ``REVIEW_PAGE_SIZE`` applications at a
time, searchable and filtered by what is left to do; the call's totals (committed
money, proposals waiting for approval, decisions left) count every page; a form
posted from a page comes back to that page; a fixed number of queries."""

from __future__ import annotations

import re

import pytest

from app.awards import operations as ops
from app.core.money import format_yuan
from app.extensions import db
from tests import factories
from tests.conftest import login, post, queries_of


@pytest.fixture
def small_pages(app):
    before = app.config.get("REVIEW_PAGE_SIZE")
    app.config["REVIEW_PAGE_SIZE"] = 2
    yield
    app.config["REVIEW_PAGE_SIZE"] = before


def _rows(page: str) -> list[str]:
    table = page.split('id="decisions"', 1)[1]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr>")[1:] if "colspan" not in row]


def _numbers(page: str, apps) -> list[str]:
    rows = "".join(_rows(page))
    return [a.project_number for a in apps if a.project_number in rows]


def test_rows_are_paged_and_totals_count_every_page(client, session, small_pages):
    r = factories.reviewed_call(5)
    last = r.apps[-1]  # no ranking: by id, so on the last page
    award = ops.propose_award(last, 1_000_000, "同意。", actor=r.officer)
    ops.mark_not_funded(r.apps[-2], "排名靠后。", actor=r.officer)
    db.session.flush()
    login(client, r.approver)
    path = f"/awards/calls/{r.call.id}"
    first = client.get(path).get_data(as_text=True)
    assert len(_rows(first)) == 2 and "1 / 3" in first and "共 5 条" in first
    pages = [client.get(f"{path}?page={p}").get_data(as_text=True) for p in (1, 2, 3)]
    seen = [n for page in pages for n in _numbers(page, r.apps)]
    assert sorted(seen) == sorted(a.project_number for a in r.apps)  # each once
    summary = first.split('id="decision-summary"', 1)[1].split("</p>", 1)[0]
    assert "拟立项待审批 1 项" in summary and format_yuan(1_000_000) in summary
    assert "待决定 3 项" in summary and "未立项 1 项" in summary
    # The approver finds the proposal to approve without paging through the call.
    proposed = client.get(f"{path}?show=proposed").get_data(as_text=True)
    assert _numbers(proposed, r.apps) == [last.project_number]
    assert f"/awards/{award.id}/approve" in proposed
    ops.approve_award(award, actor=r.approver)
    db.session.flush()
    first = client.get(path).get_data(as_text=True)
    assert f"已占用 {format_yuan(1_000_000)} 元" in first  # committed, though on page 3
    assert _numbers(client.get(f"{path}?show=awarded").get_data(as_text=True), r.apps) == [
        last.project_number
    ]
    assert client.get(f"{path}?page=99&show=nonsense").status_code == 200


def test_search_filters_and_forms_come_back_to_their_page(client, session, small_pages):
    r = factories.reviewed_call(5)
    login(client, r.officer)
    path = f"/awards/calls/{r.call.id}"
    one = r.apps[3]
    found = client.get(f"{path}?q={one.project_number}").get_data(as_text=True)
    assert _numbers(found, r.apps) == [one.project_number]
    assert len(_numbers(client.get(f"{path}?show=todo").get_data(as_text=True), r.apps)) == 2
    # The propose form of a row on page 2 carries the page and comes back to it.
    page2 = client.get(f"{path}?page=2&show=todo").get_data(as_text=True)
    action = re.search(rf'action="([^"]*/applications/{one.id}/propose[^"]*)"', page2)
    assert action and "page=2" in action.group(1) and "show=todo" in action.group(1)
    response = post(client, action.group(1).replace("&amp;", "&"),
                    {"outcome": "not_funded", "note": "排名靠后。"})  # fmt: skip
    assert response.status_code == 302
    assert "page=2" in response.headers["Location"] and "show=todo" in response.headers["Location"]
    todo = client.get(f"{path}?show=todo").get_data(as_text=True)
    assert one.project_number not in "".join(_rows(todo))
    assert "待决定 4 项" in todo
    empty = client.get(f"{path}?q=no-such-project").get_data(as_text=True)
    assert _rows(empty) == [] and "没有符合条件的申报书" in empty


def test_decision_page_queries_do_not_grow(client, session, small_pages):
    small = factories.reviewed_call(1)
    big = factories.reviewed_call(6)
    for row in big.apps[:4]:
        ops.propose_award(row, 500_000, "同意。", actor=big.officer)
    ops.propose_award(small.apps[0], 500_000, "同意。", actor=small.officer)
    db.session.flush()
    login(client, small.approver)
    a = queries_of(client, f"/awards/calls/{small.call.id}")
    b = queries_of(client, f"/awards/calls/{big.call.id}?page=2")
    c = queries_of(client, f"/awards/calls/{big.call.id}?show=proposed")
    assert a == b == c
