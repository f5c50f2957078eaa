"""Review operations: each flushes, audits, and never commits.

Split by stage: ``pool`` (experts, relations, import), ``conflicts`` (回避),
``draw`` (random draw, override, confirm, replacement, the draw job),
``scoring`` (answering an invitation, score sheets, closing the round),
``ranking`` (aggregation, ranking, expert ratings, fees).
"""

from app.reviews.operations.conflicts import (
    call_applications,
    compute_conflicts,
    record_conflicts,
    recorded_conflicts,
)
from app.reviews.operations.draw import (
    DrawInfeasible,
    confirm_draw,
    conflicts_of_call,
    override_assignment,
    pool_for,
    queue_draw,
    replace_after_refusal,
    run_draw,
    should_queue,
    undrawn_applications,
)
from app.reviews.operations.pool import (
    IMPORT_COLUMNS,
    add_relation,
    create_expert,
    import_experts,
    parse_import,
    search_experts,
    update_expert,
)
from app.reviews.operations.ranking import fee_rows, rank_call, rate_expert, submitted_of
from app.reviews.operations.scoring import (
    finish_round,
    reopen_sheet,
    respond,
    round_status,
    save_sheet,
    sheet_rubric,
    submit_sheet,
)

__all__ = [
    "IMPORT_COLUMNS",
    "DrawInfeasible",
    "add_relation",
    "call_applications",
    "compute_conflicts",
    "confirm_draw",
    "conflicts_of_call",
    "create_expert",
    "fee_rows",
    "finish_round",
    "import_experts",
    "override_assignment",
    "parse_import",
    "pool_for",
    "queue_draw",
    "rank_call",
    "rate_expert",
    "record_conflicts",
    "recorded_conflicts",
    "reopen_sheet",
    "replace_after_refusal",
    "respond",
    "round_status",
    "run_draw",
    "save_sheet",
    "search_experts",
    "sheet_rubric",
    "should_queue",
    "submit_sheet",
    "submitted_of",
    "undrawn_applications",
    "update_expert",
]
