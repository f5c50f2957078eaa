"""Conflicts of interest (回避): computed for a call, kept with their reasons."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from app.accounts.models import Organisation
from app.applications.models import Application
from app.applications.states import REVIEWABLE_STATES
from app.core import clock
from app.extensions import db
from app.reviews.models import ConflictRecord, Expert, ExpertRelation
from app.reviews.operations.common import norm

# Reasons in order of precedence: the first that applies is the one kept for a pair.
PRECEDENCE = (
    "same_organisation",
    "co_government",
    "team_member",
    "excluded_by_applicant",
    "relative",
    "employment",
    "directorship",
    "collaboration",
    "own_application",
)


def _years_ago(years: int) -> date:
    today = clock.today()
    return today - timedelta(days=round(365.25 * years))


def relation_counts(relation: ExpertRelation) -> str | None:
    """The conflict reason a declared relation gives today, or None when it has lapsed.

    Relatives always count; employment and directorship within
    ``REVIEW_EMPLOYMENT_YEARS`` (3) years; collaboration within
    ``REVIEW_COLLABORATION_YEARS`` (3) years of its end.
    """
    if relation.kind == "relative":
        return "relative"
    config = current_app.config
    years = (
        config.get("REVIEW_COLLABORATION_YEARS", 3)
        if relation.kind == "collaboration"
        else config.get("REVIEW_EMPLOYMENT_YEARS", 3)
    )
    if relation.until is None or relation.until >= _years_ago(int(years)):
        return relation.kind
    return None


def compute_conflicts(
    applications: list[Application], experts: list[Expert]
) -> dict[tuple[int, int], tuple[str, str]]:
    """Every excluded (application id, expert id) pair with (reason, detail).

    Automatic: the expert's organisation is the applicant society, the co-building
    government or a team member's organisation; the applicant listed the expert
    (name + organisation) as excluded; a declared relation with one of those
    organisations that still counts; the expert's organisation applied in the
    same call (own competing application).
    """
    by_org: dict[int, list[Expert]] = defaultdict(list)
    by_org_name: dict[str, list[Expert]] = defaultdict(list)
    by_person: dict[tuple[str, str], list[Expert]] = defaultdict(list)
    for e in experts:
        if e.org_id is not None:
            by_org[e.org_id].append(e)
            by_org_name[norm(e.org.name)].append(e)
            by_person[(norm(e.user.name), norm(e.org.name))].append(e)
    relations: dict[int, list[tuple[Expert, str]]] = defaultdict(list)
    ids = {e.id for e in experts}
    for rel in db.session.scalars(select(ExpertRelation)).all():
        if rel.expert_id in ids and (reason := relation_counts(rel)):
            relations[rel.org_id].append((rel.expert, reason))
    org_names = {
        norm(name): oid
        for oid, name in db.session.execute(select(Organisation.id, Organisation.name))
    }

    found: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)

    def add(app_id: int, expert: Expert, reason: str, detail: str) -> None:
        found[(app_id, expert.id)].append((reason, detail))

    applicant_orgs: dict[int, set[int]] = defaultdict(set)  # call → applying societies
    for app in applications:
        applicant_orgs[app.call_id].add(app.society_id)
    for app in applications:
        for e in by_org.get(app.society_id, ()):
            add(app.id, e, "same_organisation", app.society.name)
        if app.co_government_id:
            for e in by_org.get(app.co_government_id, ()):
                add(app.id, e, "co_government", e.org.name)
        members = [app.chief_expert or {}, *(app.team or [])]
        member_orgs = {norm(m.get("organisation")) for m in members if m.get("organisation")}
        for name in member_orgs:
            for e in by_org_name.get(name, ()):
                add(app.id, e, "team_member", e.org.name)
        for item in app.excluded_experts or []:
            key = (norm(item.get("name")), norm(item.get("organisation")))
            for e in by_person.get(key, ()):
                add(app.id, e, "excluded_by_applicant", item.get("reason") or "")
        related_orgs = {app.society_id, app.co_government_id} | {
            org_names[n] for n in member_orgs if n in org_names
        }
        for oid in related_orgs - {None}:
            for e, reason in relations.get(oid, ()):
                add(app.id, e, reason, str(oid))
        for oid in applicant_orgs[app.call_id] - {app.society_id}:
            for e in by_org.get(oid, ()):
                add(app.id, e, "own_application", e.org.name)
    out = {}
    for pair, reasons in found.items():
        reasons.sort(key=lambda r: PRECEDENCE.index(r[0]))
        out[pair] = reasons[0]
    return out


def record_conflicts(call_id: int, pairs: dict[tuple[int, int], tuple[str, str]]) -> int:
    """Keep each excluded pair with its reason (idempotent); returns how many were new."""
    existing = set(
        db.session.execute(
            select(
                ConflictRecord.application_id, ConflictRecord.expert_id, ConflictRecord.reason
            ).where(ConflictRecord.call_id == call_id)
        ).all()
    )
    new = 0
    for (app_id, expert_id), (reason, detail) in sorted(pairs.items()):
        if (app_id, expert_id, reason) in existing:
            continue
        db.session.add(
            ConflictRecord(
                call_id=call_id,
                application_id=app_id,
                expert_id=expert_id,
                reason=reason,
                detail=detail or None,
            )
        )
        new += 1
    db.session.flush()
    return new


def recorded_conflicts(call_id: int) -> dict[tuple[int, int], str]:
    """Pairs already recorded for a call (self-declared recusals included)."""
    rows = db.session.execute(
        select(ConflictRecord.application_id, ConflictRecord.expert_id, ConflictRecord.reason)
        .where(ConflictRecord.call_id == call_id)
        .order_by(ConflictRecord.id)
    ).all()
    out: dict[tuple[int, int], str] = {}
    for app_id, expert_id, reason in rows:
        out.setdefault((app_id, expert_id), reason)
    return out


def call_applications(call_id: int) -> list[Application]:
    """The applications of a call that are (or were) under review."""
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.call_id == call_id, Application.state.in_(REVIEWABLE_STATES))
            .order_by(Application.id)
        )
    )
