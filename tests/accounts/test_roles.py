"""三员分立 and who may assign which roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts import operations as ops
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core.errors import NotAllowed, ValidationFailed
from tests import factories
from tests.conftest import login, post

SEPARATION = "三员分立"


@pytest.mark.parametrize(
    "roles",
    [("admin", "security_admin"), ("admin", "audit_admin"), ("security_admin", "audit_admin")],
)
def test_one_person_holds_at_most_one_exclusive_role(session, roles):
    org = factories.org("department")
    with pytest.raises(ValidationFailed, match=SEPARATION):
        ops.create_user("two@test.cn", "两个", org.id, roles, actor=None, bootstrap=True)
    assert session.scalar(select(User.id).where(User.email == "two@test.cn")) is None
    security = factories.user("security_admin")
    target = factories.user(roles[0])
    with pytest.raises(ValidationFailed, match=SEPARATION):
        ops.set_roles(target, roles, actor=security)
    assert target.role_names == {roles[0]}


@pytest.mark.parametrize("role", ["auditor", "admin", "security_admin", "audit_admin"])
def test_admin_cannot_grant_oversight_roles(session, role):
    admin = factories.user("admin")
    org = factories.org("audit")
    with pytest.raises(NotAllowed, match=SEPARATION):
        ops.create_user("x@test.cn", "某人", org.id, [role], actor=admin, password="Passw0rd-test")
    target = factories.user("officer")
    with pytest.raises(NotAllowed, match=SEPARATION):
        ops.set_roles(target, [role], actor=admin)
    assert target.role_names == {"officer"}


def test_admin_creates_ordinary_users(session):
    admin = factories.user("admin")
    org = factories.org("society")
    user = ops.create_user("ok@test.cn", "某人", org.id, ["applicant"], actor=admin)
    assert user.role_names == {"applicant"}


def test_security_admin_assigns_any_role_but_not_their_own(session):
    security = factories.user("security_admin")
    target = factories.user("officer")
    version = target.session_version
    ops.set_roles(target, ["auditor"], actor=security)
    assert target.role_names == {"auditor"} and target.session_version == version + 1
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "user.set_roles", AuditEvent.entity_id == str(target.id)
        )
    ).one()
    assert (event.before, event.after, event.actor_id) == (
        {"roles": ["officer"]},
        {"roles": ["auditor"]},
        security.id,
    )
    with pytest.raises(NotAllowed):
        ops.set_roles(security, ["security_admin", "officer"], actor=security)


def test_security_admin_sets_roles_through_the_page(app, session):
    security = factories.user("security_admin")
    target = factories.user("officer")
    session.commit()
    client = app.test_client()
    login(client, security)
    page = client.get("/security/users")
    assert page.status_code == 200 and target.name in page.get_data(as_text=True)
    response = post(
        client, f"/security/users/{target.id}/roles", {"roles": ["admin", "audit_admin"]}
    )
    assert response.status_code == 422  # re-rendered: the message beside the row's roles
    session.refresh(target)
    assert target.role_names == {"officer"}
    assert SEPARATION in response.get_data(as_text=True)
    response = post(client, f"/security/users/{target.id}/roles", {"roles": ["audit_admin"]})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, target.id).role_names == {"audit_admin"}


def test_audit_admin_reads_the_trail_but_not_the_user_pages(app, session):
    audit_admin = factories.user("audit_admin")
    session.commit()
    client = app.test_client()
    login(client, audit_admin)
    assert client.get("/audit/events").status_code == 200
    for path in ("/admin/users", "/security/users", "/admin/orgs"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "您没有访问此页面的权限" in response.get_data(as_text=True)
    denials = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "permission.denied", AuditEvent.actor_id == audit_admin.id)
        .order_by(AuditEvent.seq)
    ).all()
    assert [(e.entity_id, e.after["permission"], e.actor_role) for e in denials] == [
        ("accounts.list_users", "users.manage", "audit_admin"),
        ("accounts.security_users", "security.manage", "audit_admin"),
        ("accounts.list_orgs", "orgs.manage", "audit_admin"),
    ]
    # Nor may the audit admin change anything by posting directly.
    target = factories.user("officer")
    session.commit()
    assert (
        post(client, f"/security/users/{target.id}/roles", {"roles": ["admin"]}).status_code == 403
    )
    session.refresh(target)
    assert target.role_names == {"officer"}


def test_admin_cannot_open_the_security_pages(app, session):
    admin = factories.user("admin")
    session.commit()
    client = app.test_client()
    login(client, admin)
    assert client.get("/admin/users").status_code == 200
    assert client.get("/security/users").status_code == 403
    assert client.get("/audit/events").status_code == 403


# 三员分立 through the pages: each of the three may do only its own work.
_WORK = {
    "admin": [
        ("POST", "/admin/users/new", {"email": "n@test.cn", "name": "新", "roles": "officer"}),
        ("POST", "/admin/users/{target}/enabled", {"enabled": "0"}),
        ("POST", "/admin/orgs/new", {"name": "新单位", "kind": "society"}),
    ],
    "security_admin": [
        ("POST", "/security/users/{target}/roles", {"roles": "auditor"}),
        ("POST", "/security/users/{target}/unlock", {}),
        ("POST", "/security/users/{target}/sessions", {}),
        ("POST", "/security/users/{target}/mfa", {"reason": "x"}),
        ("GET", "/security/users", None),
    ],
    "audit_admin": [
        ("GET", "/audit/events", None),
        ("GET", "/audit/downloads/trail.csv", None),
        ("POST", "/audit/downloads/bundle", {}),
    ],
}


@pytest.mark.parametrize("role", sorted(_WORK))
def test_none_of_the_three_can_do_anothers_work_through_the_pages(app, session, role):
    from sqlalchemy import func

    actor = factories.user(role)
    target = factories.user("officer")
    session.commit()
    client = app.test_client()
    login(client, actor)
    events = session.scalar(select(func.count(AuditEvent.seq)))
    version, roles = target.session_version, target.role_names
    for other, work in _WORK.items():
        if other == role:
            continue
        for method, path, data in work:
            path = path.format(target=target.id)
            answer = client.get(path) if method == "GET" else post(client, path, data)
            assert answer.status_code == 403, (role, method, path, answer.status_code)
    session.expire_all()
    target = session.get(User, target.id)
    assert (target.session_version, target.role_names, target.is_enabled) == (version, roles, True)
    new = session.scalars(select(AuditEvent.action).where(AuditEvent.seq > events)).all()
    assert set(new) <= {"permission.denied"} and new, new  # refusals only, each recorded
