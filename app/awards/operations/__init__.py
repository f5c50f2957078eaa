"""Award operations: each flushes, audits, and never commits.

Split by stage: ``decisions`` (proposals, not-funded decisions, approval with
COMMIT, publishing with the notice), ``confirmation`` (objections, revocation
with DECOMMIT, confirmation after the notice, settling the call; the tick),
``reconsiderations`` (复审), ``agreements`` (任务书, signing, amendments; the tick).
"""

from app.awards.operations.agreements import (
    advance_amendment,
    create_amendment,
    flag_overdue_agreements,
    generate_agreement,
    problems,
    scale,
    send_agreement,
    sign_agreement,
    tranche_amounts,
    update_agreement,
)
from app.awards.operations.confirmation import (
    can_confirm,
    confirm_award,
    confirm_call,
    confirm_due_awards,
    file_objection,
    handle_objection,
    open_objections,
    screen_objection,
    settle_call,
)
from app.awards.operations.decisions import (
    amend_proposal,
    approve_award,
    awards_of,
    committed_fen,
    create_award,
    mark_not_funded,
    notice_period,
    propose_award,
    publish_decisions,
    ranking_of,
    withdraw_award,
)
from app.awards.operations.reconsiderations import (
    decide_reconsideration,
    file_reconsideration,
    outcome_at,
    screen_reconsideration,
)

__all__ = [
    "advance_amendment",
    "amend_proposal",
    "approve_award",
    "awards_of",
    "can_confirm",
    "committed_fen",
    "create_award",
    "confirm_award",
    "confirm_call",
    "confirm_due_awards",
    "create_amendment",
    "decide_reconsideration",
    "file_objection",
    "file_reconsideration",
    "flag_overdue_agreements",
    "generate_agreement",
    "handle_objection",
    "mark_not_funded",
    "notice_period",
    "open_objections",
    "outcome_at",
    "problems",
    "propose_award",
    "publish_decisions",
    "ranking_of",
    "scale",
    "screen_objection",
    "screen_reconsideration",
    "send_agreement",
    "settle_call",
    "sign_agreement",
    "tranche_amounts",
    "update_agreement",
    "withdraw_award",
]
