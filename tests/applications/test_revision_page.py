"""The revision page: a submitted revision as readable text, compared with the one before."""

from __future__ import annotations

from app.applications import operations as apps
from tests import factories
from tests.conftest import login


def test_a_revision_reads_as_a_page_with_the_changes_marked(client, session):
    the_call = factories.call("open")
    applicant = factories.user("applicant")
    app = factories.submitted(the_call, applicant, title="旧的项目名称")
    admin = factories.society_admin_of(applicant.org)
    apps.society_return_application(app, actor=admin, reason="请修改名称")
    app.title = "新的项目名称"
    apps.submit_application(app, actor=applicant)
    login(client, applicant)
    first = client.get(f"/applications/{app.id}/revisions/1/view")
    assert first.status_code == 200 and first.mimetype == "text/html"
    text = first.get_data(as_text=True)
    assert "旧的项目名称" in text and "首次提交" in text and '"snapshot"' not in text
    assert "经费预算" in text and "元" in text
    second = client.get(f"/applications/{app.id}/revisions/2/view").get_data(as_text=True)
    assert "与第1次提交相比，1 处变更。" in second
    assert 'class="diff-old"' in second and "旧的项目名称" in second and "新的项目名称" in second
    only = client.get(f"/applications/{app.id}/revisions/2/view?changed=1").get_data(as_text=True)
    assert "新的项目名称" in only and "经费预算" not in only
    show = client.get(f"/applications/{app.id}").get_data(as_text=True)
    assert f"/applications/{app.id}/revisions/2/view" in show
    assert client.get(f"/applications/{app.id}/revisions/3/view").status_code == 404
    login(client, factories.user("applicant"))  # another society
    assert client.get(f"/applications/{app.id}/revisions/1/view").status_code == 404
