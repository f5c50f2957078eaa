"""Reviewer draw and assignment (专家随机抽取与分配) as a min-cost flow.

Plain data in, a frozen result out: no database and no request (messages are rendered
through the Babel catalogue, app context or not). The draw is audit
evidence, so the web app records ``seed`` and ``input_hash``; re-running with
them gives the same reviewers. Network: application (supply k) -> (application,
organisation) node of capacity 1, so one reviewer per organisation -> expert ->
sink through unit arcs of rising cost (convex load penalty).
"""

from app.reviews.assignment.draw import draw_reviewers
from app.reviews.assignment.replace import replace_reviewer
from app.reviews.assignment.types import (
    ApplicationInput,
    DrawParams,
    DrawResult,
    ExpertInput,
    InfeasibleAssignment,
    Reason,
    Replacement,
    input_hash,
)

__all__ = [
    "ApplicationInput",
    "DrawParams",
    "DrawResult",
    "ExpertInput",
    "InfeasibleAssignment",
    "Reason",
    "Replacement",
    "draw_reviewers",
    "input_hash",
    "replace_reviewer",
]
