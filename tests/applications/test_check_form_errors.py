"""The reason forms of the endorsement, matching and eligibility check: a refusal comes
back as the page (422) with the message beside the field and the text kept (issue 11)."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.applications.models import Decision
from tests import factories
from tests.conftest import login, post


def _decisions(session, app) -> int:
    return session.scalar(select(func.count(Decision.id)).where(Decision.application_id == app.id))


def test_return_without_a_reason_keeps_the_page_and_shows_it_beside_the_field(client, session):
    call = factories.call("open")
    app = factories.endorsed(call)
    officer = factories.user("officer")
    session.commit()
    before = _decisions(session, app)
    login(client, officer)
    response = post(client, f"/applications/{app.id}/check/return", {"reason": "  "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="reason-return-err"' in page and "请填写书面理由。" in page
    assert 'aria-describedby="reason-return-err"' in page and "is-invalid" in page
    assert 'id="reason-reject-err"' not in page
    assert '<div class="alert' not in page
    session.expire_all()
    assert app.state == "endorsed" and _decisions(session, app) == before
    response = post(client, f"/applications/{app.id}/check/return", {"reason": "缺少合作协议。"})
    assert response.status_code == 302
    session.expire_all()
    assert app.state == "returned"


def test_society_return_and_endorse_errors_beside_their_fields(client, session):
    call = factories.call("open")
    app = factories.submitted(call)
    admin = factories.society_admin_of(app.society)
    session.commit()
    login(client, admin)
    response = post(client, f"/applications/{app.id}/society-return", {"reason": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="society-reason-err"' in page and "请填写退回理由。" in page
    response = post(
        client,
        f"/applications/{app.id}/endorse",
        {"sealed_scan": (io.BytesIO(b""), "")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert 'id="sealed_scan-err"' in response.get_data(as_text=True)
    session.expire_all()
    assert app.state == "submitted"


def test_matching_amount_refused_beside_the_field_with_the_amount_kept(client, session):
    call = factories.call("open", matching_required=True, matching_ratio_pct=50)
    app = factories.endorsed(call)
    partner = factories.user("local_partner", organisation=app.co_government)
    session.commit()
    login(client, partner)
    response = post(client, f"/applications/{app.id}/matching", {"amount": "21999.99"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="amount-err"' in page and "低于要求的 22,000.00 元" in page
    assert 'value="21999.99"' in page
    response = post(client, f"/applications/{app.id}/matching", {"amount": "12abc"})
    assert response.status_code == 422
    assert 'value="12abc"' in response.get_data(as_text=True)
    session.expire_all()
    assert app.matching_committed_fen is None
