"""Pages: the public notice and its PDF, objections from the public, approval refusals
shown clearly, the applicant's outcome, agreements, downloads, the API."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

from app.core import clock
from app.extensions import db
from tests import factories
from tests.conftest import login, post

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["/usr/bin/pdftotext", "-", "-"], input=data, capture_output=True,
                         check=True)  # fmt: skip
    return out.stdout.decode()


def test_notice_page_is_public_and_the_pdf_names_the_projects(client, session):
    with clock.frozen(START):
        r = factories.noticed_call()
    award = r.awards[0]
    page = client.get(f"/awards/notices/{r.notice.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert award.application.title in text and award.society.name in text
    assert "<td>4.40</td>" in text  # 4,400,000 fen = 4.40 万元
    pdf = client.get(f"/awards/notices/{r.notice.id}.pdf")
    assert pdf.status_code == 200 and "attachment" in pdf.headers["Content-Disposition"]
    words = _pdf_text(pdf.data).replace(" ", "")
    assert "拟立项公示名单" in words and award.society.name in words
    assert award.application.project_number in words


def test_public_objection_form_records_and_refuses_anonymous(client, session):
    with clock.frozen(START):
        r = factories.noticed_call()
    award = r.awards[0]
    notice_id = r.notice.id
    # The notice is in 2026-03; the real clock is later: the period is over → late.
    response = post(client, f"/awards/notices/{notice_id}/objections",
                    {"award_id": award.id, "name": "张三", "contact": "138", "grounds": "不实。"},
                    follow_redirects=True)  # fmt: skip
    assert response.status_code == 200 and "不予受理" in response.get_data(as_text=True)


def test_approval_refusals_are_clear_pages_not_errors(client, session):
    r = factories.reviewed_call(1)
    both = factories.user("officer", "approver")
    from app.awards import operations as ops

    award = ops.propose_award(r.apps[0], 1_000_000, "同意。", actor=both)
    login(client, both)
    page = post(client, f"/awards/{award.id}/approve", follow_redirects=True)
    assert page.status_code == 200 and "双人复核" in page.get_data(as_text=True)
    assert award.state == "proposed"
    client = client.application.test_client()
    login(client, r.approver)
    page = client.get(f"/awards/calls/{r.call.id}")
    assert page.status_code == 200 and r.apps[0].project_number in page.get_data(as_text=True)
    post(client, f"/awards/{award.id}/approve")
    db.session.expire_all()
    assert award.state == "approved"
    again = post(client, f"/awards/{award.id}/approve", follow_redirects=True)
    assert again.status_code == 200 and "不能重复审批" in again.get_data(as_text=True)


def test_officer_proposes_publishes_and_applicant_sees_outcome(client, session):
    from app.accounts.models import User

    r = factories.reviewed_call(2)
    a, b = r.apps
    login(client, r.officer)
    post(client, f"/awards/applications/{a.id}/propose",
         {"outcome": "award", "amount": "40,000", "note": "同意。"})  # fmt: skip
    post(client, f"/awards/applications/{b.id}/propose",
         {"outcome": "not_funded", "note": "排名靠后。"})  # fmt: skip
    assert a.state == "proposed"
    from app.awards.models import Award

    award = db.session.query(Award).one()
    assert award.amount_fen == 4_000_000
    from app.awards import operations as ops

    ops.approve_award(award, actor=r.approver)
    post(client, f"/awards/calls/{r.call.id}/publish")
    assert r.call.state == "notice" and b.state == "not_funded"
    applicant = db.session.get(User, b.created_by_id)
    mine = client.application.test_client()
    login(mine, applicant)
    page = mine.get(f"/awards/applications/{b.id}/outcome").get_data(as_text=True)
    assert "排名靠后" in page and "申请复审" in page
    stranger = client.application.test_client()
    login(stranger, factories.user("applicant"))
    assert stranger.get(f"/awards/applications/{b.id}/outcome").status_code == 404


def test_agreement_pdf_and_letter_and_allocation_sheet(client, session):
    import io

    from openpyxl import load_workbook

    from app.awards.models import TaskAgreement
    from app.core.tick import run_tick

    with clock.frozen(START):
        r = factories.noticed_call(n_awards=1, n_not_funded=0)
    with clock.frozen(START + timedelta(days=6)):
        run_tick()
    agreement = db.session.query(TaskAgreement).one()
    admin = factories.society_admin_of(agreement.society)
    login(client, admin)
    pdf = client.get(f"/awards/agreements/{agreement.id}.pdf")
    words = _pdf_text(pdf.data).replace(" ", "")
    assert "项目任务书" in words and agreement.society.name in words
    letter = client.get(f"/awards/{agreement.award_id}/letter.pdf")
    assert "立项通知书" in _pdf_text(letter.data).replace(" ", "")
    staff = client.application.test_client()
    login(staff, r.officer)
    sheet = staff.get(f"/awards/calls/{r.call.id}/allocation.xlsx")
    book = load_workbook(io.BytesIO(sheet.data))
    assert book.sheetnames[:2] == ["汇总", "明细"]


def test_api_lists_awards_of_a_call(client, session):
    from app.accounts import operations as accounts

    with clock.frozen(START):
        r = factories.noticed_call()
    auditor = factories.user("auditor")
    _row, raw = accounts.create_api_token(auditor, actor=None)
    response = client.get(f"/api/v1/awards?call={r.call.id}",
                          headers={"Authorization": f"Bearer {raw}"})  # fmt: skip
    body = response.get_json()
    assert response.status_code == 200
    assert [i["id"] for i in body["items"]] == sorted(a.id for a in r.awards)
    assert body["items"][0]["state"] == "in_notice" and body["items"][0]["amount_fen"] == 4_400_000
    assert (
        client.get("/api/v1/awards", headers={"Authorization": f"Bearer {raw}"}).status_code == 400
    )
