"""stations more: stations follow-ups

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 14:00:00.000000

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
