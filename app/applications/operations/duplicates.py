"""The duplicate check (查重) with app.applications.similarity, and its stored flags."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from flask import current_app
from sqlalchemy import delete, or_, select

from app.applications.models import Application, DuplicateFlag, MilestonePlan
from app.applications.operations.common import require, text_of
from app.applications.permissions import can_check
from app.applications.similarity import find_similar
from app.applications.states import SUBMITTED_STATES, ApplicationState
from app.audit import trail
from app.extensions import db

PASSAGE_CHARS = 300  # enough of each passage to judge it, without copying whole sections


def _threshold() -> float:
    return float(current_app.config.get("DUPLICATE_THRESHOLD", 0.5))


def _texts(*criteria) -> dict[int, str]:
    """``text_of`` of every application matching ``criteria``, from two column queries.

    Comparing one application with a whole call reads every other one's prose;
    plain columns instead of ORM objects (with their joined call and society and
    lazy milestones) keep that to two queries and little hydration.
    """
    a, m = Application.__table__, MilestonePlan.__table__
    deliverables: dict[int, list[str]] = defaultdict(list)
    for app_id, text in db.session.execute(
        select(m.c.application_id, m.c.deliverables)
        .join(a, a.c.id == m.c.application_id)
        .where(*criteria)
        .order_by(m.c.application_id, m.c.seq)
    ):
        deliverables[app_id].append(text or "")
    out = {}
    for app_id, title, summary, objectives in db.session.execute(
        select(a.c.id, a.c.title, a.c.summary, a.c.objectives).where(*criteria).order_by(a.c.id)
    ):
        parts = [title or "", summary or "", objectives or "", *deliverables[app_id]]
        out[app_id] = "\n".join(p for p in parts if p)
    return out


def _past_awarded(call_id: int) -> dict[int, str]:
    return _texts(Application.call_id != call_id, Application.state == ApplicationState.AWARDED)


def _store(call_id: int, pairs) -> list[DuplicateFlag]:
    flags = []
    for pair in pairs:
        a, b = int(pair.a_id), int(pair.b_id)
        if not pair.b_is_other and a > b:
            a, b = b, a
        flag = DuplicateFlag(
            call_id=call_id,
            application_id=a,
            other_id=b,
            other_is_past=pair.b_is_other,
            score_permille=min(1000, round(pair.score * 1000)),
            passages=[
                {"a": p.a_text[:PASSAGE_CHARS], "b": p.b_text[:PASSAGE_CHARS], "length": p.length}
                for p in pair.passages
            ],
        )
        db.session.add(flag)
        flags.append(flag)
    db.session.flush()
    return flags


def check_application(app: Application, *, actor) -> list[DuplicateFlag]:
    """Compare one application with the others of its call and past awarded projects.

    Run automatically when the society endorses. Replaces this
    application's earlier flags. Audited as ``application.duplicate_check``.
    """
    others = _texts(
        Application.call_id == app.call_id,
        Application.id != app.id,
        Application.state.in_(SUBMITTED_STATES),
    )
    past = _past_awarded(app.call_id)
    pairs = find_similar({app.id: text_of(app)}, {**others, **past}, _threshold())
    db.session.execute(
        delete(DuplicateFlag).where(
            or_(DuplicateFlag.application_id == app.id, DuplicateFlag.other_id == app.id)
        )
    )
    normalised = []
    for pair in pairs:
        is_past = int(pair.b_id) in past
        normalised.append(replace(pair, b_is_other=is_past))  # same call: not "past"
    flags = _store(app.call_id, normalised)
    trail.record(
        "application.duplicate_check",
        "application",
        app.id,
        actor=actor,
        after={"flags": [[f.application_id, f.other_id, f.score_permille] for f in flags]},
    )
    return flags


def check_call(call, *, actor) -> list[DuplicateFlag]:
    """An officer runs the duplicate check over every submitted application of ``call``.

    Replaces the call's flags. Raises ``NotAllowed`` unless an officer.
    Audited as ``call.duplicate_check`` with the flagged pairs and scores.
    """
    require(can_check(actor))
    docs = _texts(Application.call_id == call.id, Application.state.in_(SUBMITTED_STATES))
    pairs = find_similar(docs, _past_awarded(call.id), _threshold()) if docs else []
    db.session.execute(delete(DuplicateFlag).where(DuplicateFlag.call_id == call.id))
    flags = _store(call.id, pairs)
    trail.record(
        "call.duplicate_check",
        "call",
        call.id,
        actor=actor,
        after={
            "checked": len(docs),
            "flags": [[f.application_id, f.other_id, f.score_permille] for f in flags],
        },
    )
    return flags


def flags_for(app: Application) -> list[DuplicateFlag]:
    """The flags involving ``app``, highest score first."""
    return list(
        db.session.scalars(
            select(DuplicateFlag)
            .where(or_(DuplicateFlag.application_id == app.id, DuplicateFlag.other_id == app.id))
            .order_by(DuplicateFlag.score_permille.desc())
        )
    )


def flags_for_call(call_id: int) -> list[DuplicateFlag]:
    """The flags of a call, highest score first."""
    return list(
        db.session.scalars(
            select(DuplicateFlag)
            .where(DuplicateFlag.call_id == call_id)
            .order_by(DuplicateFlag.score_permille.desc())
        )
    )
