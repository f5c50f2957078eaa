"""Evaluation operations: each flushes, audits, and never commits.

Split by stage: ``engagements`` (engaging an agency, independence checks,
declarations, the lead), ``sheets`` (the self-evaluation and agency score sheets),
``evaluations`` (self-evaluation, notes and files, problem list, submission,
acceptance or return), ``rectification`` (整改 to closure with evidence).
"""

from app.evaluation.operations.common import (
    INDICATORS,
    capped_grade,
    format_rate,
    grade_of,
    indicator_values,
    performance_snapshot,
    rubric_for,
    veto_cap,
)
from app.evaluation.operations.engagements import (
    add_evaluators,
    create_engagement,
    declare_independence,
    project_ties,
    remove_evaluator,
    set_lead,
    tie_message,
)
from app.evaluation.operations.evaluations import (
    accept_evaluation,
    add_file,
    add_problem,
    files_of,
    latest_grade,
    remove_problem,
    request_self_evaluation,
    return_evaluation,
    save_notes,
    submit_evaluation,
    submit_self_evaluation,
)
from app.evaluation.operations.rectification import (
    add_evidence,
    close_item,
    reopen_item,
    submit_rectification,
)
from app.evaluation.operations.sheets import (
    evaluation_vetoes,
    group_subtotals,
    save_sheet,
    sheet_problems,
    sheet_scores,
    sheet_total,
)

__all__ = [
    "INDICATORS",
    "accept_evaluation",
    "add_evaluators",
    "add_evidence",
    "add_file",
    "add_problem",
    "capped_grade",
    "close_item",
    "create_engagement",
    "declare_independence",
    "evaluation_vetoes",
    "files_of",
    "format_rate",
    "grade_of",
    "group_subtotals",
    "indicator_values",
    "latest_grade",
    "performance_snapshot",
    "project_ties",
    "remove_evaluator",
    "remove_problem",
    "reopen_item",
    "request_self_evaluation",
    "return_evaluation",
    "rubric_for",
    "save_notes",
    "save_sheet",
    "set_lead",
    "sheet_problems",
    "sheet_scores",
    "sheet_total",
    "submit_evaluation",
    "submit_rectification",
    "submit_self_evaluation",
    "tie_message",
    "veto_cap",
]
