"""``flask demo``: idempotent, one line per account, every account logs in."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from app.accounts.models import Organisation, User
from app.core.permissions import ROLES
from app.extensions import db, limiter
from tests.conftest import login

PASSWORD = "Passw0rd-demo1"


def _lines(output: str) -> list[tuple[str, str, str]]:
    lines = []
    for line in output.strip().splitlines():
        role, email, name = line.split(" ", 2)
        lines.append((role, email, name))
    return lines


def test_demo_is_idempotent_and_every_account_logs_in(committed_app, monkeypatch):
    monkeypatch.setitem(committed_app.config, "LOGIN_LIMIT_PER_IP", "1000 per minute")
    runner = committed_app.test_cli_runner()
    first = runner.invoke(args=["demo", "--password", PASSWORD])
    assert first.exit_code == 0, first.output
    with committed_app.app_context():
        users = db.session.scalar(select(func.count(User.id)))
        orgs = db.session.scalar(select(func.count(Organisation.id)))
        db.session.remove()
    second = runner.invoke(args=["demo", "--password", PASSWORD])
    assert second.exit_code == 0, second.output
    assert second.output == first.output
    lines = _lines(first.output)
    assert len(lines) == len(set(lines))

    by_role = defaultdict(list)
    for role, email, _name in lines:
        assert role in ROLES, role
        by_role[role].append(email)
    assert set(ROLES) <= set(by_role), set(ROLES) - set(by_role)
    assert len(by_role["reviewer"]) >= 6
    assert len(by_role["local_partner"]) >= 2
    assert len(by_role["evaluator"]) >= 2

    with committed_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == users
        assert db.session.scalar(select(func.count(Organisation.id))) == orgs
        emails = {email for _r, email, _n in lines}
        accounts = db.session.scalars(select(User).where(User.email.in_(emails))).all()
        assert len(accounts) == len(emails)
        for account in accounts:
            printed = {role for role, email, _n in lines if email == account.email}
            assert printed <= account.role_names, account.email
        societies = defaultdict(set)
        for account in accounts:
            if account.org.kind == "society":
                societies[account.org_id] |= account.role_names
        complete = [o for o, roles in societies.items() if {"applicant", "society_admin"} <= roles]
        assert len(complete) >= 3
        agencies = defaultdict(int)
        for account in accounts:
            if "evaluator" in account.role_names:
                agencies[account.org_id] += 1
        assert max(agencies.values()) >= 2  # one agency with two evaluators
        db.session.remove()

    limiter.reset()
    for _role, email, _name in lines:
        client = committed_app.test_client()
        with committed_app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            login(client, user, PASSWORD)
            db.session.remove()
        assert client.get("/").status_code == 200, email


def test_demo_refuses_a_weak_password(committed_app):
    result = committed_app.test_cli_runner().invoke(args=["demo", "--password", "short"])
    assert result.exit_code != 0
    with committed_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
        db.session.remove()
