"""projects: milestone reports with immutable revisions (append-only) and expenditures,
matching-fund receipts, change requests, mid-term checks, four-eyes project decisions,
the claw-back register (append-only); project, milestone and tranche columns for the
whole life after the award.

Revision ID: 0008
Revises: 0009
Create Date: 2026-11-29 11:30:40.668413

"""

import sqlalchemy as sa
from alembic import op

from app.core.ddl import append_only_create, append_only_drop

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None

APPEND_ONLY = ("report_revision", "clawback_entry")

# New columns on the tables the awards migration created: (table, column, SQL type, FK).
_FK_COLUMNS = [
    ("milestone", "accepted_by_id", "user", None),
    ("tranche", "accepted_by_id", "user", None),
    ("tranche", "released_by_id", "user", None),
    ("tranche", "release_transfer_id", "ledger_transfer", None),
    ("tranche", "paid_by_id", "user", None),
    ("tranche", "disburse_transfer_id", "ledger_transfer", None),
]
_PLAIN_COLUMNS = [
    ("milestone", sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True)),
    ("project", sa.Column("end_on", sa.Date(), nullable=True)),
    ("project", sa.Column("extension_months", sa.Integer(), server_default="0", nullable=False)),
    ("project", sa.Column("rectify_stage", sa.String(length=16), nullable=True)),
    ("project", sa.Column("rectify_by", sa.Date(), nullable=True)),
    ("project", sa.Column("rectify_items", sa.Text(), nullable=True)),
    (
        "project",
        sa.Column("acceptance_rectified", sa.Boolean(), server_default="0", nullable=False),
    ),
    ("project", sa.Column("outcome", sa.String(length=32), nullable=True)),
    ("project", sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True)),
    ("project", sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True)),
    ("project", sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True)),
    ("project", sa.Column("unspent_fen", sa.BigInteger(), server_default="0", nullable=False)),
    ("project", sa.Column("retained_fen", sa.BigInteger(), server_default="0", nullable=False)),
    ("project", sa.Column("retained_until", sa.Date(), nullable=True)),
    ("project", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True)),
    ("project", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True)),
    ("tranche", sa.Column("withheld_reason", sa.Text(), nullable=True)),
    ("tranche", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True)),
    ("tranche", sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True)),
    ("tranche", sa.Column("paid_on", sa.Date(), nullable=True)),
    ("tranche", sa.Column("voucher_no", sa.String(length=64), nullable=True)),
    ("tranche", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True)),
    ("tranche", sa.Column("cancel_reason", sa.Text(), nullable=True)),
]
_OUTCOMES = "('passed', 'passed_after_rectification', 'failed')"
_CHECKS = [
    ("project", "extension_nonnegative", "extension_months >= 0"),
    ("project", "rectify_stage_valid",
     "rectify_stage IS NULL OR rectify_stage IN ('midterm', 'acceptance')"),
    ("project", "rectifying_has_terms",
     "state <> 'rectifying' OR (rectify_stage IS NOT NULL AND rectify_by IS NOT NULL "
     "AND length(rectify_items) > 0)"),
    ("project", "outcome_valid", f"outcome IS NULL OR outcome IN {_OUTCOMES}"),
    ("project", "outcome_matches_state", f"state NOT IN {_OUTCOMES} OR outcome = state"),
    ("project", "outcome_at_iff", "(outcome IS NULL) = (outcome_at IS NULL)"),
    ("project", "ended_at_when_ended",
     "state NOT IN ('terminated', 'revoked') OR ended_at IS NOT NULL"),
    ("project", "settled_when_settled",
     "state NOT IN ('clawback', 'closed', 'archived') OR settled_at IS NOT NULL"),
    ("project", "balance_amounts",
     "unspent_fen >= 0 AND retained_fen >= 0 AND retained_fen <= unspent_fen"),
    ("project", "retained_until_iff", "(retained_fen = 0) = (retained_until IS NULL)"),
    ("project", "closed_at_when_closed",
     "state NOT IN ('closed', 'archived') OR closed_at IS NOT NULL"),
    ("project", "archived_iff", "(state = 'archived') = (archived_at IS NOT NULL)"),
    ("milestone", "accepted_by_when_accepted", "accepted_by_id IS NULL OR state = 'accepted'"),
    ("tranche", "released_complete",
     "state NOT IN ('released', 'paid') OR (released_at IS NOT NULL AND "
     "released_by_id IS NOT NULL AND release_transfer_id IS NOT NULL)"),
    ("tranche", "four_eyes",
     "released_by_id IS NULL OR accepted_by_id IS NULL OR released_by_id <> accepted_by_id"),
    ("tranche", "paid_complete",
     "(state = 'paid') = (disburse_transfer_id IS NOT NULL) AND "
     "(disburse_transfer_id IS NULL) = (voucher_no IS NULL) AND "
     "(voucher_no IS NULL) = (paid_on IS NULL)"),
    ("tranche", "cancelled_iff", "(state = 'cancelled') = (cancelled_at IS NOT NULL)"),
    ("tranche", "withheld_has_reason", "state <> 'withheld' OR length(withheld_reason) > 0"),
]  # fmt: skip


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _extend_existing():
    """Add the columns; on SQLite without rebuilding the tables every module references
    (a rebuild would drop rows referenced by foreign keys): a column-level REFERENCES
    and no CHECK there — the rules hold through the operations and, on PostgreSQL, in
    the database too."""
    for table, column in _PLAIN_COLUMNS:
        op.add_column(table, column)
    for table, column, target, ondelete in _FK_COLUMNS:
        name = f"fk_{table}_{column}_{target}"
        if _sqlite():
            action = f" ON DELETE {ondelete}" if ondelete else ""
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                f'CONSTRAINT {name} REFERENCES "{target}" (id){action}'
            )
        else:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, target, [column], ["id"], ondelete=ondelete)
    if not _sqlite():
        for table, name, condition in _CHECKS:
            op.create_check_constraint(f"ck_{table}_{name}", table, condition)


def _shrink_existing():
    if not _sqlite():
        for table, name, _condition in reversed(_CHECKS):
            op.drop_constraint(f"ck_{table}_{name}", table, type_="check")
        for table, column, target, _ondelete in reversed(_FK_COLUMNS):
            op.drop_constraint(f"fk_{table}_{column}_{target}", table, type_="foreignkey")
    for table, column, _target, _ondelete in reversed(_FK_COLUMNS):
        if _sqlite():  # SQLite cannot drop a column that carries a REFERENCES clause
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.drop_column(column)
        else:
            op.drop_column(table, column)
    for table, column in reversed(_PLAIN_COLUMNS):
        op.drop_column(table, column.name)


def _append_only(create: bool):
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in (append_only_create if create else append_only_drop)(table, dialect):
            op.execute(statement)


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "clawback_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("voucher_no", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind <> 'receipt' OR length(voucher_no) > 0",
            name=op.f("ck_clawback_entry_receipt_voucher"),
        ),
        sa.CheckConstraint(
            "kind IN ('demand', 'receipt')", name=op.f("ck_clawback_entry_kind_valid")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_clawback_entry_amount_positive")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_clawback_entry_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user.id"],
            name=op.f("fk_clawback_entry_recorded_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["ledger_transfer.id"],
            name=op.f("fk_clawback_entry_transfer_id_ledger_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clawback_entry")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_clawback_entry_transfer_id")),
    )
    with op.batch_alter_table("clawback_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clawback_entry_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "matching_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("voucher_no", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_matching_receipt_amount_positive")),
        sa.CheckConstraint(
            "length(voucher_no) > 0", name=op.f("ck_matching_receipt_voucher_given")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_matching_receipt_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user.id"],
            name=op.f("fk_matching_receipt_recorded_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_receipt")),
        sa.UniqueConstraint("project_id", "voucher_no", name="uq_matching_receipt_voucher"),
    )
    with op.batch_alter_table("matching_receipt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_matching_receipt_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "midterm_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("report_ids", sa.JSON(), nullable=False),
        sa.Column("evaluation_note", sa.Text(), server_default="", nullable=False),
        sa.Column("site_visit_on", sa.Date(), nullable=True),
        sa.Column("site_visit_note", sa.Text(), server_default="", nullable=False),
        sa.Column("site_visit_file_id", sa.Integer(), nullable=True),
        sa.Column("rectify_by", sa.Date(), nullable=True),
        sa.Column("rectify_items", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome <> 'rectify' OR (rectify_by IS NOT NULL AND length(rectify_items) > 0)",
            name=op.f("ck_midterm_check_rectify_has_terms"),
        ),
        sa.CheckConstraint(
            "outcome IN ('pass', 'rectify', 'suspend')", name=op.f("ck_midterm_check_outcome_valid")
        ),
        sa.CheckConstraint("length(findings) > 0", name=op.f("ck_midterm_check_findings_given")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_midterm_check_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user.id"],
            name=op.f("fk_midterm_check_recorded_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_visit_file_id"],
            ["stored_file.id"],
            name=op.f("fk_midterm_check_site_visit_file_id_stored_file"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_midterm_check")),
    )
    with op.batch_alter_table("midterm_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_midterm_check_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("is_major", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("forwarded_by_id", sa.Integer(), nullable=True),
        sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amendment_id", sa.Integer(), nullable=True),
        sa.Column("amendment_number", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(state = 'draft') = (submitted_at IS NULL)",
            name=op.f("ck_change_request_submitted_iff"),
        ),
        sa.CheckConstraint(
            "(state IN ('approved', 'rejected', 'recorded')) = (decided_at IS NOT NULL)",
            name=op.f("ck_change_request_decided_iff"),
        ),
        sa.CheckConstraint(
            "NOT is_major OR state <> 'recorded'",
            name=op.f("ck_change_request_major_never_recorded"),
        ),
        sa.CheckConstraint(
            "is_major = (kind IN ('leader', 'lead_org', 'targets', 'name', 'reallocation', "
            "'extension'))",
            name=op.f("ck_change_request_major_by_kind"),
        ),
        sa.CheckConstraint(
            "is_major OR state NOT IN ('approved', 'rejected')",
            name=op.f("ck_change_request_minor_only_recorded"),
        ),
        sa.CheckConstraint(
            "kind IN ('leader', 'lead_org', 'targets', 'name', 'reallocation', 'extension', "
            "'minor')",
            name=op.f("ck_change_request_kind_valid"),
        ),
        sa.CheckConstraint(
            "state <> 'approved' OR (amendment_id IS NOT NULL AND amendment_number IS NOT NULL)",
            name=op.f("ck_change_request_approved_has_amendment"),
        ),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'approved', 'rejected', 'recorded')",
            name=op.f("ck_change_request_state_valid"),
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR forwarded_by_id IS NULL OR decided_by_id <> forwarded_by_id",
            name=op.f("ck_change_request_four_eyes"),
        ),
        sa.CheckConstraint(
            "length(description) > 0", name=op.f("ck_change_request_description_given")
        ),
        sa.ForeignKeyConstraint(
            ["amendment_id"],
            ["agreement_amendment.id"],
            name=op.f("fk_change_request_amendment_id_agreement_amendment"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_change_request_created_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_change_request_decided_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["forwarded_by_id"], ["user.id"], name=op.f("fk_change_request_forwarded_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_change_request_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
    )
    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_request_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_change_request_state"), ["state"], unique=False)

    op.create_table(
        "project_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fraud", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("ban_years", sa.Integer(), nullable=True),
        sa.Column("midterm_check_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(state = 'proposed') = (decided_at IS NULL)",
            name=op.f("ck_project_decision_decided_iff"),
        ),
        sa.CheckConstraint(
            "NOT fraud OR kind = 'revoke'", name=op.f("ck_project_decision_fraud_only_revoke")
        ),
        sa.CheckConstraint(
            "kind IN ('suspend', 'resume', 'terminate', 'revoke')",
            name=op.f("ck_project_decision_kind_valid"),
        ),
        sa.CheckConstraint(
            "state IN ('proposed', 'approved', 'rejected')",
            name=op.f("ck_project_decision_state_valid"),
        ),
        sa.CheckConstraint(
            "(ban_years IS NOT NULL) = fraud", name=op.f("ck_project_decision_ban_iff_fraud")
        ),
        sa.CheckConstraint(
            "ban_years IS NULL OR ban_years BETWEEN 1 AND 10",
            name=op.f("ck_project_decision_ban_years_range"),
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> proposed_by_id",
            name=op.f("ck_project_decision_four_eyes"),
        ),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_project_decision_reason_given")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user.id"],
            name=op.f("fk_project_decision_decided_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["midterm_check_id"],
            ["midterm_check.id"],
            name=op.f("fk_project_decision_midterm_check_id_midterm_check"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_project_decision_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["user.id"],
            name=op.f("fk_project_decision_proposed_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_decision")),
    )
    with op.batch_alter_table("project_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_decision_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("narrative", sa.Text(), server_default="", nullable=False),
        sa.Column("target_values", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'progress') = (milestone_id IS NOT NULL)",
            name=op.f("ck_project_report_milestone_iff_progress"),
        ),
        sa.CheckConstraint(
            "(state = 'draft') = (submitted_at IS NULL)",
            name=op.f("ck_project_report_submitted_iff"),
        ),
        sa.CheckConstraint(
            "(state IN ('accepted', 'returned')) = (decided_at IS NOT NULL)",
            name=op.f("ck_project_report_decided_iff"),
        ),
        sa.CheckConstraint(
            "kind IN ('progress', 'closing')", name=op.f("ck_project_report_kind_valid")
        ),
        sa.CheckConstraint(
            "state <> 'returned' OR length(comments) > 0",
            name=op.f("ck_project_report_returned_has_comments"),
        ),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'accepted', 'returned')",
            name=op.f("ck_project_report_state_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_project_report_created_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_project_report_decided_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestone.id"],
            name=op.f("fk_project_report_milestone_id_milestone"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_project_report_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["user.id"], name=op.f("fk_project_report_submitted_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_report")),
        sa.UniqueConstraint("milestone_id", name=op.f("uq_project_report_milestone_id")),
    )
    with op.batch_alter_table("project_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_report_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            "uq_project_report_closing",
            ["project_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'closing'"),
            postgresql_where=sa.text("kind = 'closing'"),
        )

    op.create_table(
        "expenditure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("society_id", sa.Integer(), nullable=False),
        sa.Column("line_key", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("voucher_no", sa.String(length=64), nullable=False),
        sa.Column("payee", sa.String(length=200), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('fund', 'matching', 'self_raised')",
            name=op.f("ck_expenditure_source_valid"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_expenditure_amount_positive")),
        sa.CheckConstraint(
            "length(voucher_no) > 0 AND length(payee) > 0",
            name=op.f("ck_expenditure_voucher_payee_given"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_file.id"], name=op.f("fk_expenditure_file_id_stored_file")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_expenditure_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["project_report.id"],
            name=op.f("fk_expenditure_report_id_project_report"),
        ),
        sa.ForeignKeyConstraint(
            ["society_id"], ["organisation.id"], name=op.f("fk_expenditure_society_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expenditure")),
        sa.UniqueConstraint("society_id", "voucher_no", name="uq_expenditure_society_voucher"),
    )
    with op.batch_alter_table("expenditure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expenditure_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expenditure_report_id"), ["report_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expenditure_society_id"), ["society_id"], unique=False)

    op.create_table(
        "report_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_file.id"], name=op.f("fk_report_attachment_file_id_stored_file")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["project_report.id"],
            name=op.f("fk_report_attachment_report_id_project_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_attachment")),
    )
    with op.batch_alter_table("report_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_attachment_report_id"), ["report_id"], unique=False
        )

    op.create_table(
        "report_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_report_revision_sha256_length")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_report_revision_created_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["project_report.id"],
            name=op.f("fk_report_revision_report_id_project_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_revision")),
        sa.UniqueConstraint("report_id", "number", name="uq_report_revision_number"),
    )
    with op.batch_alter_table("report_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_revision_report_id"), ["report_id"], unique=False
        )

    _extend_existing()
    _append_only(create=True)
    # ### end Alembic commands ###


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    _append_only(create=False)
    _shrink_existing()
    with op.batch_alter_table("report_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_revision_report_id"))

    op.drop_table("report_revision")
    with op.batch_alter_table("report_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_attachment_report_id"))

    op.drop_table("report_attachment")
    with op.batch_alter_table("expenditure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expenditure_society_id"))
        batch_op.drop_index(batch_op.f("ix_expenditure_report_id"))
        batch_op.drop_index(batch_op.f("ix_expenditure_project_id"))

    op.drop_table("expenditure")
    with op.batch_alter_table("project_report", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_project_report_closing",
            sqlite_where=sa.text("kind = 'closing'"),
            postgresql_where=sa.text("kind = 'closing'"),
        )
        batch_op.drop_index(batch_op.f("ix_project_report_project_id"))

    op.drop_table("project_report")
    with op.batch_alter_table("project_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_decision_project_id"))

    op.drop_table("project_decision")
    with op.batch_alter_table("change_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_request_state"))
        batch_op.drop_index(batch_op.f("ix_change_request_project_id"))

    op.drop_table("change_request")
    with op.batch_alter_table("midterm_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_midterm_check_project_id"))

    op.drop_table("midterm_check")
    with op.batch_alter_table("matching_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matching_receipt_project_id"))

    op.drop_table("matching_receipt")
    with op.batch_alter_table("clawback_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clawback_entry_project_id"))

    op.drop_table("clawback_entry")
    # ### end Alembic commands ###
