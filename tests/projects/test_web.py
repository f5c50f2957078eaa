"""Pages, access, downloads, the API, reminders and the tick."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.core.models import OutboxMessage
from app.extensions import db
from app.projects import exports
from app.projects import operations as ops
from app.projects.indicators import (
    budget_execution_rate,
    funds_in_place_rate,
    on_time_milestone_rate,
    target_achievement_rate,
)
from tests import factories
from tests.conftest import login, post
from tests.projects.helpers import at, events, project, report_milestone


def test_other_society_gets_404_and_own_society_sees_its_project(client):
    r = project()
    p = r.project
    with at(2026, 5, 1):
        report = ops.open_report(p, p.milestones[1], actor=r.applicant)
    db.session.flush()
    stranger = factories.user("applicant")
    login(client, stranger)
    assert client.get(f"/projects/{p.id}").status_code == 404
    assert client.get(f"/projects/reports/{report.id}").status_code == 404
    assert post(client, f"/projects/{p.id}/changes", {"kind": "minor"}).status_code == 404
    client.get("/logout")
    login(client, r.applicant)
    page = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "执行中" in page and "填写报告" in page


def test_expenditure_warning_and_refusal_shown_on_the_page(client):
    r = project()
    p = r.project
    with at(2026, 5, 1):
        report = ops.open_report(p, p.milestones[1], actor=r.applicant)
    db.session.flush()
    login(client, r.applicant)
    url = f"/projects/reports/{report.id}/expenditure"
    base = {"line_key": "travel", "source": "fund", "spent_on": "2026-04-01", "payee": "某酒店"}
    page = post(
        client, url, {**base, "amount": "9000", "voucher_no": "W-1"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "执行率已达 90%" in page
    page = post(
        client, url, {**base, "amount": "2000", "voucher_no": "W-2"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "超过批准预算" in page
    page = post(
        client, url, {**base, "amount": "1", "voucher_no": "W-1"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "不能重复报销" in page


def test_release_button_hidden_and_refusal_reason_shown(client):
    r = project()
    p = r.project
    login(client, r.approver)
    page = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "节点“" in page and "尚未审核通过" in page  # tranche 2's reason
    response = post(client, f"/projects/tranches/{p.tranches[1].id}/release", follow_redirects=True)
    assert "拨付条件不满足" in response.get_data(as_text=True)
    assert p.tranches[1].state == "planned"


def test_finance_exports_open_in_openpyxl_and_are_audited(client):
    r = project()
    p = r.project
    with at(2026, 3, 10):
        ops.release_tranche(p.tranches[0], actor=r.approver)
        ops.pay_tranche(
            p.tranches[0],
            p.tranches[0].amount_fen,
            "=HYPERLINK(1)",
            date(2026, 3, 10),
            actor=r.finance,
        )
    login(client, r.finance)
    for kind, name in exports.SHEETS.items():
        response = client.get(f"/projects/exports/{kind}.xlsx")
        assert response.status_code == 200, kind
        book = load_workbook(io.BytesIO(response.data))
        assert book.sheetnames[0] == "汇总" and len(book.sheetnames) >= 2
        assert book["汇总"]["A1"].value == f"{name}（单位：元）"
    book = load_workbook(io.BytesIO(client.get("/projects/exports/disbursements.xlsx").data))
    vouchers = [row[-1] for row in book["明细"].iter_rows(min_row=3, values_only=True)]
    assert "'=HYPERLINK(1)" in vouchers
    assert len(events("export.download")) == len(exports.SHEETS) + 1
    client.get("/logout")
    login(client, r.applicant)
    assert client.get("/projects/exports/disbursements.xlsx").status_code == 403


def test_api_lists_projects_and_milestones(client):
    from app.accounts import operations as accounts

    r = project()
    auditor = factories.user("auditor")
    _row, raw = accounts.create_api_token(auditor, actor=None)
    headers = {"Authorization": f"Bearer {raw}"}
    data = client.get(f"/api/v1/projects?call={r.project.call_id}", headers=headers).get_json()
    assert [i["id"] for i in data["items"]] == [r.project.id]
    assert data["items"][0]["state"] == "in_progress"
    data = client.get(f"/api/v1/milestones?project={r.project.id}", headers=headers).get_json()
    assert [i["seq"] for i in data["items"]] == [0, 1, 2]
    assert data["items"][0]["tranche_amount_fen"] == r.project.tranches[0].amount_fen
    assert client.get("/api/v1/milestones", headers=headers).status_code == 400


def test_reminders_once_per_day_and_tick_flags_overdue(session):
    r = project()
    p = r.project

    def count():
        db.session.flush()
        return db.session.scalar(select(func.count(OutboxMessage.id)))

    with at(2027, 6, 20):
        assert ops.move_milestones() == 1 and p.milestones[1].state == "due"
        before = count()
        queued = ops.send_reminders()
        assert queued >= 2 and count() == before + queued  # applicant and society admin
        assert ops.send_reminders() == 0 and count() == before + queued
    with at(2027, 7, 1):
        ops.move_milestones()
        assert p.milestones[1].overdue_at is not None
        assert ops.move_milestones() == 0  # idempotent
        assert ops.send_reminders() >= 3  # a new day; the officer digest too
        assert ops.send_reminders() == 0


def test_indicators(session):
    r = project(matching_fen=3_000_000)
    p = r.project
    assert budget_execution_rate(p) == 0
    assert funds_in_place_rate(p) == 0
    assert on_time_milestone_rate(p) is None and target_achievement_rate(p) is None
    with at(2026, 4, 1):
        ops.record_matching_receipt(p, "15000", date(2026, 4, 1), "PT-1", actor=r.partner)
        spend = [
            {
                "line_key": "travel",
                "source": "fund",
                "amount": "4400",
                "voucher_no": "V-I",
                "payee": "某酒店",
            }
        ]
        report_milestone(r, 1, spend)
    assert funds_in_place_rate(p) == Decimal("0.5")
    assert budget_execution_rate(p) == Decimal("0.1")
    # Targets 3 / 20 / 90 with actual 2 each: (2/3 + 2/20 + 2/90) / 3
    assert target_achievement_rate(p) == Decimal("0.2630")
    with at(2027, 7, 1):
        assert on_time_milestone_rate(p) == 1  # accepted 2026-04-01, due 2027-06-30
    with at(2028, 1, 2):
        assert on_time_milestone_rate(p) == Decimal("0.5")
