"""stations more: evaluation agencies engaged on stations

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "station_engagement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["organisation.id"],
            name=op.f("fk_station_engagement_agency_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_station_engagement_created_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_engagement_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_engagement")),
        sa.UniqueConstraint("station_id", "agency_id", name="uq_station_engagement_agency"),
    )
    with op.batch_alter_table("station_engagement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_station_engagement_agency_id"), ["agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_station_engagement_station_id"), ["station_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("station_engagement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_engagement_station_id"))
        batch_op.drop_index(batch_op.f("ix_station_engagement_agency_id"))
    op.drop_table("station_engagement")
