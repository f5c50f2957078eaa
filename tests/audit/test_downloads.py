"""Auditors' and finance's downloads: permissions, audit events, sheet conventions."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.audit.bundle import JOB_KIND
from app.audit.models import AuditEvent
from app.core import jobs
from app.core.models import Job
from tests import factories
from tests.audit.test_bundle import INJECTION, make_ledger
from tests.conftest import csrf_token, login


@pytest.fixture
def people(app, session):
    with app.test_request_context():
        finance = factories.user("finance")
        make_ledger(finance)
        return {
            "finance": finance,
            "auditor": factories.user("auditor"),
            "auditor2": factories.user("auditor"),
            "audit_admin": factories.user("audit_admin"),
            "applicant": factories.user("applicant"),
        }


def _downloads(session) -> list[AuditEvent]:
    return session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.download").order_by(AuditEvent.seq)
    ).all()


def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_applicant_gets_403_and_no_menu_entry(client, people):
    login(client, people["applicant"])
    assert client.get("/audit/downloads").status_code == 403
    assert client.get("/audit/downloads/register.csv").status_code == 403
    assert "/audit/downloads" not in client.get("/").get_data(as_text=True)


def test_finance_downloads_the_ledger_but_not_the_trail(client, session, people):
    login(client, people["finance"])
    page = client.get("/audit/downloads")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "register.xlsx" in html and "trail.csv" not in html and "生成审计包" not in html
    assert client.get("/audit/downloads/trail.csv").status_code == 403
    response = client.get("/audit/downloads/register.csv?fund=1")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    (event,) = _downloads(session)
    assert event.actor_id == people["finance"].id
    assert event.after == {"kind": "register", "format": "csv", "filters": {"fund": 1}}


def test_register_csv_neutralises_formulas_and_keeps_numbers(client, session, people):
    login(client, people["auditor"])
    rows = _csv(client.get("/audit/downloads/register.csv"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["transfer_id", "occurred_at", "code"]
    assert len(body) == 6
    memo = body[-1][header.index("memo")]
    assert memo == "'" + INJECTION
    amount = body[-1][header.index("amount_yuan")]
    assert amount == "50.00" and body[-1][header.index("amount_fen")] == "5000"
    disburse = next(r for r in body if r[2] == "DISBURSE")
    assert disburse[header.index("paid_to_date_yuan")] == "2000.00"
    # Project 100: awarded 5,000.00, paid 2,000.00 — 3,000.00 still to pay.
    assert disburse[header.index("balance_yuan")] == "3000.00"
    raw = client.get("/audit/downloads/register.csv").get_data()
    assert b",5000," in raw  # a number, not a quoted or prefixed string


def test_register_xlsx_conventions(client, session, people, tmp_path):
    login(client, people["auditor"])
    response = client.get("/audit/downloads/register.xlsx?project=100")
    assert response.status_code == 200
    path = tmp_path / "register.xlsx"
    path.write_bytes(response.get_data())
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "明细"]
    detail = book["明细"]
    assert detail.freeze_panes == "A3"
    assert "单位：元" in detail["A1"].value
    assert detail["B2"].value == "日期"
    memo_col = [c.value for c in detail[2]].index("摘要") + 1
    values = [detail.cell(row=r, column=memo_col) for r in range(3, detail.max_row + 1)]
    injected = [c for c in values if c.value and "HYPERLINK" in str(c.value)]
    assert injected and injected[0].data_type == "s" and injected[0].value.startswith("'=")
    amounts = [detail.cell(row=r, column=9).value for r in range(3, 7)]
    assert all(isinstance(v, int | float) for v in amounts)
    footer = [c.value for row in detail.iter_rows() for c in row if c.value]
    assert any("制表单位" in str(v) and "审核人" in str(v) for v in footer)
    assert book["汇总"].freeze_panes == "A3"
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office:  # `make test` installs it; a machine without it skips only this part
        # UTF-8 (76), every sheet (-1): LibreOffice writes one register-<sheet>.csv per sheet.
        target = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
        subprocess.run(
            [office, "--headless", "--convert-to", target, "--outdir", str(tmp_path), str(path)],
            check=True,
            timeout=180,
            capture_output=True,
        )
        text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.glob("register-*.csv"))
        assert "项目资金台账" in text and "点我" in text
        # The formula arrives as its text, not as the value a spreadsheet would compute.
        assert "'=HYPERLINK" in text


def test_trial_balance_at_a_cutoff_balances(client, session, people):
    login(client, people["auditor"])
    rows = _csv(client.get("/audit/downloads/trial_balance.csv?cutoff=2026-01-31"))
    header, total = rows[0], rows[-1]
    assert header[:5] == ["code", "kind", "debits_fen", "credits_fen", "balance_fen"]
    assert total[0] == "TOTAL" and total[2] == total[3] == "2100000"
    codes = {r[0] for r in rows[1:-1]}
    assert "grant:100:payable" not in codes  # released only in March
    later = _csv(client.get("/audit/downloads/trial_balance.csv"))
    assert later[-1][2] == later[-1][3] == "2605000"
    assert [e.after["filters"] for e in _downloads(session)] == [{"cutoff": "2026-01-31"}, {}]


def test_trail_downloads_are_audited(client, session, people, tmp_path):
    login(client, people["audit_admin"])
    rows = _csv(client.get("/audit/downloads/trail.csv?from=2026-01-01"))
    assert rows[0][0] == "seq" and len(rows) > 1
    response = client.get("/audit/downloads/trail.xlsx")
    path = tmp_path / "trail.xlsx"
    path.write_bytes(response.get_data())
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "明细"] and book["明细"].freeze_panes == "A3"
    events = _downloads(session)
    assert [(e.after["format"], e.after["filters"]) for e in events] == [
        ("csv", {"from": "2026-01-01"}),
        ("xlsx", {}),
    ]
    assert all(e.actor_id == people["audit_admin"].id for e in events)


def test_bad_filters_are_refused_without_a_download(client, session, people):
    login(client, people["auditor"])
    response = client.get("/audit/downloads/register.csv?from=2026-05-01&to=2026-04-01")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "晚于" in page
    assert client.get("/audit/downloads/register.csv?fund=777").status_code == 302
    assert client.get("/audit/downloads/nothing.csv").status_code == 404
    assert _downloads(session) == []


def test_bundle_button_job_and_download(app, client, session, people, tmp_path, monkeypatch):
    from app.audit import signing

    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", str(tmp_path / "keys"))
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path / "exports"))
    signing.generate(tmp_path / "keys")
    login(client, people["audit_admin"])
    token = csrf_token(client, "/audit/downloads")
    response = client.post(
        "/audit/downloads/bundle", data={"csrf_token": token, "call": "10", "from": ""}
    )
    assert response.status_code == 302
    job = session.scalar(select(Job).where(Job.kind == JOB_KIND))
    assert job.payload == {"filters": {"call": 10}}
    page = client.get("/audit/downloads").get_data(as_text=True)
    assert f'data-job-url="/jobs/{job.id}"' in page and "progress-bar" in page
    ran = jobs.run_one()
    assert ran.state == "done", ran.message
    assert client.get(f"/jobs/{job.id}").get_json()["state"] == "done"
    link = re.search(r'href="(/audit/downloads/bundle/\d+)"', client.get("/audit/downloads").text)
    got = client.get(link.group(1))
    assert got.status_code == 200 and got.mimetype == "application/zip"
    assert "attachment" in got.headers["Content-Disposition"]
    assert got.get_data()[:2] == b"PK"
    got.close()
    (event,) = _downloads(session)
    assert event.after == {"kind": "bundle", "format": "zip", "filters": {"call": 10}}

    client.post("/logout", data={"csrf_token": csrf_token(client, "/audit/downloads")})
    login(client, people["auditor2"])  # any auditor may fetch it
    assert client.get(link.group(1)).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/audit/downloads")})
    other_admin = factories.user("audit_admin")
    login(client, other_admin)  # neither its creator nor an auditor
    assert client.get(link.group(1)).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/audit/downloads")})
    login(client, people["finance"])
    assert client.get(link.group(1)).status_code == 403


def test_bundle_request_with_bad_filters_queues_nothing(client, session, people):
    login(client, people["auditor"])
    token = csrf_token(client, "/audit/downloads")
    response = client.post(
        "/audit/downloads/bundle",
        data={"csrf_token": token, "from": "2026-05-01", "to": "2026-01-01"},
    )
    assert response.status_code == 302
    assert session.scalar(select(Job).where(Job.kind == JOB_KIND)) is None
