"""The draw through the operations: conflicts kept, same seed same draw, infeasible
reported with reasons and nothing written, confirmation, replacement from the reserve."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.models import OutboxMessage
from app.extensions import db
from app.reviews import operations as ops
from app.reviews.models import ConflictRecord, ReviewAssignment, ReviewDraw
from tests import factories


def _events(action):
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    ).all()


def test_draw_records_seed_hash_and_is_reproducible(session):
    r = factories.review_round(n_apps=2, n_experts=7)
    first = ops.run_draw(r.call, actor=r.officer, seed=42)
    record = dict(first.result)
    assert first.seed == 42 and len(first.input_hash) == 64
    assert all(len(v) == 3 for v in first.assignments().values())
    event = _events("review_draw.run")[-1]
    assert event.after["seed"] == "42" and event.after["input_hash"] == first.input_hash
    db.session.delete(first)
    db.session.flush()
    again = ops.run_draw(r.call, actor=r.officer, seed=42)
    assert again.result["assignments"] == record["assignments"]
    assert again.input_hash == record["input_hash"]


def test_infeasible_draw_names_the_application_and_writes_nothing(session):
    r = factories.review_round(n_apps=1, n_experts=2)
    before = db.session.scalar(select(func.count(AuditEvent.seq)))
    with pytest.raises(ops.DrawInfeasible) as err:
        ops.run_draw(r.call, actor=r.officer, seed=1)
    assert any(str(r.apps[0].id) in d and "少于所需 3 人" in d for d in err.value.details)
    assert db.session.scalar(select(func.count(ReviewDraw.id))) == 0
    assert db.session.scalar(select(func.count(ConflictRecord.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.seq))) == before


def test_conflicting_experts_are_never_drawn_and_kept_with_reasons(session):
    r = factories.review_round(n_apps=2, n_experts=6)
    target = r.apps[0]
    same_org = factories.expert(r.officer, organisation=target.society)
    excluded = factories.expert(r.officer, name="回避专家")
    target.excluded_experts = [
        {"name": "回避专家", "organisation": excluded.org.name, "reason": "竞争关系"}
    ]
    team = factories.expert(
        r.officer, organisation=factories.org("expert_org", name="浙江工业大学")
    )
    related = factories.expert(r.officer)
    ops.add_relation(related, target.co_government_id, "employment", actor=r.officer)
    db.session.flush()
    draw = ops.run_draw(r.call, actor=r.officer, seed=7)
    drawn = draw.assignments()[target.id]
    for e in (same_org, excluded, team, related):
        assert e.id not in drawn
        assert e.id not in draw.reserves(target.id)
    reasons = {
        (c.expert_id, c.reason)
        for c in db.session.scalars(
            select(ConflictRecord).where(ConflictRecord.application_id == target.id)
        )
    }
    assert (same_org.id, "same_organisation") in reasons
    assert (excluded.id, "excluded_by_applicant") in reasons
    assert (team.id, "team_member") in reasons
    assert (related.id, "employment") in reasons
    # The same-organisation expert's society applied in the call: own competing application.
    other = r.apps[1]
    assert same_org.id not in draw.assignments()[other.id]
    assert (
        db.session.scalar(
            select(ConflictRecord.reason).where(
                ConflictRecord.application_id == other.id,
                ConflictRecord.expert_id == same_org.id,
            )
        )
        == "own_application"
    )


def test_confirm_invites_mails_and_moves_applications_to_review(session):
    r = factories.review_round(n_apps=2, n_experts=6)
    draw = ops.run_draw(r.call, actor=r.officer, seed=3)
    rows = ops.confirm_draw(draw, actor=r.officer)
    assert len(rows) == 6 and {a.state for a in rows} == {"invited"}
    assert {a.state for a in r.apps} == {"in_review"}
    assert draw.confirmed_at is not None
    assert len(_events("review_assignment.invite")) == 6
    assert len(_events("application.start_review")) == 2
    mails = db.session.scalars(select(OutboxMessage)).all()
    assert sum(1 for m in mails if "评审邀请" in m.subject) == 6
    with pytest.raises(Exception, match="已确认"):
        ops.confirm_draw(draw, actor=r.officer)


def test_override_needs_reason_refuses_conflicts_and_is_audited(session):
    r = factories.review_round(n_apps=1, n_experts=5)
    draw = ops.run_draw(r.call, actor=r.officer, seed=5)
    app_id = r.apps[0].id
    drawn = draw.assignments()[app_id]
    spare = next(e for e in r.experts if e.id not in drawn)
    with pytest.raises(Exception, match="理由"):
        ops.override_assignment(draw, app_id, drawn[0], spare.id, actor=r.officer, reason=" ")
    conflicted = factories.expert(r.officer, organisation=r.apps[0].society)
    with pytest.raises(Exception, match="利益冲突"):
        ops.override_assignment(draw, app_id, drawn[0], conflicted.id, actor=r.officer, reason="x")
    ops.override_assignment(draw, app_id, drawn[0], spare.id, actor=r.officer, reason="专业更匹配")
    assert spare.id in draw.assignments()[app_id] and drawn[0] not in draw.assignments()[app_id]
    event = _events("review_draw.override")[-1]
    assert event.reason == "专业更匹配" and event.before["experts"] == drawn


def test_decline_and_recuse_are_replaced_in_reserve_order(session):
    r = factories.review_round(n_apps=1, n_experts=7)
    draw = ops.run_draw(r.call, actor=r.officer, seed=11)
    app_id = r.apps[0].id
    reserve = draw.reserves(app_id)
    rows = ops.confirm_draw(draw, actor=r.officer)
    first = rows[0]
    new = ops.respond(first, "decline", actor=first.expert.user, reason="出差")
    assert first.state == "declined" and new.state == "invited"
    assert new.expert_id == reserve[0] and new.replaces_id == first.id
    second = rows[1]
    with pytest.raises(Exception, match="回避理由"):
        ops.respond(second, "recuse", actor=second.expert.user, reason="")
    newer = ops.respond(second, "recuse", actor=second.expert.user, reason="曾指导申报团队")
    assert second.state == "recused" and newer.expert_id == reserve[1]
    assert (
        db.session.scalar(
            select(ConflictRecord.reason).where(ConflictRecord.expert_id == second.expert_id)
        )
        == "self_declared"
    )
    replaced = _events("review_assignment.replace")
    assert [e.after["expert_id"] for e in replaced] == [reserve[0], reserve[1]]
    assert _events("review_assignment.recuse")[-1].reason == "曾指导申报团队"
    active = db.session.scalars(
        select(ReviewAssignment.expert_id).where(
            ReviewAssignment.application_id == app_id, ReviewAssignment.state == "invited"
        )
    ).all()
    assert len(active) == 3


def test_accept_requires_declaration_and_pledge(session):
    r = factories.review_round(n_apps=1, n_experts=4)
    rows = ops.confirm_draw(ops.run_draw(r.call, actor=r.officer, seed=1), actor=r.officer)
    row = rows[0]
    with pytest.raises(Exception, match="保密承诺"):
        ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=False)
    assert row.state == "invited"
    ops.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
    assert row.state == "accepted" and row.declared_at is not None
    event = _events("review_assignment.accept")[-1]
    assert event.after["no_conflict"] is True and event.after["pledge"] is True
    other = rows[1]
    with pytest.raises(Exception, match="专家本人|无权"):
        ops.respond(other, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
