"""Helpers the application operations share: locking, version bumps, conflicts, snapshots."""

from __future__ import annotations

import hashlib
import json

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.applications.models import Application
from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import Conflict, NotAllowed
from app.extensions import db

SECTION_LABELS = {
    "basics": "基本信息",
    "team": "项目团队",
    "targets": "绩效目标",
    "budget": "经费预算",
    "milestones": "进度安排",
    "excluded_experts": "申请回避专家",
    "pledges": "承诺事项",
    "attachments": "附件",
    "state": "申报状态",
    "matching": "配套资金",
}


def require(decision) -> None:
    """Raise ``NotAllowed`` with the decision's reason when it refuses."""
    if not decision:
        raise NotAllowed(decision.reason)


def lock(app: Application) -> Application:
    """Re-read ``app`` under a row lock (``FOR UPDATE``; SQLite writes are serialised)."""
    return db.session.execute(
        select(Application)
        .where(Application.id == app.id)
        .with_for_update(of=Application)  # not the eagerly joined call and society
        .execution_options(populate_existing=True)
    ).scalar_one()


def touch(app: Application, actor) -> None:
    """Record that ``app`` changed: bump its version (checked by every UPDATE)."""
    app.version = (app.version or 0) + 1
    app.updated_at = clock.now()
    app.updated_by_id = getattr(actor, "id", None)


class StaleApplication(Conflict):
    """The form was based on an older version; nothing was written."""


def check_version(app: Application, expected: int | None) -> None:
    """Refuse a change based on an old version, naming who changed what since.

    Raises ``StaleApplication`` (409) with a Chinese message listing the
    changes recorded after ``expected``.
    """
    if expected is None or int(expected) == app.version:
        return
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "application", AuditEvent.entity_id == str(app.id))
        .order_by(AuditEvent.seq.desc())
        .limit(50)
    ).all()
    later = [e for e in events if (e.after or {}).get("version", 0) > int(expected)]
    sections: list[str] = []
    for event in reversed(later):
        for key in (event.after or {}).get("changed", ["state"]):
            label = SECTION_LABELS.get(key, key)
            if label not in sections:
                sections.append(label)
    who, when = _("其他用户"), ""
    if later:
        actor = db.session.get(User, later[0].actor_id) if later[0].actor_id else None
        who = actor.name if actor else who
        when = clock.local(later[0].occurred_at).strftime("%Y-%m-%d %H:%M:%S")
    raise StaleApplication(
        _(
            "保存失败：此申报书已被 %(who)s 于 %(when)s 修改（修改内容：%(what)s）。"
            "您本次的修改没有保存，也没有覆盖对方的内容。请先复制您填写的内容，"
            "刷新页面后在最新版本上重新修改。",
            who=who,
            when=when,
            what="、".join(sections) or _("申报书内容"),
        )
    )


def canonical(data) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces, UTF-8) for hashing snapshots."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_of(data) -> str:
    """sha256 of the canonical JSON of ``data``."""
    return hashlib.sha256(canonical(data)).hexdigest()


def snapshot(app: Application, *, with_attachments: bool = True) -> dict:
    """Everything the applicant submitted, as plain data (money in fen, times RFC 3339).

    ``with_attachments=False`` leaves the attachments out (a query and their files),
    for a draft save, which neither changes nor reports them.
    """
    data = {
        "application_id": app.id,
        "call_id": app.call_id,
        "society_id": app.society_id,
        "project_number": app.project_number,
        "title": app.title,
        "category": app.category,
        "summary": app.summary,
        "objectives": app.objectives,
        "station_id": app.station_id,
        "park_id": app.park_id,
        "co_government_id": app.co_government_id,
        "chief_expert": app.chief_expert or {},
        "team": app.team or [],
        "excluded_experts": app.excluded_experts or [],
        "pledge_integrity": bool(app.pledge_integrity),
        "pledge_no_duplicate": bool(app.pledge_no_duplicate),
        "budget": [
            {
                "line_key": b.line_key,
                "fund_fen": b.fund_fen,
                "matching_fen": b.matching_fen,
                "self_raised_fen": b.self_raised_fen,
                "note": b.note,
            }
            for b in app.budget
        ],
        "requested_fen": app.requested_fen,
        "matching_fen": app.matching_fen,
        "self_raised_fen": app.self_raised_fen,
        "targets": [
            {
                "group": t.target_group,
                "indicator": t.indicator,
                "unit": t.unit,
                "target_value": t.target_value,
            }
            for t in app.targets
        ],
        "milestones": [
            {
                "seq": m.seq,
                "title": m.title,
                "due_on": m.due_on.isoformat() if m.due_on else None,
                "deliverables": m.deliverables,
                "tranche_pct": m.tranche_pct,
            }
            for m in app.milestones
        ],
    }
    if with_attachments:
        data["attachments"] = [
            {"kind": a.kind, "file_sha256": a.file.sha256, "name": a.file.original_name}
            for a in app.attachments
        ]
    return data


def text_of(app: Application) -> str:
    """The application's prose, for the duplicate check."""
    parts = [app.title or "", app.summary or "", app.objectives or ""]
    parts += [m.deliverables or "" for m in app.milestones]
    return "\n".join(p for p in parts if p)
