"""Project models: projects, milestones and tranches (``project``); reports, expenditures,
attachments and revisions (``reports``); matching receipts and the claw-back register
(``funds``); change requests, mid-term checks and decisions (``changes``).

Every class is importable from ``app.projects.models``.
"""

from app.projects.models.changes import ChangeRequest, MidtermCheck, ProjectDecision
from app.projects.models.funds import ClawbackEntry, MatchingReceipt
from app.projects.models.project import Milestone, Project, Tranche
from app.projects.models.reports import (
    Expenditure,
    ProjectReport,
    ReportAttachment,
    ReportRevision,
)

__all__ = [
    "ChangeRequest",
    "ClawbackEntry",
    "Expenditure",
    "MatchingReceipt",
    "MidtermCheck",
    "Milestone",
    "Project",
    "ProjectDecision",
    "ProjectReport",
    "ReportAttachment",
    "ReportRevision",
    "Tranche",
]
