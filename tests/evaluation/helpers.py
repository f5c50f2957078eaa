"""Shared steps for the evaluation tests."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.evaluation import operations as ops
from app.extensions import db
from app.reviews.rubric import load_rubric
from app.reviews.rubric_types import Rubric
from tests import factories


def rubric() -> Rubric:
    from pathlib import Path

    return load_rubric(
        (Path(__file__).parents[2] / "rubrics" / "assist-performance.toml").read_bytes()
    )


def full_sheet(fraction: Decimal = Decimal(1), na: tuple[str, ...] = ()) -> dict:
    """Every criterion scored at ``fraction`` of its maximum (on the 0.5 grid, rounded down)."""
    out = {}
    for c in rubric().criteria:
        if c.key in na:
            out[c.key] = None
            continue
        value = (c.max * fraction * 2).to_integral_value(rounding="ROUND_FLOOR") / 2
        out[c.key] = str(value)
    return out


def events(action: str, entity_id=None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == str(entity_id))
    return list(db.session.scalars(stmt))


def evaluating(n_projects: int = 1, **kwargs):
    """Projects under an engagement whose evaluators declared, self-evaluations submitted:
    returns (namespace, engagement, evaluations)."""
    r = factories.evaluation_projects(n_projects)
    engagement = factories.engagement(r.projects, officer=r.officer, **kwargs)
    for m in engagement.members:
        ops.declare_independence(m, actor=m.user, statement="无关联。")
    evaluations = list(engagement.evaluations)
    for ev in evaluations:
        ops.request_self_evaluation(ev, actor=r.officer)
        admin = society_admin(ev)
        ops.save_sheet(ev, "self", full_sheet(Decimal("0.9")), actor=admin)
        ops.submit_self_evaluation(ev, actor=admin)
    return r, engagement, evaluations


def society_admin(evaluation):
    from app.accounts.models import Organisation

    return factories.society_admin_of(db.session.get(Organisation, evaluation.project.society_id))


def lead_of(engagement):
    return next(m.user for m in engagement.members if m.is_lead)


def other_of(engagement):
    return next(m.user for m in engagement.members if not m.is_lead)
