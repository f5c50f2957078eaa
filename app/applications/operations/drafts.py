"""Creating and saving drafts, and their attachments."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import inspect, select

from app.accounts.models import Organisation
from app.applications.models import (
    TARGET_GROUPS,
    Application,
    Attachment,
    BudgetLine,
    MilestonePlan,
    PerformanceTarget,
)
from app.applications.operations.common import (
    check_version,
    lock,
    require,
    snapshot,
    touch,
)
from app.applications.permissions import can_create_application, can_edit_application
from app.audit import trail
from app.calls.models import Call
from app.core.errors import DomainError, NotAllowed, ValidationFailed
from app.core.files import store_upload
from app.extensions import db
from app.stations.models import HighTechPark, Station

MAX_EXCLUDED = 3
AGREEMENT_MILESTONE = "签订任务书"


def create_application(call: Call, *, actor) -> Application:
    """Start a draft application of the actor's organisation to ``call``.

    Milestone 0 (signing the task agreement) and the call's budget lines are
    laid out empty. Raises ``NotAllowed`` with the reason (wrong kind of
    organisation, unverified, banned with the ban's reason, call not
    accepting). Audited as ``application.create``.
    """
    require(can_create_application(actor, call))
    # --- stations (issue 12): a 差-graded station blocks its lead society ---
    from app.stations.reporting import application_block

    if block := application_block(call, actor.org_id):
        raise NotAllowed(block)
    # --- end stations ---
    app = Application(
        call_id=call.id,
        society_id=actor.org_id,
        created_by_id=actor.id,
        updated_by_id=actor.id,
        version=1,
        chief_expert={},
        team=[],
        excluded_experts=[],
    )
    app.budget = [
        BudgetLine(position=i, line_key=line["key"]) for i, line in enumerate(call.budget_lines)
    ]
    app.milestones = [MilestonePlan(seq=0, title=AGREEMENT_MILESTONE, tranche_pct=0)]
    db.session.add(app)
    db.session.flush()
    trail.record(
        "application.create",
        "application",
        app.id,
        actor=actor,
        after={"state": "draft", "call_id": call.id, "society_id": app.society_id, "version": 1},
    )
    return app


def _decimal_text(value) -> str | None:
    raw = unicodedata.normalize("NFKC", str(value or "")).strip()
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if not number.is_finite() or "e" in raw.lower():
        return None
    return raw


def _sections(data: dict) -> dict:
    return {
        "basics": [
            data.get(k)
            for k in (
                "title",
                "category",
                "summary",
                "objectives",
                "station_id",
                "park_id",
                "co_government_id",
            )
        ],
        "team": [data.get("chief_expert"), data.get("team")],
        "targets": data.get("targets"),
        "budget": data.get("budget"),
        "milestones": data.get("milestones"),
        "excluded_experts": data.get("excluded_experts"),
        "pledges": [data.get("pledge_integrity"), data.get("pledge_no_duplicate")],
    }


def _check_references(app: Application, data: dict) -> list[str]:
    """Problems with what ``data`` names. A station, park or government the draft
    already names was checked when it was chosen (and its row cannot go: the foreign
    key keeps it), so only a changed one is read."""
    problems = []
    call = app.call
    if data.get("category") and data["category"] not in call.categories:
        problems.append(_("任务类别不在本批次范围内。"))
    station_id = _changed(app.station_id, data.get("station_id"))
    if station_id and db.session.get(Station, station_id) is None:
        problems.append(_("所选服务站不存在。"))
    # --- stations (issue 12): only a station the society leads or partners in ---
    elif station_id:
        from app.stations.choices import station_problem

        if problem := station_problem(app, station_id):
            problems.append(problem)
    # --- end stations ---
    park_id = _changed(app.park_id, data.get("park_id"))
    if park_id and db.session.get(HighTechPark, park_id) is None:
        problems.append(_("所选园区不存在。"))
    if government_id := _changed(app.co_government_id, data.get("co_government_id")):
        gov = db.session.get(Organisation, government_id)
        if gov is None or gov.kind != "local_government":
            problems.append(_("共建单位必须是市县政府或科协。"))
    keys = {line["key"] for line in call.budget_lines}
    for row in data.get("budget", []):
        if row["line_key"] not in keys:
            problems.append(_("预算科目不在本批次范围内：%(key)s", key=row["line_key"]))
        for name in ("fund_fen", "matching_fen", "self_raised_fen"):
            value = row.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(_("预算金额无效。"))
    for i, target in enumerate(data.get("targets", []), start=1):
        if target.get("group") not in TARGET_GROUPS:
            problems.append(_("第%(n)s项绩效目标的类别无效。", n=i))
        if target.get("target_value") and _decimal_text(target["target_value"]) is None:
            problems.append(_("第%(n)s项绩效目标的目标值必须是数字。", n=i))
    seqs = [m.get("seq") for m in data.get("milestones", [])]
    if len(set(seqs)) != len(seqs):
        problems.append(_("进度安排的序号重复。"))
    for m in data.get("milestones", []):
        pct = m.get("tranche_pct", 0)
        if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
            problems.append(_("拨付比例必须是0到100之间的整数。"))
        if m.get("due_on") is not None and not isinstance(m["due_on"], date):
            problems.append(_("进度安排的日期无效。"))
    if len(data.get("excluded_experts", [])) > MAX_EXCLUDED:
        problems.append(_("申请回避的专家最多 %(n)s 名。", n=MAX_EXCLUDED))
    return problems


def _changed(stored, wanted):
    """``wanted`` when it differs from what is stored, else None."""
    return wanted if wanted != stored else None


_LOCKED = "locked_for_save"  # InstanceState.info: the transaction that locked the row


def load_for_save(app_id: int) -> Application | None:
    """The application read under its row lock, for a ``save_draft`` in this transaction.

    The edit page's POST reads the row this way once; ``save_draft`` then takes it as
    locked and fresh instead of reading it again. Only the next save in the same
    transaction skips its read.
    """
    app = db.session.execute(
        select(Application)
        .where(Application.id == app_id)
        .with_for_update(of=Application)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if app is not None:
        inspect(app).info[_LOCKED] = db.session().get_transaction()
    return app


def _lock_once(app: Application) -> Application:
    """``lock(app)``, unless ``load_for_save`` already read it locked in this transaction."""
    locked_in = inspect(app).info.pop(_LOCKED, None)
    if locked_in is not None and locked_in is db.session().get_transaction():
        return app
    return lock(app)


def save_draft(app: Application, data: dict, *, actor, expected_version: int) -> Application:
    """Save what the applicant typed, complete or not, across as many sessions as needed.

    ``data`` is plain data (see ``forms.parse_application``): scalar fields,
    ``chief_expert``, ``team``, ``excluded_experts``, ``budget`` rows of
    integer fen, ``targets``, ``milestones``. ``expected_version`` is required
    (a missing or non-integer one raises ``DomainError``, 400, before anything is
    read or written). The row is locked and
    ``expected_version`` compared: a stale form raises ``StaleApplication``
    (409) naming what changed since, and nothing is written. Raises
    ``NotAllowed`` (another organisation, not editable) and
    ``ValidationFailed`` listing references that do not exist. Child rows
    are updated in place (budget lines matched by key, milestones by
    sequence, targets by position; only what changed is written); totals
    recomputed. Audited as ``application.save`` with
    the new version and the changed sections (never the text itself).
    """
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        # Optimistic concurrency needs the version the form was built from: without it a
        # save would silently overwrite whatever another session saved in between.
        raise DomainError(_("保存失败：表单缺少版本号。请刷新页面，核对内容后再保存。"))
    require(can_edit_application(actor, app))
    app = _lock_once(app)
    require(can_edit_application(actor, app))
    check_version(app, expected_version)
    problems = _check_references(app, data)
    if problems:
        raise ValidationFailed(problems[0], details=problems[1:])
    before = _sections(snapshot(app, with_attachments=False))
    _apply(app, data)
    touch(app, actor)
    db.session.flush()
    after = _sections(snapshot(app, with_attachments=False))
    changed = [k for k in after if _normal(after[k]) != _normal(before.get(k))]
    trail.record(
        "application.save",
        "application",
        app.id,
        actor=actor,
        after={"version": app.version, "changed": changed},
    )
    return app


def _normal(value):
    """Compare sections without caring about empty-vs-missing differences."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v not in (None, "", 0, [], {})}
    return None if value in ("", 0) else value


def _assign(row, values: dict) -> None:
    """Set only the attributes that differ, so an unchanged row is not written."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def _apply(app: Application, data: dict) -> None:
    """Write ``data`` onto ``app`` and its child rows, in place.

    Budget lines are matched by line key and milestones by sequence (both unique
    per application, so a kept row never meets a new one with its key), targets
    by position; rows no longer present are deleted, missing ones inserted, and
    only changed values are updated. The stored result is the same as replacing
    every child row.
    """
    for name in ("title", "summary", "objectives"):
        _assign(app, {name: (data.get(name) or "").strip()})
    for name in ("category", "station_id", "park_id", "co_government_id"):
        _assign(app, {name: data.get(name) or None})
    _assign(
        app,
        {
            "chief_expert": data.get("chief_expert") or {},
            "team": data.get("team") or [],
            "excluded_experts": data.get("excluded_experts") or [],
            "pledge_integrity": bool(data.get("pledge_integrity")),
            "pledge_no_duplicate": bool(data.get("pledge_no_duplicate")),
        },
    )
    with db.session.no_autoflush:
        _apply_budget(app, data)
        _apply_targets(app, data)
        _apply_milestones(app, data)
    _assign(
        app,
        {
            "requested_fen": sum(b.fund_fen for b in app.budget),
            "matching_fen": sum(b.matching_fen for b in app.budget),
            "self_raised_fen": sum(b.self_raised_fen for b in app.budget),
        },
    )


def _apply_budget(app: Application, data: dict) -> None:
    rows = {row["line_key"]: row for row in data.get("budget", [])}
    stored = {b.line_key: b for b in app.budget}
    lines = []
    for position, line in enumerate(app.call.budget_lines):
        key = line["key"]
        row = rows.get(key, {})
        values = {
            "position": position,
            "line_key": key,
            "fund_fen": row.get("fund_fen", 0),
            "matching_fen": row.get("matching_fen", 0),
            "self_raised_fen": row.get("self_raised_fen", 0),
            "note": (row.get("note") or "").strip() or None,
        }
        if key in stored:
            _assign(stored[key], values)
            lines.append(stored[key])
        else:
            lines.append(BudgetLine(**values))
    if lines != list(app.budget):
        app.budget[:] = lines  # rows left out are deleted (delete-orphan)


def _apply_targets(app: Application, data: dict) -> None:
    stored = list(app.targets)
    targets = []
    for i, t in enumerate(data.get("targets", [])):
        values = {
            "position": i,
            "target_group": t["group"],
            "indicator": (t.get("indicator") or "").strip(),
            "unit": (t.get("unit") or "").strip(),
            "target_value": _decimal_text(t.get("target_value")) or "",
        }
        if i < len(stored):
            _assign(stored[i], values)
            targets.append(stored[i])
        else:
            targets.append(PerformanceTarget(**values))
    if targets != stored:
        app.targets[:] = targets


def _apply_milestones(app: Application, data: dict) -> None:
    milestones = sorted(data.get("milestones", []), key=lambda m: m["seq"])
    if not milestones or milestones[0]["seq"] != 0:
        milestones.insert(0, {"seq": 0, "title": AGREEMENT_MILESTONE, "tranche_pct": 0})
    stored = {m.seq: m for m in app.milestones}
    plans = []
    for m in milestones:
        values = {
            "seq": m["seq"],
            "title": (m.get("title") or "").strip() or AGREEMENT_MILESTONE,
            "due_on": m.get("due_on"),
            "deliverables": (m.get("deliverables") or "").strip(),
            "tranche_pct": m.get("tranche_pct", 0),
        }
        if m["seq"] in stored:
            _assign(stored[m["seq"]], values)
            plans.append(stored[m["seq"]])
        else:
            plans.append(MilestonePlan(**values))
    if plans != list(app.milestones):
        app.milestones[:] = plans


def add_attachment(app: Application, kind: str, stream, filename: str, *, actor) -> Attachment:
    """Attach a file of one of the call's required kinds (replacing an earlier one of that kind).

    Raises ``NotAllowed`` (not editable by the actor), ``ValidationFailed``
    (unknown kind, a file type other than PDF/image/Office/zip). Bumps the
    version. Audited as ``application.attach`` with the file's sha256.
    """
    require(can_edit_application(actor, app))
    app = lock(app)
    if kind not in {k["key"] for k in app.call.required_attachments}:
        raise ValidationFailed(_("附件类型无效。"), field="kind")
    stored = store_upload(
        stream, filename, kind="any", owner_type="application", owner_id=app.id, actor=actor
    )
    for old in [a for a in app.attachments if a.kind == kind]:
        app.attachments.remove(old)
    attachment = Attachment(kind=kind, file_id=stored.id, uploaded_by_id=actor.id)
    app.attachments.append(attachment)
    touch(app, actor)
    db.session.flush()
    trail.record(
        "application.attach",
        "application",
        app.id,
        actor=actor,
        after={
            "version": app.version,
            "changed": ["attachments"],
            "kind": kind,
            "file_id": stored.id,
            "sha256": stored.sha256,
        },
    )
    return attachment


def attachment_file(app: Application, file_id: int):
    """The stored file ``file_id`` if it belongs to ``app`` (an attachment or the sealed scan)."""
    from app.core.models import StoredFile

    row = db.session.get(StoredFile, file_id)
    if row is None or row.owner_type != "application" or row.owner_id != app.id:
        return None
    return row


def applications_of_call(call_id: int, states) -> list[Application]:
    """Applications of a call in ``states``, by id."""
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.call_id == call_id, Application.state.in_(list(states)))
            .order_by(Application.id)
        )
    )
