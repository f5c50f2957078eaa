"""Optimistic concurrency has no back door: saving an existing draft needs the version
the form was built from; a request without it (or with junk) is a clear 400 and
nothing is written."""

from __future__ import annotations

import pytest

from app.applications import operations as apps
from app.core.errors import DomainError
from tests import factories
from tests.conftest import csrf_token, login
from tests.security.state import actions_after, changed, last_seq, row_counts


@pytest.mark.parametrize("version", [None, "2", 2.0, True])
def test_save_draft_refuses_a_missing_or_odd_version(session, version):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    session.commit()
    before, seq = row_counts(), last_seq()
    with pytest.raises(DomainError) as exc:
        apps.save_draft(app, {"title": "没有版本号"}, actor=applicant, expected_version=version)
    assert exc.value.status == 400 and "缺少版本号" in exc.value.message
    session.rollback()
    assert app.version == 1 and app.title != "没有版本号"
    assert not changed(before, row_counts()) and actions_after(seq) == []


@pytest.mark.parametrize("version", [None, "", "abc", "1.0"])
def test_edit_form_without_a_version_is_a_400_and_saves_nothing(client, session, version):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    apps.save_draft(app, {"title": "已保存的标题"}, actor=applicant, expected_version=1)
    session.commit()
    login(client, applicant)
    data = {"csrf_token": csrf_token(client, f"/applications/{app.id}/edit"), "title": "新标题"}
    if version is not None:
        data["version"] = version
    before, seq = row_counts(), last_seq()
    response = client.post(f"/applications/{app.id}/edit", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "表单缺少版本号" in page
    assert 'value="新标题"' in page  # what was typed comes back
    session.expire_all()
    assert app.title == "已保存的标题" and app.version == 2
    assert not changed(before, row_counts()) and actions_after(seq) == []
    # With the version, the same form saves.
    data["version"] = "2"
    assert client.post(f"/applications/{app.id}/edit", data=data).status_code == 302
    session.expire_all()
    assert app.title == "新标题" and app.version == 3
