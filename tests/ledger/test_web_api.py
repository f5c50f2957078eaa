"""Finance's pages, the CSV download, and the auditors' API over the ledger."""

from __future__ import annotations

import csv
import io

import pytest

from app.accounts.operations import create_api_token
from app.audit.models import AuditEvent
from app.ledger import operations as ledger
from app.ledger.models import LedgerTransfer
from tests import factories
from tests.conftest import login, post
from tests.ledger import assert_invariants, balance, key


@pytest.fixture
def seeded(app, session):
    """Fund 21 with call 210 and grant 2100 moved through a tranche; returns a finance user."""
    actor = factories.user("finance")
    with app.test_request_context():
        ledger.appropriate(21, 10_000, actor=actor, key=key())
        ledger.reserve(21, 210, 6_000, actor=actor, key=key())
        ledger.commit(210, 2100, 5_000, actor=actor, key=key())
        ledger.release(2100, 2_000, actor=actor, key=key())
        ledger.appropriate(22, 700, actor=actor, key=key())
    return actor


def _token(role: str = "auditor") -> str:
    user = factories.user(role)
    _, plain = create_api_token(user, actor=None)
    return plain


def _get(client, path, token):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_finance_appropriates_through_the_form(client):
    finance = factories.user("finance")
    login(client, finance)
    page = client.get("/ledger/appropriate")
    assert page.status_code == 200 and "资金拨付" in page.get_data(as_text=True)
    response = post(client, "/ledger/appropriate", {"fund_id": "31", "amount": "1,234.56"})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    assert balance("fund:31:available") == 123_456
    row = LedgerTransfer.query.filter_by(fund_id=31).one()
    event = AuditEvent.query.filter_by(entity_type="transfer", entity_id=str(row.id)).one()
    assert event.action == "ledger.appropriate" and event.actor_id == finance.id
    bad = post(client, "/ledger/appropriate", {"fund_id": "31", "amount": "1.234"})
    assert bad.status_code == 422
    assert "小数" in bad.get_data(as_text=True)
    assert balance("fund:31:available") == 123_456
    listing = client.get("/ledger/transfers?fund=31")
    assert listing.status_code == 200 and "1,234.56" in listing.get_data(as_text=True)
    assert client.get("/ledger/").status_code == 200
    assert_invariants()


def test_others_may_not_appropriate(client):
    officer = factories.user("officer")
    login(client, officer)
    assert client.get("/ledger/appropriate").status_code == 403
    assert client.get("/ledger/transfers").status_code == 200
    assert client.get("/ledger/transfers.csv").status_code == 403
    page = client.get("/ledger/").get_data(as_text=True)
    assert "/ledger/appropriate" not in page


def test_csv_download_streams_and_is_audited(client, seeded):
    login(client, seeded)
    before = AuditEvent.query.filter_by(action="export.download").count()
    response = client.get("/ledger/transfers.csv?fund=21&code=COMMIT")
    assert response.status_code == 200
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffid,from_account,to_account,amount_fen,")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["from_account"], r["to_account"], r["amount_fen"]) for r in rows] == [
        ("call:210:available", "grant:2100:committed", "5000")
    ]
    assert rows[0]["occurred_at"].endswith("Z")
    events = AuditEvent.query.filter_by(action="export.download").all()
    assert len(events) == before + 1
    assert events[-1].after["file"] == "ledger_transfers.csv"
    assert events[-1].actor_id == seeded.id


def test_bundle_files(app, session, seeded):
    from app.ledger import exports

    with app.test_request_context():
        files = {name: "".join(make()) for name, make in exports.BUNDLE_FILES.items()}
    entries = list(csv.reader(io.StringIO(files["ledger_entries.csv"].lstrip("\ufeff"))))
    assert entries[0] == ["transfer_id", "account", "debit_fen", "credit_fen"]
    assert sum(int(r[2]) for r in entries[1:]) == sum(int(r[3]) for r in entries[1:])
    trial = list(csv.reader(io.StringIO(files["trial_balance.csv"].lstrip("\ufeff"))))
    assert trial[0] == ["code", "debits_fen", "credits_fen", "balance_fen"]
    assert trial[-1][0] == "TOTAL" and trial[-1][1] == trial[-1][2] and trial[-1][3] == "0"
    codes = {r[0]: int(r[3]) for r in trial[1:-1]}
    assert codes["fund:21:available"] == 4_000 and codes["grant:2100:payable"] == 2_000
    transfers = list(csv.DictReader(io.StringIO(files["ledger_transfers.csv"].lstrip("\ufeff"))))
    assert {"id", "from_account", "to_account", "amount_fen"} <= set(transfers[0])


def test_api_requires_an_auditor_token(client):
    assert client.get("/api/v1/ledger/transfers").status_code == 401
    assert _get(client, "/api/v1/ledger/balances", "nope").status_code == 401
    assert _get(client, "/api/v1/ledger/balances", _token("finance")).status_code == 403


def test_api_transfers_and_filters(client, seeded):
    token = _token()
    body = _get(client, "/api/v1/ledger/transfers?fund=21&limit=2", token).get_json()
    assert [t["code"] for t in body["items"]] == ["APPROPRIATE", "RESERVE"]
    assert body["next"].startswith("/api/v1/ledger/transfers?") and "cursor=" in body["next"]
    rest = _get(client, body["next"], token).get_json()
    assert [t["code"] for t in rest["items"]] == ["COMMIT", "RELEASE"] and rest["next"] is None
    item = rest["items"][0]
    assert item["from_account"] == "call:210:available" and item["amount_fen"] == 5_000
    assert (item["fund_id"], item["call_id"], item["grant_id"]) == (21, 210, 2100)
    assert item["occurred_at"].endswith("Z")
    only = _get(client, "/api/v1/ledger/transfers?grant=2100&code=RELEASE", token).get_json()
    assert [t["amount_fen"] for t in only["items"]] == [2_000]
    dated = _get(client, "/api/v1/ledger/transfers?call=210&from=2000-01-01&to=2000-01-02", token)
    assert dated.get_json()["items"] == []
    for bad in ("fund=x", "code=STEAL", "from=2024-13-01", "limit=0", "limit=5000"):
        response = _get(client, f"/api/v1/ledger/transfers?{bad}", token)
        assert response.status_code == 400, bad
        assert set(response.get_json()["error"]) == {"code", "message"}


def test_api_balances(client, seeded):
    token = _token()
    body = _get(client, "/api/v1/ledger/balances?limit=1000", token).get_json()
    assert set(body) == {"items", "next", "totals"}
    assert body["totals"]["debits_fen"] == body["totals"]["credits_fen"]
    by_code = {i["code"]: i for i in body["items"]}
    assert by_code["fund:21:available"] == {
        "id": by_code["fund:21:available"]["id"],
        "code": "fund:21:available",
        "debits_fen": 6_000,
        "credits_fen": 10_000,
        "balance_fen": 4_000,
    }
    assert by_code["world:appropriation"]["balance_fen"] < 0
    first = _get(client, "/api/v1/ledger/balances?limit=1", token).get_json()
    assert len(first["items"]) == 1 and first["next"] and "totals" in first
    spec = client.get("/api/v1/openapi.json").get_json()
    assert (
        "/api/v1/ledger/balances" in spec["paths"] and "/api/v1/ledger/transfers" in spec["paths"]
    )


def test_csv_cells_are_formatted_by_the_database(app, session, seeded):
    """Times as RFC 3339 and formula-like user text neutralised, on either database."""
    from app.core import clock
    from app.ledger import exports

    with app.test_request_context():
        ledger.disburse(
            2100, 500, actor=seeded, key=key(), voucher_no="-1+2", memo='=HYPERLINK("x")'
        )
        ledger.appropriate(23, 100, actor=seeded, key=key(), memo="普通 memo, with a comma")
        text = "".join(exports.transfers_csv())
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    paid = LedgerTransfer.query.filter_by(code="DISBURSE").one()
    row = rows[str(paid.id)]
    assert row["memo"] == '\'=HYPERLINK("x")' and row["voucher_no"] == "'-1+2"
    assert row["occurred_at"] == clock.rfc3339(paid.occurred_at)
    assert row["grant_id"] == "2100" and row["reverses_id"] == ""
    plain = LedgerTransfer.query.filter_by(fund_id=23).one()
    assert rows[str(plain.id)]["memo"] == "普通 memo, with a comma"
