"""Helpers the evaluation operations share: refusals, locks, the rubric, indicators."""

from __future__ import annotations

import importlib
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.calls.models import RubricSnapshot
from app.calls.operations import snapshot_rubric
from app.core.errors import NotAllowed, ValidationFailed
from app.evaluation.states import GRADE_BY_BAND
from app.extensions import db
from app.reviews.operations.common import rubric_of
from app.reviews.rubric import Rubric

# The computed indicators a performance rubric's ``source`` may name (app/projects/indicators.py).
INDICATORS = (
    "budget_execution_rate",
    "funds_in_place_rate",
    "on_time_milestone_rate",
    "target_achievement_rate",
)
DEFAULT_RUBRIC = "assist-performance.toml"


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


def performance_snapshot(filename: str | None = None, call=None) -> RubricSnapshot:
    """Pin the performance rubric: the call's when it is a performance rubric, else the file
    named (or ``EVALUATION_RUBRIC``, by default ``assist-performance.toml``).

    Raises ``ValidationFailed`` when the file is missing, invalid, not of kind
    ``performance``, or its bands are not the four grades 优/良/中/差.
    """
    snap = getattr(call, "rubric_snapshot", None)
    if filename is None and snap is not None and snap.kind == "performance":
        return _checked(snap)
    name = filename or current_app.config.get("EVALUATION_RUBRIC", DEFAULT_RUBRIC)
    return _checked(snapshot_rubric(name))


def _checked(snap: RubricSnapshot) -> RubricSnapshot:
    if snap.kind != "performance":
        raise ValidationFailed(_("所选评分表不是绩效评价指标体系。"), field="rubric_file")
    rubric = rubric_of(snap.id)
    labels = {b.label.get("zh") for b in rubric.bands}
    if not labels <= set(GRADE_BY_BAND):
        raise ValidationFailed(_("绩效评价指标体系的档次须为优、良、中、差。"), field="rubric_file")
    return snap


def rubric_for(evaluation) -> Rubric:
    """The rubric pinned on the evaluation's engagement."""
    return rubric_of(evaluation.engagement.rubric_snapshot_id)


def indicator_values(project) -> dict[str, Decimal | None]:
    """The four computed indicators of a project, by source name (None: not computable).

    They come from ``app.projects.indicators``; while that module is missing every
    value is None, shown as "not available".
    """
    try:
        module = importlib.import_module("app.projects.indicators")
    except ImportError:
        module = None
    values: dict[str, Decimal | None] = {}
    for name in INDICATORS:
        fn = getattr(module, name, None) if module is not None else None
        values[name] = fn(project) if fn is not None else None
    return values


def format_rate(value: Decimal | None) -> str:
    """A ratio (1 = 100%) as a percentage with one decimal ("87.5%"), or "—" when the
    indicator is undefined."""
    if value is None:
        return "—"
    percent = (Decimal(value) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{percent}%"


def grade_of(rubric: Rubric, total: Decimal) -> str:
    """The grade code of a total under the rubric's bands (优 ≥90, 良 80–89, 中 60–79, 差 <60)."""
    band = rubric.band_for(total)
    if band is None:  # below every band's minimum: the lowest band
        band = rubric.bands[-1]
    return GRADE_BY_BAND[band.label.get("zh")]


def veto_cap(rubric: Rubric) -> str:
    """The grade a raised veto caps an evaluation at: the rubric's lowest band (差 in the
    shipped performance rubric), so a rubric with other bands says where the cap is."""
    return GRADE_BY_BAND[rubric.bands[-1].label.get("zh")]


def capped_grade(rubric: Rubric, grade: str, vetoed: bool) -> str:
    """``grade``, or the veto cap when a veto is raised and the cap is lower."""
    if not vetoed:
        return grade
    order = [GRADE_BY_BAND[b.label.get("zh")] for b in rubric.bands]  # best first
    cap = veto_cap(rubric)
    return cap if order.index(grade) < order.index(cap) else grade
