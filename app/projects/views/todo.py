"""Work waiting for a user on the dashboard."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.home.views import TODO_SOURCES
from app.projects.models import (
    ChangeRequest,
    Project,
    ProjectDecision,
    ProjectReport,
    Tranche,
)
from app.projects.states import RUNNING_STATES


def _todo(user) -> list:
    """Work waiting for ``user``: reports to review, tranches to release or pay, changes."""
    items = []
    if user.has_role("officer"):
        n = db.session.scalar(
            select(db.func.count(ProjectReport.id)).where(
                ProjectReport.state == "submitted",
                ProjectReport.kind == "progress",
                ProjectReport.endorsed_at.is_not(None),
            )
        )
        if n:
            items.append((_("待审核的进展报告"), n, "projects.list_projects"))
        n = db.session.scalar(
            select(db.func.count(Project.id)).where(
                Project.state.in_(RUNNING_STATES), Project.closing_overdue_at.is_not(None)
            )
        )
        if n:
            items.append((_("逾期未交的结题报告"), n, "projects.list_projects"))
        late = db.session.scalar(
            select(db.func.count()).select_from(
                select(Project.id)
                .join(Project.milestones)
                .where(
                    Project.state.in_(("in_progress", "midterm", "rectifying")),
                    db.text("milestone.overdue_at IS NOT NULL"),
                    db.text("milestone.state IN ('planned', 'due', 'returned')"),
                )
                .subquery()
            )
        )
        if late:
            items.append((_("逾期未报的进展报告"), late, "projects.list_projects"))
    if user.has_role("society_admin"):
        n = db.session.scalar(
            select(db.func.count(ProjectReport.id))
            .join(Project, Project.id == ProjectReport.project_id)
            .where(
                Project.society_id == user.org_id,
                ProjectReport.state == "submitted",
                ProjectReport.endorsed_at.is_(None),
            )
        )
        if n:
            items.append((_("待学会负责人审核的项目报告"), n, "projects.list_projects"))
    if user.has_role("society_admin", "applicant"):
        n = db.session.scalar(
            select(db.func.count(Project.id)).where(
                Project.society_id == user.org_id,
                Project.state.in_(RUNNING_STATES),
                Project.closing_overdue_at.is_not(None),
            )
        )
        if n:
            items.append((_("逾期未交的结题报告"), n, "projects.list_projects"))
    if user.has_role("approver"):
        n = db.session.scalar(
            select(db.func.count(Tranche.id)).where(Tranche.state == "releasable")
        )
        if n:
            items.append((_("待批准拨付的批次"), n, "projects.list_projects"))
        n = db.session.scalar(
            select(db.func.count(ProjectDecision.id)).where(ProjectDecision.state == "proposed")
        )
        n += db.session.scalar(
            select(db.func.count(ChangeRequest.id)).where(
                ChangeRequest.state == "submitted", ChangeRequest.forwarded_at.is_not(None)
            )
        )
        if n:
            items.append((_("待审批的项目决定和变更"), n, "projects.list_projects"))
    if user.has_role("finance"):
        n = db.session.scalar(select(db.func.count(Tranche.id)).where(Tranche.state == "released"))
        if n:
            items.append((_("待支付的批次"), n, "projects.list_projects"))
    return items


TODO_SOURCES.append(_todo)
