"""review panels: panel review (会议评审) tables

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-29 14:00:00.000000

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
