"""stations: service stations' registry (partners, expert team, documents, the
cooperation agreement with both confirmations, demonstration-base evidence), pilot
profiles and pilot regions, the needs board with societies' proposals, stations'
yearly reports and third-party evaluations

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-29 11:28:02.575242

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "enterprise_park",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("park_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_enterprise_park_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["park_id"],
            ["high_tech_park.id"],
            name=op.f("fk_enterprise_park_park_id_high_tech_park"),
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_enterprise_park")),
    )
    with op.batch_alter_table("enterprise_park", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprise_park_park_id"), ["park_id"], unique=False)

    op.create_table(
        "station_base_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("criterion", sa.String(length=40), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_file.id"],
            name=op.f("fk_station_base_evidence_file_id_stored_file"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_base_evidence_station_id_station")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user.id"],
            name=op.f("fk_station_base_evidence_uploaded_by_id_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_base_evidence")),
        sa.UniqueConstraint("station_id", "criterion", name="uq_station_base_evidence_item"),
    )
    with op.batch_alter_table("station_base_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_station_base_evidence_station_id"), ["station_id"], unique=False
        )

    op.create_table(
        "station_evaluation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("rubric_snapshot_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("report_file_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by_id", sa.Integer(), nullable=True),
        sa.Column("override_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "grade IN ('excellent', 'good', 'fair', 'poor')",
            name=op.f("ck_station_evaluation_grade_valid"),
        ),
        sa.CheckConstraint(
            "override_at IS NULL OR grade = 'poor'",
            name=op.f("ck_station_evaluation_override_only_poor"),
        ),
        sa.CheckConstraint(
            "(override_at IS NULL) = (override_by_id IS NULL) AND (override_at IS NULL) = (override_reason IS NULL)",
            name=op.f("ck_station_evaluation_override_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["organisation.id"],
            name=op.f("fk_station_evaluation_agency_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["evaluator_id"],
            ["user.id"],
            name=op.f("fk_station_evaluation_evaluator_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["override_by_id"], ["user.id"], name=op.f("fk_station_evaluation_override_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["report_file_id"],
            ["stored_file.id"],
            name=op.f("fk_station_evaluation_report_file_id_stored_file"),
        ),
        sa.ForeignKeyConstraint(
            ["rubric_snapshot_id"],
            ["rubric_snapshot.id"],
            name=op.f("fk_station_evaluation_rubric_snapshot_id_rubric_snapshot"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_evaluation_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_evaluation")),
        sa.UniqueConstraint("station_id", "year", name="uq_station_evaluation_year"),
    )
    with op.batch_alter_table("station_evaluation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_station_evaluation_grade"), ["grade"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_station_evaluation_station_id"), ["station_id"], unique=False
        )

    op.create_table(
        "station_expert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_expert_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_expert")),
    )
    with op.batch_alter_table("station_expert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_station_expert_station_id"), ["station_id"], unique=False
        )

    op.create_table(
        "station_partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("society_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["society_id"],
            ["organisation.id"],
            name=op.f("fk_station_partner_society_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_partner_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_partner")),
        sa.UniqueConstraint("station_id", "society_id", name="uq_station_partner_society"),
    )
    with op.batch_alter_table("station_partner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_station_partner_society_id"), ["society_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_station_partner_station_id"), ["station_id"], unique=False
        )

    op.create_table(
        "station_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("needs_collected", sa.Integer(), nullable=False),
        sa.Column("needs_solved", sa.Integer(), nullable=False),
        sa.Column("experts_stationed", sa.Integer(), nullable=False),
        sa.Column("enterprises_served", sa.Integer(), nullable=False),
        sa.Column("technicians_trained", sa.Integer(), nullable=False),
        sa.Column("events_held", sa.Integer(), nullable=False),
        sa.Column("patents", sa.Integer(), nullable=False),
        sa.Column("standards", sa.Integer(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("revenue_fen", sa.BigInteger(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("evidence_file_ids", sa.JSON(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "needs_collected >= 0 AND needs_solved >= 0 AND experts_stationed >= 0 AND enterprises_served >= 0 AND technicians_trained >= 0 AND events_held >= 0 AND patents >= 0 AND standards >= 0 AND products >= 0 AND revenue_fen >= 0",
            name=op.f("ck_station_report_counts_nonnegative"),
        ),
        sa.CheckConstraint(
            "needs_solved <= needs_collected", name=op.f("ck_station_report_solved_le_collected")
        ),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_station_report_year_range")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_station_report_station_id_station")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["user.id"],
            name=op.f("fk_station_report_submitted_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_report")),
        sa.UniqueConstraint("station_id", "year", name="uq_station_report_year"),
    )
    with op.batch_alter_table("station_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_station_report_station_id"), ["station_id"], unique=False
        )

    op.create_table(
        "pilot_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("park_id", sa.Integer(), nullable=False),
        sa.Column("leading_industries", sa.Text(), nullable=False),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("premises", sa.Text(), nullable=False),
        sa.Column("matching_funds_fen", sa.BigInteger(), nullable=False),
        sa.Column("staff_count", sa.Integer(), nullable=False),
        sa.Column("staff_note", sa.Text(), nullable=False),
        sa.Column("lead_society_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "matching_funds_fen >= 0", name=op.f("ck_pilot_profile_matching_nonnegative")
        ),
        sa.CheckConstraint("staff_count >= 0", name=op.f("ck_pilot_profile_staff_nonnegative")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_pilot_profile_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_society_id"],
            ["organisation.id"],
            name=op.f("fk_pilot_profile_lead_society_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["park_id"], ["high_tech_park.id"], name=op.f("fk_pilot_profile_park_id_high_tech_park")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilot_profile")),
        sa.UniqueConstraint("application_id", name=op.f("uq_pilot_profile_application_id")),
    )
    with op.batch_alter_table("pilot_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pilot_profile_park_id"), ["park_id"], unique=False)

    op.create_table(
        "pilot_region",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("government_id", sa.Integer(), nullable=False),
        sa.Column("park_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=False),
        sa.Column("selected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_pilot_region_application_id_application"),
        ),
        sa.ForeignKeyConstraint(
            ["award_id"], ["award.id"], name=op.f("fk_pilot_region_award_id_award")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_pilot_region_call_id_call")
        ),
        sa.ForeignKeyConstraint(
            ["government_id"],
            ["organisation.id"],
            name=op.f("fk_pilot_region_government_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["park_id"], ["high_tech_park.id"], name=op.f("fk_pilot_region_park_id_high_tech_park")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilot_region")),
        sa.UniqueConstraint("application_id", name=op.f("uq_pilot_region_application_id")),
        sa.UniqueConstraint("award_id", name=op.f("uq_pilot_region_award_id")),
    )
    with op.batch_alter_table("pilot_region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pilot_region_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pilot_region_government_id"), ["government_id"], unique=False
        )

    op.create_table(
        "need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("posted_by_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=40), nullable=False),
        sa.Column("screened_by_id", sa.Integer(), nullable=True),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("screen_reason", sa.Text(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(state = 'closed') = (closed_at IS NOT NULL) AND (state <> 'closed' OR (satisfaction IS NOT NULL AND length(result) > 0))",
            name=op.f("ck_need_closed_with_result"),
        ),
        sa.CheckConstraint(
            "(state IN ('matched', 'in_progress', 'solved', 'closed')) = (project_id IS NOT NULL)",
            name=op.f("ck_need_project_iff_matched"),
        ),
        sa.CheckConstraint(
            "kind IN ('strategy', 'tech_route', 'key_tech', 'talent', 'training', 'outreach')",
            name=op.f("ck_need_kind_valid"),
        ),
        sa.CheckConstraint(
            "state <> 'not_accepted' OR length(screen_reason) > 0",
            name=op.f("ck_need_refusal_has_reason"),
        ),
        sa.CheckConstraint(
            "state IN ('posted') OR screened_at IS NOT NULL",
            name=op.f("ck_need_screened_when_handled"),
        ),
        sa.CheckConstraint(
            "state IN ('posted', 'screened', 'not_accepted', 'matched', 'in_progress', 'solved', 'closed')",
            name=op.f("ck_need_state_valid"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('solved', 'closed') OR solved_at IS NOT NULL",
            name=op.f("ck_need_solved_at_iff"),
        ),
        sa.CheckConstraint(
            "urgency IN ('low', 'normal', 'high')", name=op.f("ck_need_urgency_valid")
        ),
        sa.CheckConstraint(
            "(project_id IS NULL) = (matched_at IS NULL)", name=op.f("ck_need_matched_at_iff")
        ),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
            name=op.f("ck_need_satisfaction_range"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_need_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["posted_by_id"],
            ["user.id"],
            name=op.f("fk_need_posted_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_need_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["screened_by_id"], ["user.id"], name=op.f("fk_need_screened_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_need_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need")),
    )
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_need_industry"), ["industry"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_station_id"), ["station_id"], unique=False)

    op.create_table(
        "need_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("society_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("experts", sa.JSON(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("is_selected", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(content) > 0", name=op.f("ck_need_proposal_content_given")),
        sa.ForeignKeyConstraint(
            ["need_id"], ["need.id"], name=op.f("fk_need_proposal_need_id_need")
        ),
        sa.ForeignKeyConstraint(
            ["society_id"],
            ["organisation.id"],
            name=op.f("fk_need_proposal_society_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["user.id"],
            name=op.f("fk_need_proposal_submitted_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_proposal")),
        sa.UniqueConstraint("need_id", "society_id", name="uq_need_proposal_society"),
    )
    with op.batch_alter_table("need_proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_need_proposal_need_id"), ["need_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_need_proposal_society_id"), ["society_id"], unique=False
        )

    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("chief_expert", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
        )
        batch_op.add_column(sa.Column("rules_file_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_file_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agreement_file_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("society_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("society_confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("government_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("government_confirmed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("established_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("base_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_station_society_confirmed_by_id_user"),
            "user",
            ["society_confirmed_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_station_rules_file_id_stored_file"),
            "stored_file",
            ["rules_file_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_station_agreement_file_id_stored_file"),
            "stored_file",
            ["agreement_file_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_station_government_confirmed_by_id_user"),
            "user",
            ["government_confirmed_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_station_plan_file_id_stored_file"),
            "stored_file",
            ["plan_file_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            "confirmations_complete",
            "(society_confirmed_at IS NULL) = (society_confirmed_by_id IS NULL) AND "
            "(government_confirmed_at IS NULL) = (government_confirmed_by_id IS NULL)",
        )
        batch_op.create_check_constraint(
            "confirmed_agreement_exists",
            "agreement_file_id IS NOT NULL OR "
            "(society_confirmed_at IS NULL AND government_confirmed_at IS NULL)",
        )
        batch_op.create_check_constraint(
            "established_at_when_established",
            "state IN ('planned', 'closed') OR established_at IS NOT NULL",
        )
        batch_op.create_check_constraint(
            "base_at_when_base", "state <> 'base' OR base_at IS NOT NULL"
        )
        batch_op.create_check_constraint(
            "closed_at_iff", "(state = 'closed') = (closed_at IS NOT NULL)"
        )


def downgrade():
    with op.batch_alter_table("station", schema=None) as batch_op:
        for name in (
            "confirmations_complete",
            "confirmed_agreement_exists",
            "established_at_when_established",
            "base_at_when_base",
            "closed_at_iff",
        ):
            batch_op.drop_constraint(batch_op.f(f"ck_station_{name}"), type_="check")

    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_station_plan_file_id_stored_file"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_station_government_confirmed_by_id_user"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_station_agreement_file_id_stored_file"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_station_rules_file_id_stored_file"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_station_society_confirmed_by_id_user"), type_="foreignkey"
        )
        batch_op.drop_column("closed_at")
        batch_op.drop_column("base_at")
        batch_op.drop_column("established_at")
        batch_op.drop_column("government_confirmed_by_id")
        batch_op.drop_column("government_confirmed_at")
        batch_op.drop_column("society_confirmed_by_id")
        batch_op.drop_column("society_confirmed_at")
        batch_op.drop_column("agreement_file_id")
        batch_op.drop_column("plan_file_id")
        batch_op.drop_column("rules_file_id")
        batch_op.drop_column("chief_expert")

    with op.batch_alter_table("need_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_proposal_society_id"))
        batch_op.drop_index(batch_op.f("ix_need_proposal_need_id"))

    op.drop_table("need_proposal")
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_station_id"))
        batch_op.drop_index(batch_op.f("ix_need_state"))
        batch_op.drop_index(batch_op.f("ix_need_project_id"))
        batch_op.drop_index(batch_op.f("ix_need_org_id"))
        batch_op.drop_index(batch_op.f("ix_need_kind"))
        batch_op.drop_index(batch_op.f("ix_need_industry"))

    op.drop_table("need")
    with op.batch_alter_table("pilot_region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pilot_region_government_id"))
        batch_op.drop_index(batch_op.f("ix_pilot_region_call_id"))

    op.drop_table("pilot_region")
    with op.batch_alter_table("pilot_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pilot_profile_park_id"))

    op.drop_table("pilot_profile")
    with op.batch_alter_table("station_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_report_station_id"))

    op.drop_table("station_report")
    with op.batch_alter_table("station_partner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_partner_station_id"))
        batch_op.drop_index(batch_op.f("ix_station_partner_society_id"))

    op.drop_table("station_partner")
    with op.batch_alter_table("station_expert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_expert_station_id"))

    op.drop_table("station_expert")
    with op.batch_alter_table("station_evaluation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_evaluation_station_id"))
        batch_op.drop_index(batch_op.f("ix_station_evaluation_grade"))

    op.drop_table("station_evaluation")
    with op.batch_alter_table("station_base_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_station_base_evidence_station_id"))

    op.drop_table("station_base_evidence")
    with op.batch_alter_table("enterprise_park", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_park_park_id"))

    op.drop_table("enterprise_park")
