"""What the project operations share: locking, refusals, configuration, the approved
budget (agreement plus approved reallocations), spending sums and the people to notify."""

from __future__ import annotations

import calendar
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from app.awards.models import TaskAgreement
from app.core.errors import NotAllowed
from app.extensions import db
from app.projects.models import ChangeRequest, Expenditure, MatchingReceipt, Project, ProjectReport

# Reports whose expenditures count as reported spending (drafts and returned ones do not).
COUNTED_REPORT_STATES = ("submitted", "accepted")


def require(decision) -> None:
    """Raise ``NotAllowed`` with the decision's reason when it refuses."""
    if not decision:
        raise NotAllowed(decision.reason)


def lock(model, row):
    """Re-read ``row`` under a row lock (``FOR UPDATE``; SQLite writes are serialised)."""
    return db.session.execute(
        select(model)
        .where(model.id == row.id)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    ).scalar_one()


def setting(name: str, default):
    """A configurable default (DOMAIN.md: every number is configurable)."""
    return current_app.config.get(name, default)


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def agreement_of(project: Project) -> TaskAgreement | None:
    """The project's signed task agreement."""
    return db.session.scalar(select(TaskAgreement).where(TaskAgreement.award_id == project.id))


def planned_end(project: Project) -> date | None:
    """The planned end: after an approved extension, else the last milestone's due date."""
    if project.end_on is not None:
        return project.end_on
    dates = [m.due_on for m in project.milestones if m.due_on is not None]
    return max(dates) if dates else None


def approved_changes(project: Project, kind: str) -> list[ChangeRequest]:
    """The project's approved change requests of ``kind``, oldest first."""
    return list(
        db.session.scalars(
            select(ChangeRequest)
            .where(
                ChangeRequest.project_id == project.id,
                ChangeRequest.kind == kind,
                ChangeRequest.state == "approved",
            )
            .order_by(ChangeRequest.id)
        )
    )


def approved_budget(project: Project) -> list[dict]:
    """The budget lines as approved: the agreement's, moved by approved reallocations.

    Each item: ``line_key``, ``name``, ``fund_fen``, ``matching_fen``, ``self_raised_fen``.
    """
    return budget_lines(agreement_of(project), approved_changes(project, "reallocation"))


def budget_lines(agreement: TaskAgreement | None, reallocations) -> list[dict]:
    """``approved_budget`` from the agreement and its approved reallocations (oldest first),
    for pages that read both for many projects at once."""
    lines = [
        {
            "line_key": b["line_key"],
            "name": b.get("name") or b["line_key"],
            "fund_fen": int(b.get("fund_fen") or 0),
            "matching_fen": int(b.get("matching_fen") or 0),
            "self_raised_fen": int(b.get("self_raised_fen") or 0),
        }
        for b in (agreement.budget if agreement else [])
    ]
    by_key = {line["line_key"]: line for line in lines}
    for change in reallocations:
        p = change.payload
        column = f"{p.get('source') or 'fund'}_fen"
        if p["from_line"] in by_key and p["to_line"] in by_key:
            by_key[p["from_line"]][column] -= int(p["amount_fen"])
            by_key[p["to_line"]][column] += int(p["amount_fen"])
    return lines


def approved_line(project: Project, line_key: str, source: str) -> int:
    """The approved amount of one budget line × source (0 when the line is absent)."""
    for line in approved_budget(project):
        if line["line_key"] == line_key:
            return int(line[f"{source}_fen"])
    return 0


def spent_fen(project_id: int, *, line_key=None, source=None, counted_only: bool = True) -> int:
    """Recorded spending of a project, optionally of one line and/or source.

    ``counted_only``: only submitted and accepted reports (else drafts too).
    """
    stmt = (
        select(func.coalesce(func.sum(Expenditure.amount_fen), 0))
        .join(ProjectReport, ProjectReport.id == Expenditure.report_id)
        .where(Expenditure.project_id == project_id)
    )
    if counted_only:
        stmt = stmt.where(ProjectReport.state.in_(COUNTED_REPORT_STATES))
    if line_key is not None:
        stmt = stmt.where(Expenditure.line_key == line_key)
    if source is not None:
        stmt = stmt.where(Expenditure.source == source)
    return int(db.session.scalar(stmt) or 0)


def matching_received_fen(project_id: int) -> int:
    """Matching funds received so far (the co-building government's register)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(MatchingReceipt.amount_fen), 0)).where(
                MatchingReceipt.project_id == project_id
            )
        )
        or 0
    )


def matching_committed_fen(project: Project) -> int:
    """Matching funds committed: the co-building government's confirmed commitment; when
    the call requires matching but none was confirmed, the budget's matching column; else 0
    (no matching condition on tranches)."""
    app = project.application
    if app is not None and app.matching_committed_fen is not None:
        return int(app.matching_committed_fen)
    if app is not None and app.call.matching_required:
        return sum(int(b["matching_fen"]) for b in approved_budget(project))
    return 0


def current_targets(project: Project) -> list[dict]:
    """The performance targets in force: the agreement's, or the last approved change's."""
    changes = approved_changes(project, "targets")
    if changes:
        return list(changes[-1].payload.get("targets") or [])
    agreement = agreement_of(project)
    return list(agreement.targets if agreement else [])


def project_title(project: Project) -> str:
    """The project's name in force (after an approved name change)."""
    changes = approved_changes(project, "name")
    if changes:
        return changes[-1].payload["value"]
    return title_in_force(project, agreement_of(project), ())


def title_in_force(project: Project, agreement: TaskAgreement | None, name_changes) -> str:
    """``project_title`` from the agreement and the approved name changes (oldest first)."""
    if name_changes:
        return name_changes[-1].payload["value"]
    return agreement.title if agreement else project.application.title


def project_leader(project: Project) -> str:
    """The project leader in force: the last approved leader change, else the chief
    expert named in the application."""
    changes = approved_changes(project, "leader")
    if changes:
        return changes[-1].payload["value"]
    return (project.application.chief_expert or {}).get("name", "")


def team_names(project: Project) -> set[str]:
    """Names of the project's members (chief expert, team, leaders named by changes)."""
    app = project.application
    names = {(app.chief_expert or {}).get("name", "")}
    names |= {(m or {}).get("name", "") for m in app.team or []}
    names |= {c.payload.get("value", "") for c in approved_changes(project, "leader")}
    return {_norm(n) for n in names if n and n.strip()}


def _norm(name: str) -> str:
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", name).split())


def is_team_member(project: Project, payee: str) -> bool:
    """Whether ``payee`` names a member of the project (whitespace and width ignored)."""
    return _norm(payee or "") in team_names(project)
