"""The applications list: a call's applications newest first, a page at a time, with
the count of all of them; filtered by state; an applicant sees only their society's."""

from __future__ import annotations

import re

from app.applications import operations as apps
from tests import factories
from tests.conftest import login


def _titles(page: str) -> list[str]:
    return re.findall(r'<a href="/applications/\d+">([^<]+)</a>', page)


def _drafts(call, applicant, titles):
    rows = []
    for title in titles:
        row = apps.create_application(call, actor=applicant)
        apps.save_draft(row, {"title": title}, actor=applicant, expected_version=row.version)
        rows.append(row)
    return rows


def test_pages_of_a_call_newest_first_with_the_total(client, session):
    call = factories.call("open")
    other_call = factories.call("open")
    first = factories.user("applicant")
    second = factories.user("applicant")
    _drafts(call, first, [f"甲学会申报{i}" for i in range(4)])
    _drafts(call, second, [f"乙学会申报{i}" for i in range(3)])
    _drafts(other_call, first, ["另一批次的申报"])
    login(client, factories.user("officer"))

    pages = [
        client.get(f"/applications?call={call.id}&size=3&page={n}").get_data(as_text=True)
        for n in (1, 2, 3)
    ]
    assert [_titles(p) for p in pages] == [
        ["乙学会申报2", "乙学会申报1", "乙学会申报0"],
        ["甲学会申报3", "甲学会申报2", "甲学会申报1"],
        ["甲学会申报0"],
    ]
    assert all("共 7 条" in p for p in pages)
    assert second.org.name in pages[0] and first.org.name in pages[1]
    assert "2 / 3" in pages[1]
    past_the_end = client.get(f"/applications?call={call.id}&size=3&page=9")
    assert _titles(past_the_end.get_data(as_text=True)) == []


def test_a_state_filter_and_an_applicants_own_society(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    submitted = factories.submitted(call, applicant, title="已提交的申报")
    _drafts(call, applicant, ["仍是草稿"])
    _drafts(call, factories.user("applicant"), ["别的学会的草稿"])

    login(client, factories.user("officer"))
    page = client.get(f"/applications?call={call.id}&state=submitted").get_data(as_text=True)
    assert _titles(page) == [submitted.title] and "共 1 条" in page

    client.post("/logout")
    login(client, applicant)
    page = client.get(f"/applications?call={call.id}").get_data(as_text=True)
    assert sorted(_titles(page)) == sorted(["已提交的申报", "仍是草稿"])
    assert "别的学会的草稿" not in page and "共 2 条" in page
