"""``flask --app wsgi demo``: idempotent demonstration data.

Prints one line per account: ``<role> <email> <name>``. Every printed account
logs in with the given password and no second factor.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.accounts import credit_code
from app.accounts import operations as accounts
from app.accounts.models import Organisation, User
from app.audit.context import audit_context
from app.extensions import db

# Demo steps registered by modules: fn(password) -> list of (role, email, name) created or found.
STEPS: list = []


def reference_data() -> dict:
    """The shared reference file of cities, the pilot park and example societies."""
    candidates = [
        Path(current_app.root_path).parent / "data" / "zhejiang.toml",
        Path(current_app.root_path).parent.parent / "shared" / "data" / "zhejiang.toml",
    ]
    for path in candidates:
        if path.exists():
            return tomllib.loads(path.read_text(encoding="utf-8"))
    raise click.ClickException("data/zhejiang.toml not found")


def ensure_org(name: str, kind: str, *, city_code=None, name_en=None, code_seed: int | None = None):
    """The organisation called ``name``, created if missing."""
    org = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        code = credit_code.make(f"51330000{code_seed:09d}") if code_seed is not None else None
        org = accounts.create_organisation(
            name, kind, actor=None, credit_code_text=code, city_code=city_code, name_en=name_en
        )
    return org


def ensure_user(email: str, name: str, org, roles, password: str) -> User:
    """The user with ``email``, created if missing; the password is (re)set to ``password``."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = accounts.create_user(
            email, name, org.id, roles, password=password, actor=None, bootstrap=True
        )
    elif not accounts._verify(user.password_hash or "", password):
        user.password_hash = accounts.hash_password(password)
    return user


def base_accounts(password: str) -> list[tuple[str, str, str]]:
    """Organisations and one or more accounts for every role."""
    ref = reference_data()
    dept = ensure_org(
        "浙江省科学技术协会学会部",
        "department",
        city_code="330100",
        name_en="Society Affairs Department, Zhejiang Association for Science and Technology",
        code_seed=1,
    )
    finance = ensure_org("浙江省科学技术协会财务处", "finance", city_code="330100", code_seed=2)
    audit = ensure_org("浙江省科学技术协会审计室", "audit", city_code="330100", code_seed=3)
    agency = ensure_org(
        "浙江求是科技评估咨询有限公司", "evaluation_agency", city_code="330100", code_seed=4
    )
    people = [
        ("admin", "admin@demo.cn", "王建国", dept),
        ("security_admin", "security@demo.cn", "李安全", dept),
        ("audit_admin", "auditadmin@demo.cn", "赵审计", dept),
        ("officer", "officer@demo.cn", "陈晓燕", dept),
        ("officer", "officer2@demo.cn", "周明", dept),
        ("approver", "approver@demo.cn", "刘志强", dept),
        ("finance", "finance@demo.cn", "孙丽华", finance),
        ("auditor", "auditor@demo.cn", "吴立新", audit),
        ("evaluator", "evaluator1@demo.cn", "郑评估", agency),
        ("evaluator", "evaluator2@demo.cn", "冯思远", agency),
    ]
    for i, society in enumerate(ref["societies"][:3], start=1):
        org = ensure_org(
            society["zh"], "society", city_code="330100", name_en=society["en"], code_seed=100 + i
        )
        people.append(("applicant", f"applicant{i}@demo.cn", ["张伟", "王芳", "李娜"][i - 1], org))
        people.append(
            ("society_admin", f"society{i}@demo.cn", ["杨秘书", "黄秘书", "何秘书"][i - 1], org)
        )
    city_names = {c["code"]: c for c in ref["cities"]}
    for i, code in enumerate(("330700", "330200"), start=1):
        city = city_names[code]
        org = ensure_org(
            f"{city['zh']}科学技术协会",
            "local_government",
            city_code=code,
            name_en=f"{city['en']} Association for Science and Technology",
            code_seed=200 + i,
        )
        people.append(("local_partner", f"partner{i}@demo.cn", ["林副主席", "施部长"][i - 1], org))
    experts = ["钱教授", "蒋研究员", "沈教授", "韩高工", "杨教授", "朱研究员"]
    for i, name in enumerate(experts, start=1):
        org = ensure_org(
            [
                "浙江大学",
                "浙江工业大学",
                "中国计量大学",
                "浙江省农业科学院",
                "杭州电子科技大学",
                "浙江理工大学",
            ][i - 1],
            "expert_org",
            city_code="330100",
            code_seed=300 + i,
        )
        people.append(("reviewer", f"expert{i}@demo.cn", name, org))
    park = ref["pilot_park"]
    enterprise = ensure_org(
        "永康市五金农机装备有限公司", "enterprise", city_code=park["city"], code_seed=400
    )
    people.append(("enterprise", "enterprise@demo.cn", "徐经理", enterprise))
    lines = []
    for role, email, name, org in people:
        ensure_user(email, name, org, [role], password)
        lines.append((role, email, name))
    return lines


@click.command("demo")
@click.option("--password", default="demo-pass-2015", show_default=True)
@with_appcontext
def demo_command(password):
    """Load demonstration data (idempotent) and print the accounts."""
    accounts.check_password_policy(password)
    with audit_context(actor_role="system", user_agent="demo"):
        lines = base_accounts(password)
        db.session.commit()
        for step in STEPS:
            lines.extend(step(password))
            db.session.commit()
        # The printed accounts log in with the password alone, even where production
        # requires a second factor (DESIGN: demo accounts are exempt).
        for user in db.session.scalars(
            select(User).where(User.email.in_({e for _r, e, _n in lines}))
        ):
            user.mfa_exempt = True
        db.session.commit()
    seen = set()
    for role, email, name in lines:
        if (role, email) not in seen:
            seen.add((role, email))
            click.echo(f"{role} {email} {name}")
