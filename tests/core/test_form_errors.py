"""Refused forms come back with what was typed and the message beside the field
(issue 11: errors used to show only as a banner after a redirect)."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.calls.models import Fund
from tests import factories
from tests.conftest import login, post


def test_a_refused_appropriation_keeps_the_amount_and_shows_the_error_beside_it(client, session):
    the_fund = factories.fund()
    login(client, factories.user("finance"))
    response = post(
        client,
        f"/funds/{the_fund.id}/appropriate",
        {"amount": "12abc", "reference": "财预〔2026〕7号"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="12abc"' in page and "财预〔2026〕7号" in page
    assert f'id="amount-{the_fund.id}-err"' in page and "is-invalid" in page
    response = post(client, f"/funds/{the_fund.id}/appropriate", {"amount": "0", "reference": ""})
    assert response.status_code == 422
    assert "拨款金额必须大于零。" in response.get_data(as_text=True)
    assert (
        post(client, f"/funds/{the_fund.id}/appropriate", {"amount": "100.00"}).status_code == 302
    )
    assert session.scalar(select(Fund).where(Fund.id == the_fund.id)) is not None


def test_a_refused_upload_shows_the_error_beside_the_file_field(client, session):
    the_call = factories.call("open")
    applicant = factories.user("applicant")
    draft = factories.application(the_call, applicant, complete=False)
    login(client, applicant)
    response = post(
        client,
        f"/applications/{draft.id}/attachments",
        {"kind": "nonsense", "file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="att-kind-err"' in page and "附件类型无效。" in page
    response = post(client, f"/applications/{draft.id}/attachments", {"kind": "x"})
    assert response.status_code == 422
    assert 'id="att-file-err"' in response.get_data(as_text=True)
