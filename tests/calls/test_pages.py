"""The staff and applicant pages render for a call with applications."""

from tests import factories
from tests.conftest import login


def test_staff_pages_render(client, session):
    call = factories.call("open")
    application = factories.endorsed(call)
    login(client, factories.user("officer"))
    for path in (
        "/calls",
        "/calls/manage",
        f"/calls/{call.id}",
        f"/calls/{call.id}/amend",
        "/funds",
        "/societies",
        "/applications",
        f"/applications?call={call.id}&state=endorsed",
        f"/applications/{application.id}",
        f"/calls/{call.id}/duplicates",
        f"/applications/{application.id}/revisions/1",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "形式审查" in page and "受理" in page and "查重结果" in page


def test_applicant_pages_render_and_hide_staff_tools(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    draft = factories.application(call, applicant)
    login(client, applicant)
    page = client.get(f"/applications/{draft.id}").get_data(as_text=True)
    assert "提交申报书" in page and "形式审查" not in page and "查重结果" not in page
    edit = client.get(f"/applications/{draft.id}/edit").get_data(as_text=True)
    assert 'id="budget-table"' in edit and "<script>" not in edit and "style=" not in edit
    assert client.get("/calls/manage").status_code == 403
    assert "开始填写申报书" in client.get(f"/calls/{call.id}").get_data(as_text=True)


def test_society_list_is_paged_and_searchable(client, session):
    named = [factories.org("society", name=f"浙江省分页测试学会{i:02d}") for i in range(55)]
    login(client, factories.user("officer"))
    first = client.get("/societies").get_data(as_text=True)
    shown = [o.name for o in named if o.name in first]
    assert len(shown) <= 50 and "下一页" in first
    second = client.get("/societies?page=2").get_data(as_text=True)
    assert any(o.name in second and o.name not in first for o in named)
    found = client.get("/societies?q=分页测试学会07").get_data(as_text=True)
    assert named[7].name in found and named[8].name not in found
    none = client.get("/societies?q=没有这个学会").get_data(as_text=True)
    assert "没有符合条件的单位。" in none
