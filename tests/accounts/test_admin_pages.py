"""The admin pages list and create users and organisations through their forms."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts import credit_code
from app.accounts.models import Organisation, User
from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import login, post

VALID_CODE = credit_code.make("91330100MA2" + "ABCDE" + "X")


def _admin_client(app, session):
    admin = factories.user("admin")
    session.commit()
    client = app.test_client()
    login(client, admin)
    return client, admin


def test_users_page_lists_and_searches(app, session):
    society = factories.org("society", name="浙江省检索测试学会")
    listed = factories.user("applicant", organisation=society, name="检索甲")
    other = factories.user("officer", name="另一个人")
    client, _admin = _admin_client(app, session)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "用户管理" in page and listed.email in page
    found = client.get("/admin/users?q=检索测试").get_data(as_text=True)
    assert "检索甲" in found and other.name not in found
    assert "申报人（学会工作人员）" in found


def test_admin_creates_a_user_through_the_form(app, session):
    society = factories.org("society")
    client, admin = _admin_client(app, session)
    assert "新建用户" in client.get("/admin/users/new").get_data(as_text=True)
    response = post(
        client,
        "/admin/users/new",
        {
            "email": "New.Person@Test.cn",
            "name": "新用户",
            "org_id": str(society.id),
            "roles": ["applicant"],
            "password": "Passw0rd-new1",
        },
    )
    assert response.status_code == 302
    user = session.scalars(select(User).where(User.email == "new.person@test.cn")).one()
    assert user.role_names == {"applicant"} and user.org_id == society.id
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "user.create", AuditEvent.entity_id == str(user.id)
        )
    ).one()
    assert event.actor_id == admin.id and event.after == {
        "org_id": society.id,
        "roles": ["applicant"],
    }
    assert "new.person@test.cn" not in str(event.after)  # no personal data in the trail
    login(app.test_client(), user, "Passw0rd-new1")


def test_user_form_refusals_are_shown_and_nothing_is_written(app, session):
    society = factories.org("society")
    client, _admin = _admin_client(app, session)
    users = session.scalar(select(func.count(User.id)))
    weak = post(
        client,
        "/admin/users/new",
        {
            "email": "weak@test.cn",
            "name": "弱密码",
            "org_id": str(society.id),
            "roles": ["applicant"],
            "password": "short",
        },
    )
    assert weak.status_code == 422
    assert "密码至少需要 10 个字符" in weak.get_data(as_text=True)
    oversight = post(
        client,
        "/admin/users/new",
        {"email": "aud@test.cn", "name": "审计", "org_id": str(society.id), "roles": ["auditor"]},
    )
    assert oversight.status_code == 403
    assert "三员分立" in oversight.get_data(as_text=True)
    assert session.scalar(select(func.count(User.id))) == users


def test_orgs_page_lists_and_creates(app, session):
    client, admin = _admin_client(app, session)
    orgs = session.scalar(select(func.count(Organisation.id)))
    bad = post(
        client,
        "/admin/orgs/new",
        {"name": "浙江省代码错误学会", "kind": "society", "credit_code": VALID_CODE[:-1] + "0"}
        if VALID_CODE[-1] != "0"
        else {
            "name": "浙江省代码错误学会",
            "kind": "society",
            "credit_code": VALID_CODE[:-1] + "1",
        },
    )
    assert bad.status_code == 422
    assert "统一社会信用代码无效（应为18位且校验位正确）。" in bad.get_data(as_text=True)
    short = post(
        client,
        "/admin/orgs/new",
        {"name": "浙江省短码学会", "kind": "society", "credit_code": "12345"},
    )
    assert short.status_code == 422
    assert session.scalar(select(func.count(Organisation.id))) == orgs

    good = post(
        client,
        "/admin/orgs/new",
        {"name": "浙江省新登记学会", "kind": "society", "credit_code": VALID_CODE.lower()},
    )
    assert good.status_code == 302
    org = session.scalars(select(Organisation).where(Organisation.name == "浙江省新登记学会")).one()
    assert org.credit_code == VALID_CODE and len(org.credit_code) == 18
    assert (
        session.scalar(
            select(AuditEvent.actor_id).where(
                AuditEvent.action == "org.create", AuditEvent.entity_id == str(org.id)
            )
        )
        == admin.id
    )
    listing = client.get("/admin/orgs").get_data(as_text=True)
    assert "浙江省新登记学会" in listing
    duplicate = post(
        client,
        "/admin/orgs/new",
        {"name": "浙江省另一个学会", "kind": "society", "credit_code": VALID_CODE},
    )
    assert duplicate.status_code == 409
    assert "统一社会信用代码已登记" in duplicate.get_data(as_text=True)


def test_credit_code_check_character():
    assert credit_code.is_valid("91350100M000100Y43")  # a published example
    assert not credit_code.is_valid("91350100M000100Y44")
    assert not credit_code.is_valid("91350100M000100Y4")
    assert credit_code.is_valid("９１３５０１００Ｍ０００１００Ｙ４３")  # full-width is normalised
    assert not credit_code.is_valid("91350100M000100I43")  # I is not in the alphabet
