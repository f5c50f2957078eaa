"""Society self-registration, verification and the society's own staff."""

import io

import pytest
from sqlalchemy import func, select

from app.accounts import credit_code
from app.accounts.models import Organisation, User
from app.audit.models import AuditEvent
from app.calls import societies
from app.core.errors import NotAllowed
from app.core.models import StoredFile
from tests import factories
from tests.conftest import login, post

PDF = factories.PDF_BYTES


def _form(**overrides):
    data = {
        "name": "浙江省测试学会",
        "credit_code": credit_code.make("51330000MJ9876543"),
        "contact_name": "杨秘书",
        "email": "secretary@society.test",
        "password": "Secret-pass-123",
        "certificate": (io.BytesIO(PDF), "证书.pdf"),
    }
    data.update(overrides)
    return data


def _counts(session):
    return (
        session.scalar(select(func.count(Organisation.id))),
        session.scalar(select(func.count(User.id))),
        session.scalar(select(func.count(StoredFile.id))),
        session.scalar(select(func.count(AuditEvent.seq))),
    )


def test_invalid_credit_code_is_refused_and_nothing_is_written(client, session):
    before = _counts(session)
    bad = credit_code.make("51330000MJ9876543")[:-1] + "0"
    if credit_code.is_valid(bad):
        bad = bad[:-1] + "1"
    response = post(
        client, "/register/society", _form(credit_code=bad), content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "统一社会信用代码无效" in response.get_data(as_text=True)
    assert _counts(session) == before


def test_registration_creates_an_unverified_society_and_its_admin(client, session):
    response = post(client, "/register/society", _form(), content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    org = session.scalar(select(Organisation).where(Organisation.name == "浙江省测试学会"))
    assert org.kind == "society" and org.is_verified is False
    admin = session.scalar(select(User).where(User.email == "secretary@society.test"))
    assert admin.role_names == {"society_admin"} and admin.org_id == org.id
    assert societies.certificate_of(org).mime == "application/pdf"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "society.register"))
    assert event.after["is_verified"] is False and "secretary" not in str(event.after)
    # Unverified: the society cannot apply yet, and says why.
    call = factories.call("open")
    from app.applications import operations as apps

    with pytest.raises(NotAllowed, match="尚未通过审核"):
        apps.create_application(call, actor=admin)
    officer = factories.user("officer")
    login(client, officer)
    assert post(client, f"/societies/{org.id}/verify").status_code == 302
    assert org.is_verified is True
    assert apps.create_application(call, actor=admin).state == "draft"


def test_society_admin_creates_staff_in_its_own_society_only(session):
    org = factories.org("society")
    admin = factories.society_admin_of(org)
    staff = societies.create_staff(
        org, email="staff1@society.test", name="张伟", password="Secret-pass-123", actor=admin
    )
    assert staff.org_id == org.id and staff.role_names == {"applicant"}
    other = factories.org("society")
    with pytest.raises(NotAllowed):
        societies.create_staff(
            other, email="x@society.test", name="某人", password="Secret-pass-123", actor=admin
        )


def test_banned_society_cannot_apply_and_sees_the_reason(session):
    from datetime import date

    from app.applications import operations as apps

    applicant = factories.user("applicant")
    applicant.org.banned_until = date(2099, 1, 1)
    applicant.org.ban_reason = "2024年项目弄虚作假"
    applicant.org.credit_status = "banned"
    call = factories.call("open")
    with pytest.raises(NotAllowed, match="2024年项目弄虚作假"):
        apps.create_application(call, actor=applicant)
