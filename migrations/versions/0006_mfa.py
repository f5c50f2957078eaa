"""mfa: optional TOTP second factor on user (encrypted secret, last used step,
enabled and exempt flags)

Revision ID: 0006
Revises: 0008
Create Date: 2026-11-29 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("mfa_enabled", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("mfa_exempt", sa.Boolean(), server_default="0", nullable=False)
        )
    # SQLite would have to rebuild the user table (that every other table references)
    # to add a CHECK; the rule holds there through the operations in app/accounts/mfa.py.
    if op.get_bind().dialect.name != "sqlite":
        op.create_check_constraint(
            op.f("ck_user_mfa_has_secret"), "user", "NOT mfa_enabled OR totp_secret IS NOT NULL"
        )


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_user_mfa_has_secret"), "user", type_="check")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("mfa_exempt")
        batch_op.drop_column("mfa_enabled")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
