"""Spreadsheet imports of matching-fund receipts and payments (issue 11): checked row by
row, written through the register and the tranche payment, all or nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.core.errors import NotAllowed, ValidationFailed
from app.extensions import db
from app.projects import imports
from app.projects import operations as ops
from app.projects.models import MatchingReceipt
from tests.conftest import login, post
from tests.core.test_imports import sheet
from tests.projects.helpers import at, audit_and_ledger_ok, events, project

MATCHING = ["项目编号", "到位金额（元）", "到位日期", "凭证号", "备注"]
PAYMENTS = ["项目编号", "批次", "支付金额（元）", "凭证号", "支付日期"]


def _number(r) -> str:
    return r.project.application.project_number


def test_matching_receipts_import_all_or_nothing(session):
    r = project(matching_fen=3_000_000)
    number = _number(r)
    bad = sheet(
        (number, "10000", "2026-03-11", "PT-1", "首笔"),
        (number, "abc", "2026/03/11", "PT-1", ""),
        ("不存在的编号", "1", "2099-01-01", "PT-9", ""),
        header=MATCHING,
    )
    with at(2026, 3, 11):
        rows = imports.preview_matching(io.BytesIO(bad), actor=r.partner)
        assert rows[0].problems == []
        assert "凭证号与第 2 行重复" in rows[1].problems and len(rows[1].problems) == 2
        assert any("找不到本单位共建的项目" in p for p in rows[2].problems)
        assert "到位日期不能晚于今天" in rows[2].problems
        with pytest.raises(ValidationFailed) as exc:
            imports.import_matching(io.BytesIO(bad), actor=r.partner)
        assert [d.split("：")[0] for d in exc.value.details] == ["第 3 行", "第 4 行"]
        assert not db.session.scalars(select(MatchingReceipt)).all()
        with pytest.raises(NotAllowed):
            imports.preview_matching(io.BytesIO(bad), actor=r.finance)
        good = sheet(
            (number, "10,000.00", "2026-03-10", "PT-1", "首笔"),
            (number, "8000", "2026-03-11", "PT-2", ""),
            header=MATCHING,
        )
        created = imports.import_matching(io.BytesIO(good), actor=r.partner)
    assert [c.amount_fen for c in created] == [1_000_000, 800_000]
    assert len(events("matching_receipt.record")) == 2
    (summary,) = events("matching_receipt.import")
    assert summary.after["count"] == 2 and summary.actor_id == r.partner.id


def test_another_governments_project_is_not_found(session):
    r = project(matching_fen=3_000_000)
    other = project(matching_fen=3_000_000)
    data = sheet((_number(other), "1000", "2026-03-11", "PT-1", ""), header=MATCHING)
    with at(2026, 3, 11):
        (row,) = imports.preview_matching(io.BytesIO(data), actor=r.partner)
    assert any("找不到本单位共建的项目" in p for p in row.problems)


def test_payments_import_disburses_each_row_or_none(session):
    r = project()
    first = r.project.tranches[0]
    number = _number(r)
    with at(2026, 3, 10):
        ops.release_tranche(first, actor=r.approver)
    yuan = f"{first.amount_fen / 100:.2f}"
    bad = sheet(
        (number, "0", yuan, "ZF-1", "2026-03-10"),
        (number, "1", "1", "ZF-1", "2026-03-10"),
        header=PAYMENTS,
    )
    with at(2026, 3, 10):
        rows = imports.preview_payments(io.BytesIO(bad), actor=r.finance)
        assert rows[0].problems == []
        assert "节点 1 的拨付批次尚未批准拨付或已支付" in rows[1].problems
        assert "凭证号与第 2 行重复" in rows[1].problems
        with pytest.raises(ValidationFailed):
            imports.import_payments(io.BytesIO(bad), actor=r.finance)
        assert first.state == "released" and ops.balance(r.project.id, "disbursed") == 0
        with pytest.raises(NotAllowed):
            imports.preview_payments(io.BytesIO(bad), actor=r.officer)
        wrong = sheet((number, "0", "1.00", "ZF-1", "2026-03-10"), header=PAYMENTS)
        (row,) = imports.preview_payments(io.BytesIO(wrong), actor=r.finance)
        assert any("应付金额" in p for p in row.problems)
        good = sheet((number, "0", yuan, "ZF-1", "2026-03-10"), header=PAYMENTS)
        (paid,) = imports.import_payments(io.BytesIO(good), actor=r.finance)
    assert paid.id == first.id and first.state == "paid" and first.voucher_no == "ZF-1"
    assert ops.balance(r.project.id, "disbursed") == first.amount_fen
    assert events("tranche.pay") and events("tranche.import_payments")
    audit_and_ledger_ok()


def test_the_payments_page_previews_and_commits(client, session):
    r = project()
    first = r.project.tranches[0]
    with at(2026, 3, 10):
        ops.release_tranche(first, actor=r.approver)
    login(client, r.finance)
    assert client.get("/projects/import/payments?template=1").data[:2] == b"PK"
    yuan = f"{first.amount_fen / 100:.2f}"
    data = sheet((_number(r), "0", yuan, "ZF-9", "2026-03-10"), header=PAYMENTS)
    page = post(
        client,
        "/projects/import/payments",
        {"file": (io.BytesIO(data), "p.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "0 行有错误" in page and "ZF-9" in page
    token = page.split('name="token" value="')[1].split('"')[0]
    assert (
        post(client, "/projects/import/payments", {"token": token, "commit": "1"}).status_code
        == 302
    )
    assert first.state == "paid"
    login(client, r.partner)
    assert client.get("/projects/import/payments").status_code == 403
    assert client.get("/projects/import/matching").status_code == 200
