"""projects more: project sign-off, retention and closing deadline

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 14:00:00.000000

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
