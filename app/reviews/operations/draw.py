"""The random draw (随机抽取): run, override, confirm, replace; the draw job."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, lazyload, load_only

from app.accounts.models import User
from app.applications.models import Application
from app.applications.operations import advance_application
from app.audit import trail
from app.calls.models import Call
from app.core import clock, jobs
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.outbox import queue_mail
from app.extensions import db
from app.reviews.assignment import (
    ApplicationInput,
    ExpertInput,
    InfeasibleAssignment,
    draw_reviewers,
    replace_reviewer,
)
from app.reviews.models import ConflictRecord, Expert, ReviewAssignment, ReviewDraw
from app.reviews.operations.common import lang, require
from app.reviews.operations.conflicts import (
    call_applications,
    compute_conflicts,
    record_conflicts,
    recorded_conflicts,
)
from app.reviews.permissions import can_draw
from app.reviews.states import ACTIVE_STATES


class DrawInfeasible(ValidationFailed):
    """The draw cannot be made; ``details`` give one reason per short application."""


def _reason_texts(exc: InfeasibleAssignment) -> list[str]:
    side = lang()
    return [getattr(r, side) for r in exc.reasons]


def pool_for(fields: list[str] | None = None) -> list[Expert]:
    """Active experts, narrowed to those sharing one of ``fields`` when given."""
    experts = db.session.scalars(
        select(Expert).where(Expert.is_active.is_(True)).order_by(Expert.id)
    ).all()
    if fields:
        wanted = set(fields)
        experts = [e for e in experts if wanted & set(e.fields or [])]
    return list(experts)


def used_load(year: int | None = None) -> dict[int, int]:
    """Reviews already given to each expert this year (invitations still standing)."""
    year = year or clock.today().year
    start = datetime(year, 1, 1, tzinfo=clock.SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=clock.SHANGHAI)
    rows = db.session.execute(
        select(ReviewAssignment.expert_id, func.count(ReviewAssignment.id))
        .where(
            ReviewAssignment.state.in_(ACTIVE_STATES),
            ReviewAssignment.invited_at >= start,
            ReviewAssignment.invited_at < end,
        )
        .group_by(ReviewAssignment.expert_id)
    ).all()
    return dict(rows)


def application_input(app: Application) -> ApplicationInput:
    """What the solver knows of an application: its category as field, its parties."""
    orgs = {app.society_id} | ({app.co_government_id} if app.co_government_id else set())
    return ApplicationInput(
        id=app.id, fields=frozenset({app.category or ""}) - {""}, org_ids=frozenset(orgs)
    )


def expert_input(expert: Expert, used: dict[int, int]) -> ExpertInput:
    return ExpertInput(
        id=expert.id,
        fields=frozenset(expert.fields or []),
        keywords=frozenset(expert.keywords or []),
        org_id=expert.org_id,
        remaining_load=max(0, expert.yearly_limit - used.get(expert.id, 0)),
        is_active=bool(expert.is_active),
    )


def undrawn_applications(call: Call) -> list[Application]:
    """Accepted applications of ``call`` that no confirmed draw has covered yet."""
    covered = set(
        db.session.scalars(
            select(ReviewAssignment.application_id).where(ReviewAssignment.call_id == call.id)
        )
    )
    return [a for a in call_applications(call.id) if a.state == "accepted" and a.id not in covered]


def run_draw(
    call: Call, *, actor, seed: int | None = None, fields: list[str] | None = None
) -> ReviewDraw:
    """Draw ``call.reviews_per_application`` reviewers for each undrawn accepted application.

    Conflicts are computed and kept (``ConflictRecord``) first; a random 63-bit
    seed is chosen unless given. Raises ``NotAllowed``, ``ValidationFailed`` (no
    applications), ``DrawInfeasible`` with one reason per short application —
    reported before solving, and nothing is written then. Audited as
    ``review_draw.run`` (seed, input hash, candidates, drawn, reserves).
    """
    require(can_draw(actor, call))
    apps = undrawn_applications(call)
    if not apps:
        raise ValidationFailed(_("没有待抽取专家的已受理申报书。"))
    experts = pool_for(fields)
    conflicts = compute_conflicts(call_applications(call.id), experts)
    known = {**{p: r for p, (r, _d) in conflicts.items()}, **recorded_conflicts(call.id)}
    used = used_load()
    seed = int(seed) if seed is not None else secrets.randbits(63)
    try:
        result = draw_reviewers(
            [application_input(a) for a in apps],
            [expert_input(e, used) for e in experts],
            call.reviews_per_application,
            seed=seed,
            conflicts={p: r for p, r in known.items() if p[0] in {a.id for a in apps}},
            reserve_size=current_app.config.get("REVIEW_RESERVE_SIZE", 10),
        )
    except InfeasibleAssignment as exc:
        raise DrawInfeasible(
            _("无法完成抽取：以下申报书的可抽取专家不足，请扩大专家范围后重试。"),
            details=_reason_texts(exc),
        ) from None
    record_conflicts(call.id, conflicts)
    draw = ReviewDraw(
        call_id=call.id,
        seed=seed,
        input_hash=result.input_hash,
        k=result.k,
        field_filter=list(fields or []),
        candidates=[e.id for e in experts],
        application_ids=[a.id for a in apps],
        result=result.to_record(),
        overrides=[],
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(draw)
    db.session.flush()
    trail.record(
        "review_draw.run",
        "review_draw",
        draw.id,
        actor=actor,
        after={
            "call_id": call.id,
            "seed": str(seed),
            "input_hash": result.input_hash,
            "k": result.k,
            "fields": list(fields or []),
            "candidates": draw.candidates,
            "assignments": draw.result["assignments"],
            "reserves": draw.result["reserves"],
        },
    )
    return draw


def should_queue(call: Call, fields: list[str] | None = None) -> bool:
    """Whether the draw is big enough to run in the worker."""
    size = len(undrawn_applications(call)) * len(pool_for(fields))
    return size > current_app.config.get("REVIEW_DRAW_INLINE_MAX", 50_000)


def queue_draw(call: Call, *, actor, seed: int | None = None, fields=None):
    """Queue the draw as a ``reviews.draw`` job (the page polls its progress)."""
    require(can_draw(actor, call))
    return jobs.enqueue(
        "reviews.draw",
        {"call_id": call.id, "seed": seed, "fields": list(fields or []), "actor_id": actor.id},
        actor=actor,
    )


@jobs.handler("reviews.draw")
def _draw_job(job, report):
    """Run a queued draw; an infeasible one is a finished job with its reasons."""
    from app.audit.context import audit_context

    payload = job.payload
    actor = db.session.get(User, payload["actor_id"])
    call = db.session.get(Call, payload["call_id"])
    report(0, 1, "solving")
    with audit_context(actor_id=actor.id, actor_role="officer", user_agent="worker"):
        try:
            draw = run_draw(call, actor=actor, seed=payload.get("seed"), fields=payload["fields"])
        except DomainError as err:
            db.session.rollback()
            return {"ok": False, "message": err.message, "details": err.details}
        draw_id = draw.id
        db.session.commit()
    report(1, 1, "done")
    return {"ok": True, "draw_id": draw_id}


def _lock_draw(draw: ReviewDraw) -> ReviewDraw:
    return db.session.execute(
        select(ReviewDraw)
        .where(ReviewDraw.id == draw.id)
        .with_for_update(of=ReviewDraw)
        .execution_options(populate_existing=True)
    ).scalar_one()


def override_assignment(
    draw: ReviewDraw,
    application_id: int,
    remove_expert_id: int,
    add_expert_id: int,
    *,
    actor,
    reason: str,
) -> ReviewDraw:
    """Swap one drawn reviewer of an unconfirmed draw for another pool expert, with a reason.

    The new expert must be active, not in conflict, not already drawn for the
    application and from an organisation not already represented. Raises
    ``NotAllowed``, ``ValidationFailed``, ``Conflict`` (already confirmed).
    Audited as ``review_draw.override`` with the reason.
    """
    require(can_draw(actor))
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写调整理由。"), field="reason")
    draw = _lock_draw(draw)
    if draw.confirmed_at is not None:
        raise Conflict(_("抽取结果已确认，不能再调整。"))
    assignments = draw.assignments()
    current = assignments.get(application_id)
    if current is None or remove_expert_id not in current:
        raise ValidationFailed(_("该专家不在此申报书的抽取结果中。"), field="remove")
    expert = db.session.get(Expert, add_expert_id)
    if expert is None or not expert.is_active:
        raise ValidationFailed(_("替换专家不存在或已停用。"), field="add")
    if add_expert_id in current:
        raise ValidationFailed(_("替换专家已是该申报书的评审专家。"), field="add")
    known = {
        p: r for p, (r, _d) in compute_conflicts(call_applications(draw.call_id), [expert]).items()
    }
    known.update(recorded_conflicts(draw.call_id))
    if (application_id, add_expert_id) in known:
        raise ValidationFailed(_("替换专家与该申报书存在利益冲突，不能选用。"), field="add")
    others = {db.session.get(Expert, x).org_id for x in current if x != remove_expert_id}
    if expert.org_id is not None and expert.org_id in others:
        raise ValidationFailed(_("同一单位的专家至多一人评审同一申报书。"), field="add")
    new = [add_expert_id if x == remove_expert_id else x for x in current]
    result = dict(draw.result)
    result["assignments"] = {**result["assignments"], str(application_id): new}
    draw.result = result
    draw.overrides = [
        *draw.overrides,
        {
            "application_id": application_id,
            "removed": remove_expert_id,
            "added": add_expert_id,
            "reason": reason.strip(),
            "actor_id": actor.id,
            "at": clock.rfc3339(clock.now()),
        },
    ]
    db.session.flush()
    trail.record(
        "review_draw.override",
        "review_draw",
        draw.id,
        actor=actor,
        before={"application_id": application_id, "experts": current},
        after={"application_id": application_id, "experts": new},
        reason=reason.strip(),
    )
    return draw


def _invite(draw: ReviewDraw, app: Application, expert: Expert, *, replaces=None):
    row = ReviewAssignment(
        call_id=draw.call_id,
        draw_id=draw.id,
        application_id=app.id,
        expert_id=expert.id,
        state="invited",
        replaces_id=getattr(replaces, "id", None),
        invited_at=clock.now(),
    )
    db.session.add(row)
    db.session.flush()
    queue_mail(
        expert.user,
        _("评审邀请：%(title)s", title=app.project_number or app.id),
        _(
            "您被抽取为申报书 %(number)s 的评审专家。请登录系统，确认无利益冲突并签署保密承诺后"
            "查看申报材料并评分；如存在利益冲突，请选择回避并说明理由。",
            number=app.project_number or app.id,
        ),
        link=f"/reviews/assignments/{row.id}",
    )
    return row


def confirm_draw(draw: ReviewDraw, *, actor) -> list[ReviewAssignment]:
    """Confirm a draw: one invited assignment per drawn reviewer, mail to each expert,
    and the applications move to in_review.

    Raises ``NotAllowed``, ``Conflict`` (already confirmed, or an application was
    drawn by another confirmed draw). Audited as ``review_draw.confirm``, each
    assignment as ``review_assignment.invite``.
    """
    require(can_draw(actor))
    draw = _lock_draw(draw)
    if draw.confirmed_at is not None:
        raise Conflict(_("抽取结果已确认。"))
    created = []
    for app_id, expert_ids in sorted(draw.assignments().items()):
        app = db.session.get(Application, app_id)
        if app.state != "accepted" or db.session.scalar(
            select(ReviewAssignment.id).where(ReviewAssignment.application_id == app_id).limit(1)
        ):
            raise Conflict(_("申报书 %(id)s 已不在待抽取状态，请重新抽取。", id=app_id))
        for expert_id in expert_ids:
            row = _invite(draw, app, db.session.get(Expert, expert_id))
            trail.record(
                "review_assignment.invite",
                "review_assignment",
                row.id,
                actor=actor,
                after={
                    "state": "invited",
                    "application_id": app_id,
                    "expert_id": expert_id,
                    "draw_id": draw.id,
                },
            )
            created.append(row)
        advance_application(app, "start_review", actor=actor)
    draw.confirmed_at, draw.confirmed_by_id = clock.now(), actor.id
    db.session.flush()
    trail.record(
        "review_draw.confirm",
        "review_draw",
        draw.id,
        actor=actor,
        after={"assignments": draw.result["assignments"], "overrides": len(draw.overrides)},
    )
    return created


def replace_after_refusal(assignment: ReviewAssignment, *, actor) -> ReviewAssignment | None:
    """Invite the first eligible reserve expert in place of a declined/recused one.

    Returns the new assignment, or None when the reserve is exhausted (then the
    officer is told and may run a new draw). Audited as ``review_assignment.replace``.
    """
    draw = db.session.get(ReviewDraw, assignment.draw_id)
    app_id = assignment.application_id
    siblings = db.session.scalars(
        select(ReviewAssignment).where(ReviewAssignment.application_id == app_id)
    ).all()
    active = [s.expert_id for s in siblings if s.state in ACTIVE_STATES]
    ever = {s.expert_id for s in siblings}
    current = {app_id: (*active, assignment.expert_id)}
    reserve = [x for x in draw.reserves(app_id) if x not in ever]
    experts = {x: db.session.get(Expert, x) for x in {*reserve, *active, assignment.expert_id}}
    used = used_load()
    app = db.session.get(Application, app_id)
    conflicts = {
        p: r
        for p, (r, _d) in compute_conflicts(
            call_applications(draw.call_id), [e for e in experts.values() if e]
        ).items()
    }
    conflicts.update(recorded_conflicts(draw.call_id))
    try:
        swap = replace_reviewer(
            current,
            app_id,
            assignment.expert_id,
            reserve=reserve,
            conflicts=conflicts,
            loads={
                x: (max(0, e.yearly_limit - used.get(x, 0)) if e.is_active else 0)
                for x, e in experts.items()
                if e
            },
            expert_orgs={x: e.org_id for x, e in experts.items() if e},
            application_orgs=application_input(app).org_ids,
        )
    except InfeasibleAssignment as exc:
        trail.record(
            "review_assignment.replace_failed",
            "review_assignment",
            assignment.id,
            actor=actor,
            after={"application_id": app_id, "reasons": [r.code for r in exc.reasons]},
        )
        return None
    new = _invite(draw, app, experts[swap.expert_id], replaces=assignment)
    trail.record(
        "review_assignment.replace",
        "review_assignment",
        new.id,
        actor=actor,
        before={"expert_id": assignment.expert_id, "assignment_id": assignment.id},
        after={
            "state": "invited",
            "application_id": app_id,
            "expert_id": swap.expert_id,
            "skipped": [list(s) for s in swap.skipped],
        },
    )
    return new


def conflicts_of_call(call_id: int) -> list[ConflictRecord]:
    """The recorded conflicts of a call, for the draw record."""
    return list(
        db.session.scalars(
            select(ConflictRecord)
            .where(ConflictRecord.call_id == call_id)
            .order_by(ConflictRecord.id)
        )
    )


def draw_or_404(draw_id: int) -> ReviewDraw:
    draw = db.session.get(ReviewDraw, draw_id)
    if draw is None:
        raise NotFound(_("抽取记录不存在。"))
    return draw


def list_assignments(
    call_id: int, *, q: str = "", state: str = "", page: int = 1, per_page: int = 100
) -> tuple[list[ReviewAssignment], int]:
    """One page of the call's assignments, by application then id, and the total count.

    ``q`` matches the application's number or title or the expert's name; ``state``
    one assignment state. The application and the expert (with account and
    organisation) come joined, so a page costs two queries whatever its size.
    """
    where = [ReviewAssignment.call_id == call_id]
    if state:
        where.append(ReviewAssignment.state == state)
    query = select(ReviewAssignment.id)
    if q:
        pattern = f"%{q.strip()}%"
        query = (
            query.join(Application, Application.id == ReviewAssignment.application_id)
            .join(Expert, Expert.id == ReviewAssignment.expert_id)
            .join(User, User.id == Expert.user_id)
        )
        where.append(
            Application.project_number.ilike(pattern)
            | Application.title.ilike(pattern)
            | User.name.ilike(pattern)
        )
    query = query.where(*where)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    ids = query.order_by(ReviewAssignment.application_id, ReviewAssignment.id)
    ids = ids.limit(per_page).offset((max(page, 1) - 1) * per_page)
    rows = db.session.scalars(
        select(ReviewAssignment)
        .where(ReviewAssignment.id.in_(ids.scalar_subquery()))
        .order_by(ReviewAssignment.application_id, ReviewAssignment.id)
        .options(
            # The list shows the application's number and title only: its JSON
            # columns, call and society stay unloaded.
            joinedload(ReviewAssignment.application).options(
                load_only(
                    Application.id,
                    Application.call_id,
                    Application.project_number,
                    Application.title,
                    Application.state,
                ),
                lazyload(Application.call),
                lazyload(Application.society),
            )
        )
    ).all()
    return list(rows), int(total or 0)


def pool_size(fields: list[str] | None = None) -> int:
    """How many active experts the pool holds."""
    if fields:
        return len(pool_for(fields))
    return int(
        db.session.scalar(select(func.count(Expert.id)).where(Expert.is_active.is_(True))) or 0
    )


def conflict_count(call_id: int) -> int:
    """How many excluded (expert, application) pairs the call has recorded."""
    return int(
        db.session.scalar(
            select(func.count(ConflictRecord.id)).where(ConflictRecord.call_id == call_id)
        )
        or 0
    )


def undrawn_count(call: Call) -> int:
    """How many of ``undrawn_applications`` there are, counted in the database."""
    drawn = select(ReviewAssignment.id).where(
        ReviewAssignment.application_id == Application.id,
        ReviewAssignment.call_id == call.id,
    )
    return int(
        db.session.scalar(
            select(func.count(Application.id)).where(
                Application.call_id == call.id,
                Application.state == "accepted",
                ~drawn.exists(),
            )
        )
        or 0
    )
