"""The expert's own PDFs: 评分表 (the submitted sheet) and 回避及保密承诺书."""

from __future__ import annotations

import re
import subprocess

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.reviews import operations as ops
from tests import factories
from tests.conftest import login

SHEET = {
    "scores": {
        "need": "8",
        "service_plan": "7",
        "expert_team": "9",
        "co_building": "6",
        "outcomes": "7.5",
        "budget": "8",
    },
    "comments": {"need": "需求明确。", "budget": "预算合理。"},
    "overall_comment": "方案可行，建议资助。",
}


def _text(data: bytes) -> str:
    out = subprocess.run(
        ["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True, check=True
    )
    return re.sub(r"\s+", "", out.stdout.decode())


def _round(hidden=False):
    r = factories.review_round(n_apps=1, n_experts=4)
    r.call.hide_applicant_identity = hidden
    r.rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=11), actor=r.officer)
    db.session.flush()
    return r


def _accept(row):
    ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
    db.session.flush()


def _downloads(row, kind):
    return [
        e
        for e in db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "export.download", AuditEvent.entity_id == str(row.id)
            )
        )
        if (e.after or {}).get("document") == kind
    ]


def test_score_sheet_pdf_shows_the_submitted_sheet(client, session):
    r = _round()
    row, app = r.rows[0], r.apps[0]
    _accept(row)
    login(client, row.expert.user)
    path = f"/reviews/assignments/{row.id}/sheet.pdf"
    assert client.get(path).status_code == 404  # not submitted yet
    ops.submit_sheet(row, SHEET, actor=row.expert.user)
    db.session.flush()
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = _text(response.data)
    for expected in (
        "专家评分表",
        app.project_number,
        app.title,
        app.society.name,
        "需求明确。",
        "预算合理。",
        "7.5",
        f"总分（百分制）：{row.total}",
        "方案可行，建议资助。",
        "评审专家（签字）",
        row.expert.user.name,
    ):
        assert expected in text, expected
    assert len(_downloads(row, "score-sheet")) == 1


def test_score_sheet_pdf_of_an_anonymous_call_hides_the_society(client, session):
    r = _round(hidden=True)
    row, app = r.rows[0], r.rows[0].application
    _accept(row)
    ops.submit_sheet(row, SHEET, actor=row.expert.user)
    db.session.flush()
    login(client, row.expert.user)
    text = _text(client.get(f"/reviews/assignments/{row.id}/sheet.pdf").data)
    assert app.project_number in text and app.society.name not in text


def test_declaration_pdf_after_accepting(client, session):
    r = _round()
    row = r.rows[0]
    login(client, row.expert.user)
    path = f"/reviews/assignments/{row.id}/declaration.pdf"
    assert client.get(path).status_code == 404  # not declared yet
    _accept(row)
    response = client.get(path)
    assert response.status_code == 200
    text = _text(response.data)
    for expected in (
        "回避及保密承诺书",
        row.application.project_number,
        "不存在亲属关系",
        "严格保密",
        "在线声明无利益冲突",
        row.expert.user.name,
        "承诺人（签字）",
    ):
        assert expected in text, expected
    assert len(_downloads(row, "declaration")) == 1


def test_other_experts_get_404_for_the_pdfs(client, session):
    r = _round()
    mine, other = r.rows[0], r.rows[1]
    _accept(other)
    ops.submit_sheet(other, SHEET, actor=other.expert.user)
    db.session.flush()
    login(client, mine.expert.user)
    assert client.get(f"/reviews/assignments/{other.id}/sheet.pdf").status_code == 404
    assert client.get(f"/reviews/assignments/{other.id}/declaration.pdf").status_code == 404


def test_submit_button_asks_for_confirmation(client, session):
    r = _round()
    row = r.rows[0]
    _accept(row)
    login(client, row.expert.user)
    page = client.get(f"/reviews/assignments/{row.id}/sheet").get_data(as_text=True)
    assert 'value="submit" data-confirm="' in page and "不能再修改" in page
