"""Shared set-up for the projects tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.core import clock
from app.projects import operations as ops
from tests import factories
from tests.awards.helpers import audit_and_ledger_ok, balance, events

__all__ = [
    "audit_and_ledger_ok",
    "balance",
    "events",
    "at",
    "project",
    "report_milestone",
    "submit_signed",
]

T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # two days after signing


def at(y: int, m: int, d: int):
    """The clock frozen at 10:00 Shanghai time on that day."""
    return clock.frozen(datetime(y, m, d, 2, 0, tzinfo=UTC))


def project(**kwargs):
    """A signed project (see ``factories.signed_project``)."""
    return factories.signed_project(**kwargs)


def report_milestone(r, seq: int, expenditures=(), *, accept=True, officer=None):
    """Draft, fill in and submit the report on milestone ``seq`` (and accept it)."""
    milestone = next(m for m in r.project.milestones if m.seq == seq)
    report = ops.open_report(r.project, milestone, actor=r.applicant)
    ops.save_report(
        report,
        {
            "narrative": f"节点{seq}进展顺利。",
            "actual": {str(i): "2" for i in range(len(report.target_values))},
        },
        actor=r.applicant,
    )
    for data in expenditures:
        ops.add_expenditure(report, {"spent_on": date(2026, 4, 1), **data}, actor=r.applicant)
    submit_signed(report, r)
    if accept:
        ops.accept_report(report, actor=officer or r.officer)
    return report


def submit_signed(report, r):
    """The applicant submits ``report`` and the society admin signs it off; returns the
    revision."""
    revision = ops.submit_report(report, actor=r.applicant)
    ops.endorse_report(report, actor=r.admin)
    return revision
