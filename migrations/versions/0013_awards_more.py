"""awards more: award withdrawal and notice period

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 14:00:00.000000

- call.notice_working_days: the notice period is counted in working days (or not);
- award.revoke_reason, reconsideration.outcome;
- the award's state CHECKs are relaxed so that an award withdrawn before publication
  (proposed, or approved with DECOMMIT) can end revoked without a notice.

SQLite: the award table is referenced by objections, projects and agreements, so it
is not rebuilt (the implicit DELETE of a rebuild breaks those foreign keys). The
CHECKs are only relaxed there, which SQLite documents as safe to do by editing the
table's schema text (https://sqlite.org/lang_altertable.html, "making other kinds of
table schema changes"): every existing row satisfies the weaker rule.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD = {
    "approved_at_iff_approved": (
        "(state IN ('approved', 'in_notice', 'objection', 'confirmed', 'revoked'))"
        " = (approved_at IS NOT NULL)"
    ),
    "notice_iff_noticed": (
        "(state IN ('in_notice', 'objection', 'confirmed', 'revoked')) = (notice_id IS NOT NULL)"
    ),
    "revoked_iff": (
        "(state = 'revoked') = (revoked_at IS NOT NULL) AND "
        "(revoked_at IS NULL) = (decommit_transfer_id IS NULL)"
    ),
}
NEW = {
    "approved_at_iff_approved": (
        "(state IN ('approved', 'in_notice', 'objection', 'confirmed') AND approved_at IS NOT NULL)"
        " OR (state = 'proposed' AND approved_at IS NULL) OR state = 'revoked'"
    ),
    "notice_iff_noticed": (
        "(state IN ('in_notice', 'objection', 'confirmed') AND notice_id IS NOT NULL) OR "
        "(state IN ('proposed', 'approved') AND notice_id IS NULL) OR state = 'revoked'"
    ),
    "revoked_iff": (
        "(state = 'revoked') = (revoked_at IS NOT NULL) AND "
        "(revoked_at IS NULL OR (commit_transfer_id IS NULL) = (decommit_transfer_id IS NULL))"
        " AND (revoked_at IS NOT NULL OR decommit_transfer_id IS NULL)"
    ),
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _swap_checks(old: dict, new: dict) -> None:
    if not _sqlite():
        for name, condition in new.items():
            op.drop_constraint(op.f(f"ck_award_{name}"), "award", type_="check")
            op.create_check_constraint(op.f(f"ck_award_{name}"), "award", condition)
        return
    bind = op.get_bind()
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'award'")
    ).scalar_one()
    for name, condition in new.items():
        before = f"CONSTRAINT ck_award_{name} CHECK ({old[name]})"
        if before not in sql:
            raise RuntimeError(f"award: CHECK ck_award_{name} not found as expected")
        sql = sql.replace(before, f"CONSTRAINT ck_award_{name} CHECK ({condition})")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'award'"),
        {"sql": sql},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def upgrade():
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notice_working_days", sa.Boolean(), server_default="0", nullable=False)
        )
    op.add_column("award", sa.Column("revoke_reason", sa.Text(), nullable=True))
    op.add_column("reconsideration", sa.Column("outcome", sa.String(length=16), nullable=True))
    _swap_checks(OLD, NEW)


def downgrade():
    # Awards withdrawn before publication do not fit the stricter rules.
    withdrawn = op.get_bind().execute(
        sa.text("SELECT count(*) FROM award WHERE state = 'revoked' AND notice_id IS NULL")
    )
    if withdrawn.scalar_one():
        raise RuntimeError("award: withdrawn awards exist; they cannot be downgraded")
    _swap_checks(NEW, OLD)
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): no rebuild of referenced tables.
    op.drop_column("reconsideration", "outcome")
    op.drop_column("award", "revoke_reason")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("notice_working_days")
