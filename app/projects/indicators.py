"""Project indicators the dashboard and the third-party evaluation read.

Each returns a ``Decimal`` ratio (1 = 100%, four decimal places, ROUND_HALF_UP) or
``None`` when it is undefined (nothing to divide by yet). Pure reads: no writes.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.projects.models import Project, ProjectReport
from app.projects.operations.common import (
    approved_budget,
    matching_committed_fen,
    matching_received_fen,
    spent_fen,
)

PLACES = Decimal("0.0001")


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(int(numerator)) / Decimal(int(denominator))).quantize(PLACES, ROUND_HALF_UP)


def budget_execution_rate(project: Project) -> Decimal | None:
    """Reported spending of this fund (submitted/accepted reports) ÷ its approved budget."""
    return execution_rate(
        approved_budget(project), project.amount_fen, spent_fen(project.id, source="fund")
    )


def execution_rate(lines: list[dict], amount_fen: int, spent_fund_fen: int) -> Decimal | None:
    """``budget_execution_rate`` from the approved budget lines, the award's amount and the
    reported spending of the fund (for pages that read them for many projects at once)."""
    budget = sum(line["fund_fen"] for line in lines) or amount_fen
    return _ratio(spent_fund_fen, budget)


def funds_in_place_rate(project: Project) -> Decimal | None:
    """Matching funds received ÷ matching funds committed (None when none committed)."""
    return _ratio(matching_received_fen(project.id), matching_committed_fen(project))


def on_time_milestone_rate(project: Project, today: date | None = None) -> Decimal | None:
    """Milestones accepted by their due date ÷ milestones due so far (milestone 0 excluded)."""
    today = today or clock.today()
    due = [m for m in project.milestones if m.seq > 0 and m.due_on and m.due_on <= today]
    on_time = [
        m
        for m in due
        if m.accepted_at is not None and clock.local(m.accepted_at).date() <= m.due_on
    ]
    return _ratio(len(on_time), len(due))


def latest_accepted_report(project: Project) -> ProjectReport | None:
    """The accepted closing report, else the most recently accepted progress report."""
    rows = db.session.scalars(
        select(ProjectReport)
        .where(ProjectReport.project_id == project.id, ProjectReport.state == "accepted")
        .order_by(ProjectReport.decided_at.desc(), ProjectReport.id.desc())
    ).all()
    closing = [r for r in rows if r.kind == "closing"]
    return closing[0] if closing else (rows[0] if rows else None)


def _number(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def target_achievement_rate(project: Project) -> Decimal | None:
    """Mean over numeric targets of min(actual ÷ target, 1) from the latest accepted report."""
    report = latest_accepted_report(project)
    if report is None:
        return None
    shares = []
    for item in report.target_values or []:
        target = _number(item.get("target_value"))
        if target is None or target <= 0:
            continue  # a non-numeric or zero target cannot be scored as a ratio
        actual = _number(item.get("actual_value"))
        shares.append(min(max(actual or Decimal(0), Decimal(0)) / target, Decimal(1)))
    if not shares:
        return None
    return (sum(shares) / len(shares)).quantize(PLACES, ROUND_HALF_UP)
