"""review panels: panel review (会议评审/答辩) — the panel of a call with its meeting,
members (attendance, declaration, signature or dissent), oral-defence slots and the
members' independent scores or votes

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-29 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_panel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=10), server_default="replace", nullable=False),
        sa.Column("panel_weight", sa.Integer(), server_default="50", nullable=False),
        sa.Column("method", sa.String(length=10), server_default="score", nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=True),
        sa.Column("meeting_place", sa.String(length=200), server_default="", nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("opinion", sa.Text(), server_default="", nullable=False),
        sa.Column("scoring_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(state = 'concluded') = (concluded_at IS NOT NULL)",
            name=op.f("ck_review_panel_concluded_at_iff_concluded"),
        ),
        sa.CheckConstraint(
            "(state IN ('forming', 'scoring')) = (scoring_closed_at IS NULL)",
            name=op.f("ck_review_panel_closed_at_iff_closed"),
        ),
        sa.CheckConstraint(
            "method IN ('score', 'vote')", name=op.f("ck_review_panel_method_valid")
        ),
        sa.CheckConstraint(
            "mode IN ('replace', 'combine')", name=op.f("ck_review_panel_mode_valid")
        ),
        sa.CheckConstraint(
            "state IN ('forming', 'scoring', 'discussion') OR length(opinion) > 0",
            name=op.f("ck_review_panel_opinion_before_signing"),
        ),
        sa.CheckConstraint(
            "state IN ('forming', 'scoring', 'discussion', 'signing', 'concluded')",
            name=op.f("ck_review_panel_state_valid"),
        ),
        sa.CheckConstraint(
            "panel_weight BETWEEN 0 AND 100", name=op.f("ck_review_panel_weight_range")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_review_panel_call_id_call")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_review_panel_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_panel")),
        sa.UniqueConstraint("call_id", name=op.f("uq_review_panel_call_id")),
    )
    op.create_table(
        "review_panel_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("is_chair", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("attendance", sa.String(length=10), server_default="present", nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dissent_reason", sa.Text(), nullable=True),
        sa.Column("dissent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "attendance IN ('present', 'half_day', 'absent')",
            name=op.f("ck_review_panel_member_attendance_valid"),
        ),
        sa.CheckConstraint(
            "(dissent_at IS NULL) = (dissent_reason IS NULL)"
            " AND (dissent_reason IS NULL OR length(dissent_reason) > 0)",
            name=op.f("ck_review_panel_member_dissent_has_reason"),
        ),
        sa.CheckConstraint(
            "signed_at IS NULL OR dissent_at IS NULL",
            name=op.f("ck_review_panel_member_sign_or_dissent"),
        ),
        sa.CheckConstraint(
            "submitted_at IS NULL OR declared_at IS NOT NULL",
            name=op.f("ck_review_panel_member_declared_first"),
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["expert.id"], name=op.f("fk_review_panel_member_expert_id_expert")
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["review_panel.id"],
            name=op.f("fk_review_panel_member_panel_id_review_panel"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_panel_member")),
        sa.UniqueConstraint("panel_id", "expert_id", name="uq_review_panel_member_panel_expert"),
    )
    with op.batch_alter_table("review_panel_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_panel_member_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_panel_member_panel_id"), ["panel_id"], unique=False
        )

    op.create_table(
        "review_panel_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("vote", sa.String(length=10), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "vote IS NULL OR vote IN ('support', 'oppose', 'abstain')",
            name=op.f("ck_review_panel_mark_vote_valid"),
        ),
        sa.CheckConstraint(
            "(score IS NULL) <> (vote IS NULL)", name=op.f("ck_review_panel_mark_score_or_vote")
        ),
        sa.CheckConstraint(
            "score IS NULL OR score BETWEEN 0 AND 100",
            name=op.f("ck_review_panel_mark_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_review_panel_mark_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["review_panel_member.id"],
            name=op.f("fk_review_panel_mark_member_id_review_panel_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_panel_mark")),
        sa.UniqueConstraint("member_id", "application_id", name="uq_review_panel_mark_member_app"),
    )
    with op.batch_alter_table("review_panel_mark", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_panel_mark_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_panel_mark_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "review_panel_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=True),
        sa.CheckConstraint("position >= 1", name=op.f("ck_review_panel_slot_position_positive")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_review_panel_slot_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["review_panel.id"],
            name=op.f("fk_review_panel_slot_panel_id_review_panel"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_panel_slot")),
        sa.UniqueConstraint("panel_id", "application_id", name="uq_review_panel_slot_application"),
        sa.UniqueConstraint("panel_id", "position", name="uq_review_panel_slot_position"),
    )
    with op.batch_alter_table("review_panel_slot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_panel_slot_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_review_panel_slot_panel_id"), ["panel_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("review_panel_slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_panel_slot_panel_id"))
        batch_op.drop_index(batch_op.f("ix_review_panel_slot_application_id"))

    op.drop_table("review_panel_slot")
    with op.batch_alter_table("review_panel_mark", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_panel_mark_member_id"))
        batch_op.drop_index(batch_op.f("ix_review_panel_mark_application_id"))

    op.drop_table("review_panel_mark")
    with op.batch_alter_table("review_panel_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_panel_member_panel_id"))
        batch_op.drop_index(batch_op.f("ix_review_panel_member_expert_id"))

    op.drop_table("review_panel_member")
    op.drop_table("review_panel")
