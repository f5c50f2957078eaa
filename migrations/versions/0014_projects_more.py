"""projects more: project sign-off, retention and closing deadline

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 14:00:00.000000

- project_report.endorsed_by_id / endorsed_at: the society admin's sign-off
  (学会负责人审核) before a report reaches the officer; reports already submitted or
  accepted are taken as signed off by their submitter (they reached the officer
  under the old rule);
- project.closing_overdue_at: the closing report's overdue flag (a flag, not a state);
- call.balance_retention_allowed: the call's rule on keeping an unspent balance (结余留用).

Columns only (ALTER TABLE ADD COLUMN on SQLite, no table rebuild on upgrade).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("balance_retention_allowed", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("closing_overdue_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("project_report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "endorsed_by_id",
                sa.Integer(),
                sa.ForeignKey("user.id", name="fk_project_report_endorsed_by_id_user"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("endorsed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE project_report SET endorsed_at = submitted_at, endorsed_by_id = submitted_by_id "
        "WHERE state IN ('submitted', 'accepted')"
    )


def downgrade():
    with op.batch_alter_table("project_report", schema=None) as batch_op:
        batch_op.drop_column("endorsed_at")
        batch_op.drop_column("endorsed_by_id")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("closing_overdue_at")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_column("balance_retention_allowed")
