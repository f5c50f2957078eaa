"""Project pages: the list and dashboard, one project with its milestones, tranches,
reports, matching funds, changes and decisions; report editing; finance downloads.

One blueprint, split by audience: ``pages`` (list, project, finance sheets), ``reports``
(the society's reports, sign-off, review, files), ``manage`` (changes, the officer's,
approver's and finance's acts on a project), ``todo`` (dashboard work items).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from app.applications.models import Application
from app.core.errors import DomainError
from app.extensions import db
from app.home import navigation
from app.projects.models import Project
from app.projects.permissions import STAFF, can_view_project
from app.projects.states import (
    ChangeState,
    MilestoneState,
    ProjectState,
    ReportState,
    TrancheState,
)

bp = Blueprint("projects", __name__, url_prefix="/projects")
navigation.add("projects.list_projects", _l("项目管理"), "projects.read")
navigation.add("projects.finance", _l("财务报表"), "projects.export")


@bp.app_template_filter("project_label")
def project_label(value, kind: str = "project") -> str:
    """The label of a project, milestone, tranche, report or change state."""
    enum = {
        "project": ProjectState,
        "milestone": MilestoneState,
        "tranche": TrancheState,
        "report": ReportState,
        "change": ChangeState,
    }[kind]
    return str(enum(str(value)).label)


def _visible():
    """Projects the current user may see, as a query."""
    stmt = select(Project).order_by(Project.id.desc())
    if current_user.has_role(*STAFF):
        return stmt
    return stmt.join(Application, Application.id == Project.application_id).where(
        or_(
            Project.society_id == current_user.org_id,
            Application.co_government_id == current_user.org_id,
        )
    )


def _load(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or not can_view_project(current_user, project):
        abort(404)
    return project


def _fail(err: DomainError) -> None:
    db.session.rollback()
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def _back(project_id: int, message: str | None = None):
    if message:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("projects.show_project", project_id=project_id))


def _rows(model, project_id):
    return db.session.scalars(
        select(model).where(model.project_id == project_id).order_by(model.id)
    ).all()


from app.projects import cli as _cli  # noqa: E402, F401  (registers the tick handlers)
from app.projects import demo as _demo  # noqa: E402, F401  (registers the demo step)
from app.projects.views import imports, manage, pages, reports, todo  # noqa: E402,F401  (routes join bp)
