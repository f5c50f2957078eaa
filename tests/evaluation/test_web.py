"""Pages: who may see an evaluation (404 for evaluators not engaged), the sheet form, the
report PDF in Chinese, the API."""

from __future__ import annotations

import subprocess
from decimal import Decimal

from app.evaluation import operations as ops
from tests import factories
from tests.conftest import csrf_token, login, post
from tests.evaluation.helpers import evaluating, full_sheet, lead_of, other_of, society_admin


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True,
                         check=True)  # fmt: skip
    return out.stdout.decode()


def test_an_evaluator_not_engaged_gets_404(client, session):
    r = factories.evaluation_projects(1)
    engagement = factories.engagement(r.projects, officer=r.officer)
    evaluation = engagement.evaluations[0]
    outsider = factories.user("evaluator")
    login(client, outsider)
    assert client.get(f"/evaluations/{evaluation.id}").status_code == 404
    assert client.get(f"/evaluations/engagements/{engagement.id}").status_code == 404
    assert client.get(f"/evaluations/{evaluation.id}/report.pdf").status_code == 404
    listing = client.get("/evaluations/").get_data(as_text=True)
    assert f'/evaluations/{evaluation.id}"' not in listing


def test_an_engaged_evaluator_declares_before_seeing_the_project(client, session):
    r = factories.evaluation_projects(1)
    engagement = factories.engagement(r.projects, officer=r.officer)
    evaluation = engagement.evaluations[0]
    lead = lead_of(engagement)
    login(client, lead)
    first = client.get(f"/evaluations/{evaluation.id}")
    assert first.status_code == 302 and f"/engagements/{engagement.id}" in first.location
    page = client.get(f"/evaluations/engagements/{engagement.id}").get_data(as_text=True)
    assert "独立性声明" in page
    response = post(
        client,
        f"/evaluations/engagements/{engagement.id}/declare",
        {"statement": "y", "tie_org_id": "0", "tie_kind": ""},
    )
    assert response.status_code == 303
    assert engagement.member_for(lead).declared_at is not None
    assert client.get(f"/evaluations/{evaluation.id}").status_code == 200


def test_the_society_sees_its_own_project_only(client, session):
    r, _engagement, (evaluation,) = evaluating()
    other_society = factories.user("applicant")
    login(client, other_society)
    assert client.get(f"/evaluations/{evaluation.id}").status_code == 404
    own = client.application.test_client()
    login(own, society_admin(evaluation))
    page = own.get(f"/evaluations/{evaluation.id}").get_data(as_text=True)
    assert "评价中" in page and 'id="grade"' not in page  # no agency scores before acceptance


def test_sheet_form_refuses_a_score_off_the_range(client, session):
    _r, engagement, (evaluation,) = evaluating()
    lead = lead_of(engagement)
    login(client, lead)
    path = f"/evaluations/{evaluation.id}"
    response = client.post(
        f"{path}/sheet",
        data={"csrf_token": csrf_token(client, path), "score-project_basis": "7"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "评分有误" in response.get_data(as_text=True)
    assert ops.sheet_scores(evaluation, "agency")[0] == {}
    client.post(
        f"{path}/sheet",
        data={"csrf_token": csrf_token(client, path), "score-project_basis": "4.5"},
    )
    assert ops.sheet_scores(evaluation, "agency")[0] == {"project_basis": "4.5"}


def test_report_pdf_carries_the_grade_in_chinese(client, session):
    r, engagement, (evaluation,) = evaluating()
    lead, other = lead_of(engagement), other_of(engagement)
    ops.save_sheet(evaluation, "agency", full_sheet(Decimal("0.85")), actor=other)
    ops.save_notes(evaluation, "现场查看服务站运行记录。", "总体良好。", actor=lead)
    from datetime import timedelta

    from app.core import clock

    ops.add_problem(
        evaluation, "台账不完整。", "补齐。", clock.today() + timedelta(days=30), actor=lead
    )
    ops.submit_evaluation(evaluation, actor=lead)
    ops.accept_evaluation(evaluation, actor=r.officer)
    login(client, r.officer)
    pdf = client.get(f"/evaluations/{evaluation.id}/report.pdf")
    assert pdf.status_code == 200 and "attachment" in pdf.headers["Content-Disposition"]
    words = _pdf_text(pdf.data).replace(" ", "")
    assert "绩效评价报告" in words
    assert "评价等级：良" in words
    assert evaluation.total in words and "台账不完整" in words and "预算执行率" in words
    page = client.get(f"/evaluations/{evaluation.id}").get_data(as_text=True)
    assert "已采纳" in page


def test_api_lists_evaluations_of_a_call(client, session):
    from app.accounts import operations as accounts

    r, engagement, evaluations = evaluating(2)
    lead = lead_of(engagement)
    ops.save_sheet(evaluations[0], "agency", full_sheet(Decimal("0.95")), actor=lead)
    ops.submit_evaluation(evaluations[0], actor=lead)
    ops.accept_evaluation(evaluations[0], actor=r.officer)
    auditor = factories.user("auditor")
    _row, raw = accounts.create_api_token(auditor, actor=None)
    headers = {"Authorization": f"Bearer {raw}"}
    body = client.get(f"/api/v1/evaluations?call={r.call.id}", headers=headers).get_json()
    assert [i["id"] for i in body["items"]] == sorted(e.id for e in evaluations)
    first, second = body["items"]
    assert set(first) >= {
        "id", "state", "project_id", "agency_id", "kind", "score", "grade", "submitted_at",
        "accepted_at",
    }  # fmt: skip
    assert first["state"] == "accepted" and first["grade"] == "excellent"
    assert first["score"] == evaluations[0].total and isinstance(first["score"], str)
    assert first["agency_id"] == engagement.agency_id and first["kind"] == "midterm"
    assert first["submitted_at"].endswith("Z") and first["accepted_at"].endswith("Z")
    assert second["state"] == "evaluating" and second["score"] is None
    assert second["grade"] is None and second["accepted_at"] is None
    assert body["next"] is None
    paged = client.get(f"/api/v1/evaluations?call={r.call.id}&limit=1", headers=headers)
    assert paged.get_json()["next"].startswith("/api/v1/evaluations?")
    assert client.get("/api/v1/evaluations", headers=headers).status_code == 400
    assert client.get(f"/api/v1/evaluations?call={r.call.id}").status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/evaluations" in spec["paths"]
