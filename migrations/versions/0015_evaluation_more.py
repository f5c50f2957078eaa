"""evaluation more: evaluation veto items and evaluator changes

Veto items (一票否决) raised on an evaluation's agency sheet, each with its reason, and
the grade an evaluation's band gave before a raised veto capped it. Evaluators added
to or removed from an engagement later need no new columns (memberships and kept
independence checks).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

GRADES = "('excellent', 'good', 'fair', 'poor')"


def upgrade():
    op.create_table(
        "evaluation_veto",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("veto_key", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_evaluation_veto_reason_given")),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluation.id"],
            name=op.f("fk_evaluation_veto_evaluation_id_evaluation"),
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"],
            ["user.id"],
            name=op.f("fk_evaluation_veto_raised_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_veto")),
        sa.UniqueConstraint("evaluation_id", "veto_key", name="uq_evaluation_veto_key"),
    )
    with op.batch_alter_table("evaluation_veto", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evaluation_veto_evaluation_id"), ["evaluation_id"], unique=False
        )
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grade_before_veto", sa.String(length=12), nullable=True))
        batch_op.create_check_constraint(
            "grade_before_veto_valid",
            f"grade_before_veto IS NULL OR (grade IS NOT NULL AND grade_before_veto IN {GRADES})",
        )


def downgrade():
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_evaluation_grade_before_veto_valid"), type_="check")
        batch_op.drop_column("grade_before_veto")
    with op.batch_alter_table("evaluation_veto", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_veto_evaluation_id"))
    op.drop_table("evaluation_veto")
