"""Evaluation pages: engagements, declarations, the self-evaluation and agency sheets,
submission and acceptance, the report PDF, rectification items.

One blueprint (``evaluation``) in ``common``; the routes are split by stage and keep
their endpoint names (``evaluation.show_evaluation`` …), which the access matrix keys on.
"""

from app.evaluation.views import engagements, evaluations, rectification
from app.evaluation.views.common import bp

__all__ = ["bp", "engagements", "evaluations", "rectification"]

from app.evaluation import demo as _demo  # noqa: E402, F401  (registers the demo step)
