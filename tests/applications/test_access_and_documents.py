"""Cross-organisation access, documents (PDF, xlsx) and the API."""

import io
import shutil
import subprocess

import openpyxl
import pytest
from sqlalchemy import select

from app.accounts import operations as accounts
from app.applications.exports import safe_text
from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import csrf_token, login


def _application_urls(app, application):
    """Every route of the application blueprints that takes an app_id, filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "app_id" not in rule.arguments:
            continue
        values = {"app_id": application.id, "file_id": 1, "number": 1, "action": "accept"}
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(values[name])).replace(
                f"<{name}>", str(values[name])
            )
        method = "GET" if "GET" in rule.methods else "POST"
        urls.append((method, path))
    return urls


def test_another_societys_application_is_404_on_every_url(app, client, session):
    call = factories.call("open")
    owner = factories.user("applicant")
    application = factories.submitted(call, owner)
    file_id = application.attachments[0].file_id
    intruders = [
        factories.user("applicant"),
        factories.user("society_admin"),
        factories.user("local_partner"),
    ]
    urls = _application_urls(app, application)
    assert len(urls) >= 12
    for intruder in intruders:
        login(client, intruder)
        token = csrf_token(client, "/applications")
        for method, path in urls:
            path = path.replace("/files/1", f"/files/{file_id}")
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data={"csrf_token": token, "reason": "x"})
            assert response.status_code in (403, 404), (intruder.role_names, path)
            if response.status_code == 403:  # the role lacks the permission for the route
                continue
            assert response.status_code == 404
        listing = client.get("/applications").get_data(as_text=True)
        assert application.title not in listing
        client.post("/logout", data={"csrf_token": token})


def test_reviewers_see_no_applications(client, session):
    call = factories.call("open")
    application = factories.submitted(call)
    login(client, factories.user("reviewer"))
    assert client.get(f"/applications/{application.id}").status_code == 403
    assert client.get("/applications").status_code == 403


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_carries_the_chinese_title_and_is_audited(client, session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    application = factories.submitted(call, applicant)
    login(client, applicant)
    response = client.get(f"/applications/{application.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=response.data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    compact = "".join(text.split())
    assert "永康五金产业关键技术服务站建设" in compact
    assert "项目申报书" in compact and "2026-ZL-001" in compact
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.download"))
    assert event.after["document"] == "application_pdf"


def test_xlsx_neutralises_formula_injection(client, session):
    call = factories.call("open")
    evil = factories.submitted(call, title='=HYPERLINK("http://evil","点我")')
    factories.submitted(call, title="+SUM(1,2)")
    factories.submitted(
        call, title="@cmd", chief_expert={"name": "-2+3", "title": "教授", "organisation": "\t单位"}
    )
    login(client, factories.user("officer"))
    response = client.get(f"/calls/{call.id}/exports/summary.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["汇总", "明细"]
    detail = book["明细"]
    assert detail.freeze_panes == "A3"
    assert "金额单位：元" in detail["A1"].value
    titles = [detail.cell(row=r, column=2).value for r in range(3, 6)]
    assert '\'=HYPERLINK("http://evil","点我")' in titles
    assert "'+SUM(1,2)" in titles and "'@cmd" in titles
    assert "'-2+3" in [detail.cell(row=r, column=5).value for r in range(3, 6)]
    for row in detail.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
    labels = [detail.cell(row=r, column=1).value for r in range(1, detail.max_row + 1)]
    for label in ("制表单位：", "制表人：", "审核人：", "日期："):
        assert label in labels
    assert book["汇总"].cell(row=8, column=2).value == 3  # 合计 row: three applications
    assert safe_text("\r x") == "'\r x" and safe_text("普通") == "普通"
    assert evil.title.startswith("=")
    eligibility = client.get(f"/calls/{call.id}/exports/eligibility.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(eligibility.data)).sheetnames == ["汇总", "明细"]
    downloads = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.download")
    ).all()
    assert [e.after["document"] for e in downloads] == ["summary_xlsx", "eligibility_xlsx"]


def test_api_calls_and_applications_shapes(client, session):
    call = factories.call("open")
    application = factories.submitted(call)
    factories.application(call)  # a draft: listed too, without a number
    auditor = factories.user("auditor")
    _row, token = accounts.create_api_token(auditor, actor=auditor)
    headers = {"Authorization": f"Bearer {token}"}
    calls = client.get("/api/v1/calls", headers=headers).get_json()
    assert calls["next"] is None
    item = next(i for i in calls["items"] if i["id"] == call.id)
    assert item["state"] == "open" and item["total_budget_fen"] == 50_000_000
    assert item["opens_at"].endswith("Z")
    response = client.get(f"/api/v1/applications?call={call.id}&limit=1", headers=headers)
    page = response.get_json()
    assert set(page) == {"items", "next"} and page["next"].startswith("/api/v1/applications?")
    first = page["items"][0]
    assert first == {
        "id": application.id,
        "call_id": call.id,
        "state": "submitted",
        "project_number": "2026-ZL-001",
        "society_id": application.society_id,
        "category": "key_tech",
        "requested_fen": 4_400_000,
        "matching_fen": 3_000_000,
        "submitted_at": first["submitted_at"],
    }
    assert first["submitted_at"].endswith("Z") and "T" in first["submitted_at"]
    rest = client.get(page["next"], headers=headers).get_json()
    assert rest["items"][0]["project_number"] is None and rest["next"] is None
    missing = client.get("/api/v1/applications", headers=headers)
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "bad_request"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/calls" in spec["paths"] and "/api/v1/applications" in spec["paths"]
