"""Test data made through the real operations (so audit events exist too)."""

from __future__ import annotations

import itertools

from app.accounts import credit_code
from app.accounts import operations as accounts
from app.accounts.models import Organisation, User

PASSWORD = "Passw0rd-test"
_seq = itertools.count(1)


def org(kind: str = "society", name: str | None = None, **kwargs) -> Organisation:
    """A new organisation of ``kind`` with a valid credit code."""
    n = next(_seq)
    return accounts.create_organisation(
        name or f"测试单位{n}-{kind}",
        kind,
        actor=None,
        credit_code_text=credit_code.make(f"5133{n:013d}"),
        **kwargs,
    )


def user(
    *roles: str,
    organisation: Organisation | None = None,
    password: str = PASSWORD,
    name: str | None = None,
) -> User:
    """A new user holding ``roles`` (default: applicant) in ``organisation``."""
    roles = roles or ("applicant",)
    if organisation is None:
        kind = {
            "applicant": "society",
            "society_admin": "society",
            "local_partner": "local_government",
            "evaluator": "evaluation_agency",
            "enterprise": "enterprise",
            "reviewer": "expert_org",
            "finance": "finance",
            "auditor": "audit",
        }.get(roles[0], "department")
        organisation = org(kind)
    n = next(_seq)
    return accounts.create_user(
        f"user{n}@test.cn",
        name or f"用户{n}",
        organisation.id,
        roles,
        password=password,
        actor=None,
        bootstrap=True,
    )
