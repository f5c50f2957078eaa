"""Application operations: each flushes, audits, and never commits.

Split by stage: ``drafts`` (create, save, attach), ``submission`` (completeness,
submit, withdraw), ``endorsement`` (society, matching), ``eligibility``
(accept/return/reject, batch, and ``advance_application`` for the review and
award modules), ``duplicates`` (查重).
"""

from app.applications.operations.common import StaleApplication, snapshot
from app.applications.operations.drafts import (
    add_attachment,
    applications_of_call,
    attachment_file,
    create_application,
    save_draft,
)
from app.applications.operations.duplicates import check_call, flags_for, flags_for_call
from app.applications.operations.eligibility import (
    advance_application,
    batch_check,
    check_application,
)
from app.applications.operations.endorsement import (
    confirm_matching,
    endorse_application,
    society_return_application,
)
from app.applications.operations.submission import (
    budget_problems,
    completeness_problems,
    required_matching_fen,
    revisions_of,
    submit_application,
    withdraw_application,
)

__all__ = [
    "StaleApplication",
    "add_attachment",
    "advance_application",
    "applications_of_call",
    "attachment_file",
    "batch_check",
    "budget_problems",
    "check_application",
    "check_call",
    "completeness_problems",
    "confirm_matching",
    "create_application",
    "endorse_application",
    "flags_for",
    "flags_for_call",
    "required_matching_fen",
    "revisions_of",
    "save_draft",
    "snapshot",
    "society_return_application",
    "submit_application",
    "withdraw_application",
]
