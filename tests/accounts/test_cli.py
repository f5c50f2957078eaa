"""``users create`` and ``tokens create|revoke`` from the command line."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import ApiToken, Organisation, User
from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import login


def test_users_create_and_refuse_a_second_exclusive_role(app, client, session):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users", "create", "--email", "First.Admin@Test.cn", "--role", "admin",
            "--org", "浙江省科协信息中心", "--name", "首位管理员", "--password", "Passw0rd-cli1",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = session.scalars(select(User).where(User.email == "first.admin@test.cn")).one()
    assert user.role_names == {"admin"} and user.name == "首位管理员"
    assert user.org.name == "浙江省科协信息中心" and user.org.kind == "department"
    assert f"created user {user.id} first.admin@test.cn roles=admin" in result.output
    login(client, user, "Passw0rd-cli1")

    refused = runner.invoke(
        args=[
            "users", "create", "--email", "two@test.cn", "--role", "admin",
            "--role", "audit_admin", "--org", str(user.org_id), "--password", "Passw0rd-cli1",
        ]
    )  # fmt: skip
    assert refused.exit_code != 0
    assert "三员分立" in refused.output
    assert session.scalar(select(User.id).where(User.email == "two@test.cn")) is None

    weak = runner.invoke(
        args=["users", "create", "--email", "w@test.cn", "--role", "officer", "--org",
              str(user.org_id), "--password", "short"]
    )  # fmt: skip
    assert weak.exit_code != 0 and "密码至少需要" in weak.output
    unknown_org = runner.invoke(
        args=["users", "create", "--email", "u@test.cn", "--role", "officer", "--org", "999999",
              "--password", "Passw0rd-cli1"]
    )  # fmt: skip
    assert unknown_org.exit_code != 0
    assert session.scalar(select(Organisation.id).where(Organisation.name == "999999")) is None


def test_tokens_create_prints_the_token_last_and_revoke_ends_it(app, client, session):
    auditor = factories.user("auditor")
    session.commit()
    runner = app.test_cli_runner()
    created = runner.invoke(args=["tokens", "create", "--user", auditor.email.upper()])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert " " not in token and len(token) >= 40
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/audit/events?limit=1", headers=headers).status_code == 200
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == auditor.id)).one()
    assert token not in row.token_hash  # only the digest is stored
    revoked = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/audit/events?limit=1", headers=headers).status_code == 401
    actions = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "api_token", AuditEvent.entity_id == str(row.id)
        )
    ).all()
    assert actions == ["token.create", "token.revoke"]
    assert runner.invoke(args=["tokens", "create", "--user", "nobody@test.cn"]).exit_code != 0
    assert runner.invoke(args=["tokens", "revoke", "999999"]).exit_code != 0
