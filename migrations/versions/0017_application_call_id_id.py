"""applications: index (call_id, id) in place of (call_id)

A call's applications are listed newest first, a page at a time; with both
columns in one index the page's ids come from the index alone (the
application list read every row before the page's offset).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 21:00:00.000000

"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index("ix_application_call_id_id", ["call_id", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_application_call_id"))


def downgrade():
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_call_id"), ["call_id"], unique=False)
        batch_op.drop_index("ix_application_call_id_id")
