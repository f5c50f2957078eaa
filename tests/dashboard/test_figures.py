"""The dashboard's figures equal what the test data say, computed by hand."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import update

from app.accounts.models import Organisation
from app.applications.models import Application
from app.core import clock
from app.dashboard.figures import Filters, all_figures
from app.evaluation import operations as ops
from app.extensions import db
from app.ledger import operations as ledger
from tests import factories
from tests.conftest import login
from tests.evaluation.helpers import evaluating, full_sheet, lead_of


def _programme():
    """Three projects of one call: categories key_tech/outreach/outreach, cities
    金华/杭州/none; two accepted evaluations (良 and 差); money moved in May and June."""
    r, engagement, evaluations = evaluating(3)
    apps = [db.session.get(Application, p.application_id) for p in r.projects]
    for app, category in zip(apps, ("key_tech", "outreach", "outreach"), strict=True):
        db.session.execute(
            update(Application).where(Application.id == app.id).values(category=category)
        )
    for app, city in zip(apps, ("330700", "330100", None), strict=True):
        db.session.execute(
            update(Organisation)
            .where(Organisation.id == app.co_government_id)
            .values(city_code=city)
        )
    lead = lead_of(engagement)
    for evaluation, fraction in zip(evaluations[:2], ("0.85", "0.5"), strict=True):
        ops.save_sheet(evaluation, "agency", full_sheet(Decimal(fraction)), actor=lead)
        ops.submit_evaluation(evaluation, actor=lead)
        ops.accept_evaluation(evaluation, actor=r.officer)
    finance = factories.user("finance")
    a, b = (p.id for p in r.projects[:2])
    # 2026-04-30 17:00 UTC is 2026-05-01 01:00 in Shanghai: a May transfer.
    with clock.frozen(datetime(2026, 4, 30, 17, 0, tzinfo=UTC)):
        ledger.release(a, 1_000_000, actor=r.approver, key="t-rel-a")
        wrong = ledger.release(b, 500_000, actor=r.approver, key="t-rel-b")
    with clock.frozen(datetime(2026, 5, 10, 2, 0, tzinfo=UTC)):
        ledger.reverse(wrong.id, actor=r.approver, reason="金额有误。")
        ledger.disburse(a, 800_000, actor=finance, key="t-pay-a", voucher_no="V-2026-001")
    with clock.frozen(datetime(2026, 6, 15, 2, 0, tzinfo=UTC)):
        ledger.clawback_demand(a, 300_000, actor=finance, key="t-cb-a")
    with clock.frozen(datetime(2026, 6, 20, 2, 0, tzinfo=UTC)):
        ledger.clawback_received(a, r.call.fund_id, 200_000, actor=finance, key="t-cbr-a")
    # Societies registered but not taking part: two with nothing, one with a draft only.
    factories.org("society")
    factories.org("society")
    factories.application(factories.call(), complete=False)
    db.session.flush()
    return r


def test_figures_equal_the_hand_computed_values(session):
    r = _programme()
    amount = sum(a.amount_fen for a in r.awards)
    for filters in (Filters(call_id=r.call.id), Filters(year=r.call.fund.year, call_id=r.call.id)):
        f = all_figures(filters)
        categories = {row["key"]: row["count"] for row in f["by_category"]}
        assert categories == {"consulting": 0, "talent": 0, "key_tech": 1, "transfer": 0,
                              "outreach": 2}  # fmt: skip
        cities = {row["name"]: row["count"] for row in f["by_city"]}
        assert cities["金华市"] == 1 and cities["杭州市"] == 1 and cities["其他"] == 1
        assert sum(cities.values()) == 3 and len(cities) == 12
        money = f["money"]
        assert money["months"] == ["2026-03", "2026-05", "2026-06"]
        assert money["totals"] == {
            "reserved": r.call.total_budget_fen,
            "committed": amount,
            "released": 1_000_000,
            "paid": 800_000,
            "clawback_demanded": 300_000,
            "clawed_back": 200_000,
        }
        assert money["series"]["released"] == [0, 1_000_000, 0]
        assert money["series"]["committed"] == [amount, 0, 0]
        assert money["cumulative"]["paid"] == [0, 800_000, 800_000]
        assert f["grades"] == {"excellent": 0, "good": 1, "fair": 0, "poor": 1}
        evaluation_bins = {b["label"]: b["count"] for b in f["scores"]["evaluation"]}
        assert evaluation_bins == {"<60": 1, "60–69": 0, "70–79": 0, "80–89": 1, "≥90": 0}
        part = f["participation"]
        assert (part["participating"], part["registered"]) == (3, 6)
        assert part["share"] == Decimal("0.5000")
    # Another year holds none of it.
    empty = all_figures(Filters(year=1999))
    assert sum(row["count"] for row in empty["by_category"]) == 0
    assert empty["money"]["months"] == [] and empty["participation"]["participating"] == 0


def test_dashboard_page_and_export_for_staff_only(client, session):
    r = _programme()
    society = db.session.get(Organisation, r.awards[0].society_id)
    login(client, factories.user("applicant", organisation=society))  # no new society
    assert client.get("/dashboard/").status_code == 403
    staff = client.application.test_client()
    login(staff, factories.user("finance"))
    page = staff.get(f"/dashboard/?call={r.call.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html  # no inline script (CSP)
    block = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>',
                      html, re.S)  # fmt: skip
    data = json.loads(block.group(1))
    assert data["participation"]["share"] == "0.5000"
    assert [g["count"] for g in data["grades"]] == [0, 1, 0, 1]
    sheet = staff.get(f"/dashboard/export.xlsx?call={r.call.id}")
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(sheet.data))
    assert book.sheetnames[0] == "汇总" and "明细-资金进度" in book.sheetnames
    rows = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=3, values_only=True) if row[0]}
    assert rows["立项项目数"] == "3" and rows["学会参与率"] == "50.00%"
    money = list(book["明细-资金进度"].iter_rows(min_row=3, values_only=True))
    total = next(row for row in money if row[0] == "合计")
    assert total[3] == 10_000.00  # released: 1,000,000 fen = 10,000.00 元


def _revoke(project, r):
    from app.projects import operations as projects

    decision = projects.propose_decision(project, "revoke", "弄虚作假。", actor=r.officer)
    projects.decide_decision(decision, True, "", actor=r.approver)


def test_revoked_and_terminated_projects_are_not_counted_but_their_money_is(session):
    r = _programme()
    c = r.projects[2]  # outreach, no city
    finance = factories.user("finance")
    with clock.frozen(datetime(2026, 6, 1, 2, 0, tzinfo=UTC)):
        ledger.release(c.id, 400_000, actor=r.approver, key="t-rel-c")
        ledger.disburse(c.id, 400_000, actor=finance, key="t-pay-c", voucher_no="V-2026-002")
    with clock.frozen(datetime(2026, 6, 2, 2, 0, tzinfo=UTC)):
        _revoke(c, r)
    with clock.frozen(datetime(2026, 6, 25, 2, 0, tzinfo=UTC)):
        ledger.clawback_demand(c.id, 400_000, actor=finance, key="t-cb-c")
        ledger.clawback_received(c.id, r.call.fund_id, 400_000, actor=finance, key="t-cbr-c")
    assert str(c.state) == "revoked" and c.ended_at is not None
    f = all_figures(Filters(call_id=r.call.id))
    categories = {row["key"]: row["count"] for row in f["by_category"]}
    assert (categories["key_tech"], categories["outreach"]) == (1, 1)
    cities = {row["name"]: row["count"] for row in f["by_city"]}
    assert (cities["金华市"], cities["杭州市"], cities["其他"]) == (1, 1, 0)
    assert f["stopped"] == 1
    totals = f["money"]["totals"]
    # Hand-computed: a's 1,000,000 + c's 400,000 released; paid 800,000 + 400,000;
    # demanded 300,000 + 400,000; received 200,000 + 400,000.
    assert (totals["released"], totals["paid"]) == (1_400_000, 1_200_000)
    assert (totals["clawback_demanded"], totals["clawed_back"]) == (700_000, 600_000)
    # Still not counted once it moves on (clawback → closed): ended_at stays.
    from sqlalchemy import update as sql_update

    from app.projects.models import Project

    db.session.execute(sql_update(Project).where(Project.id == c.id).values(state="clawback",
                       settled_at=clock.now()))  # fmt: skip
    db.session.expire_all()
    again = all_figures(Filters(call_id=r.call.id))
    assert sum(row["count"] for row in again["by_category"]) == 2 and again["stopped"] == 1


def test_the_page_and_export_carry_the_station_figures(client, session):
    from app.stations.figures import stage_figures

    r = _programme()
    expected = stage_figures()
    login(client, r.officer)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert "学会服务站与示范基地（阶段目标）" in html
    assert 'href="/stations/dashboard"' in html
    block = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>',
                      html, re.S)  # fmt: skip
    data = json.loads(block.group(1))
    assert data["stations"]["stations"] == [c["stations"] for c in expected["by_city"]]
    assert [n["count"] for n in data["stations"]["needs"]] == [
        expected["needs"]["posted"], expected["needs"]["matched"], expected["needs"]["solved"]
    ]  # fmt: skip
    book = load_workbook(io.BytesIO(client.get("/dashboard/export.xlsx").data))
    for name in ("明细-服务站阶段目标", "明细-服务站地市", "明细-服务站年度"):
        assert name in book.sheetnames
    rows = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=3, values_only=True) if row[0]}
    assert rows["试点地区数"] == str(expected["pilot_regions"]["value"])
    assert rows["试点地区数目标"] == "3–5"
    assert rows["支持的高新园区数目标"] == "12–16"
    cities = list(book["明细-服务站地市"].iter_rows(min_row=3, values_only=True))
    assert len([c for c in cities if c[0]]) >= 11
