"""The download centre's filters by name (issue 11): funds and societies picked from a
list, a project by its number (2027-ZL-001); the numeric ids still work (API, CLI)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import downloads
from app.audit.models import AuditEvent
from app.core.errors import ValidationFailed
from app.extensions import db
from tests import factories
from tests.conftest import login


def test_project_number_resolves_to_the_project_id(app, session):
    r = factories.signed_project()
    number = r.project.application.project_number
    assert number and not number.isdigit()
    assert downloads.parse_filters({"project": number}).project == r.project.id
    assert downloads.parse_filters({"project": f" {number.lower()} "}).project == r.project.id
    assert downloads.parse_filters({"project": str(r.project.id)}).project == r.project.id
    with pytest.raises(ValidationFailed, match="项目编号 2099-XX-999 不存在"):
        downloads.parse_filters({"project": "2099-XX-999"})
    with pytest.raises(ValidationFailed, match="不存在"):
        downloads.parse_filters({"project": "<script>"})


def test_page_offers_funds_and_societies_by_name_and_downloads_by_number(client, session):
    r = factories.signed_project()
    society = r.project.application.society
    fund_name = db.session.execute(
        select(db.text("name")).select_from(db.text("fund"))
    ).scalar_one()
    auditor = factories.user("auditor")
    db.session.commit()
    login(client, auditor)
    page = client.get("/audit/downloads").get_data(as_text=True)
    assert '<select class="form-select" id="reg-fund" name="fund">' in page
    assert f">{society.name}</option>" in page and f">{fund_name}</option>" in page
    assert "2027-ZL-001" in page  # the project field's hint
    number = r.project.application.project_number
    response = client.get(f"/audit/downloads/register.csv?project={number}&society={society.id}")
    assert response.status_code == 200
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.download")
    ).one()
    assert event.after["filters"]["project"] == r.project.id
    response = client.get("/audit/downloads/register.csv?project=2099-XX-999")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "项目编号 2099-XX-999 不存在" in page
