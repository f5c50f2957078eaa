"""``users create`` and ``tokens create|revoke``."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.accounts import operations as ops
from app.accounts.models import ApiToken, Organisation, User
from app.audit.context import audit_context
from app.core.errors import DomainError
from app.extensions import db

users_cli = AppGroup("users", help="User accounts.")
tokens_cli = AppGroup("tokens", help="Auditors' API tokens.")


def _org(value: str) -> Organisation:
    """An organisation by id or exact name; created as a department if unknown."""
    if value.isdigit():
        org = db.session.get(Organisation, int(value))
    else:
        org = db.session.scalar(select(Organisation).where(Organisation.name == value))
    if org is None:
        if value.isdigit():
            raise click.ClickException(f"no organisation with id {value}")
        org = ops.create_organisation(value, "department", actor=None)
    return org


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", "roles", required=True, multiple=True, help="Repeat for several roles.")
@click.option(
    "--org", required=True, help="Organisation id or name (a new name creates a department)."
)
@click.option("--name", default=None)
@click.option("--password", default=None, help="Prompted for when omitted.")
def create_user(email, roles, org, name, password):
    """Create a user (the first admin, or any account) from the command line."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with audit_context(actor_role="system"):
        try:
            organisation = _org(org)
            user = ops.create_user(
                email,
                name or email.split("@")[0],
                organisation.id,
                roles,
                password=password,
                actor=None,
                bootstrap=True,
            )
        except DomainError as err:
            db.session.rollback()
            raise click.ClickException(err.message) from err
        db.session.commit()
    click.echo(f"created user {user.id} {user.email} roles={','.join(sorted(user.role_names))}")


@tokens_cli.command("create")
@click.option("--user", "email", required=True)
def create_token(email):
    """Create an API token; the token alone is printed on the last line."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    with audit_context(actor_role="system"):
        row, plain = ops.create_api_token(user, actor=None)
        db.session.commit()
    click.echo(f"token id {row.id} for {user.email}")
    click.echo(plain)


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_token(token_id):
    """Revoke an API token by id."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.ClickException(f"no token {token_id}")
    with audit_context(actor_role="system"):
        ops.revoke_api_token(row, actor=None)
        db.session.commit()
    click.echo(f"revoked token {token_id}")


people_cli = AppGroup("people", help="Personal data.")


@people_cli.command("erase")
@click.argument("user_id", type=int)
@click.option("--reason", required=True)
def erase(user_id, reason):
    """Erase a person's personal data; the audit chain stays valid."""
    user = db.session.get(User, user_id)
    if user is None:
        raise click.ClickException(f"no user {user_id}")
    with audit_context(actor_role="system"):
        try:
            ops.erase_person(user, actor=None, reason=reason)
        except DomainError as err:
            raise click.ClickException(err.message) from err
        db.session.commit()
    click.echo(f"erased personal data of user {user_id}")
