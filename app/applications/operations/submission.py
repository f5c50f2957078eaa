"""Completeness, submission (deadline, limit, numbering, immutable revision) and withdrawal."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.accounts.models import Organisation
from app.applications.models import TARGET_GROUPS, Application, Decision, Revision
from app.applications.operations.common import (
    check_version,
    lock,
    require,
    sha256_of,
    snapshot,
    touch,
)
from app.applications.states import APPLICATION_WORKFLOW, SUBMITTED_STATES, ApplicationState
from app.calls.models import INDIRECT, CallCounter
from app.calls.rules import format_number
from app.calls.states import CallState
from app.core import clock
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.money import format_yuan
from app.extensions import db

GROUP_LABELS = {"output": "产出指标", "effect": "效益指标", "satisfaction": "满意度指标"}


def required_matching_fen(requested_fen: int, ratio_pct: int) -> int:
    """The least matching commitment for ``requested_fen`` at ``ratio_pct`` (rounded up)."""
    return -(-requested_fen * ratio_pct // 100)


def budget_problems(app: Application) -> list[str]:
    """Every cap the budget breaks (the same checks the browser shows live)."""
    call, problems = app.call, []
    if app.requested_fen <= 0:
        problems.append(_("经费预算：申请专项资金不能为零。"))
    if app.requested_fen > call.project_cap_fen:
        problems.append(
            _(
                "经费预算：申请专项资金 %(got)s 元，超过单项资助上限 %(cap)s 元。",
                got=format_yuan(app.requested_fen),
                cap=format_yuan(call.project_cap_fen),
            )
        )
    direct = sum(b.fund_fen for b in app.budget if b.line_key != INDIRECT)
    for b in app.budget:
        line = call.line(b.line_key) or {}
        if line.get("cap_fen") is not None and b.fund_fen > line["cap_fen"]:
            problems.append(
                _(
                    "经费预算：“%(line)s”专项资金 %(got)s 元，超过该科目上限 %(cap)s 元。",
                    line=line.get("zh", b.line_key),
                    got=format_yuan(b.fund_fen),
                    cap=format_yuan(line["cap_fen"]),
                )
            )
        if b.line_key == INDIRECT and b.fund_fen * 100 > direct * call.indirect_cap_pct:
            problems.append(
                _(
                    "经费预算：间接费用 %(got)s 元，超过直接费用的 %(pct)s%%（%(cap)s 元）。",
                    got=format_yuan(b.fund_fen),
                    pct=call.indirect_cap_pct,
                    cap=format_yuan(direct * call.indirect_cap_pct // 100),
                )
            )
    if call.matching_required:
        needed = required_matching_fen(app.requested_fen, call.matching_ratio_pct)
        if app.matching_fen < needed:
            problems.append(
                _(
                    "经费预算：地方配套 %(got)s 元，低于要求的 %(pct)s%%（%(need)s 元）。",
                    got=format_yuan(app.matching_fen),
                    pct=call.matching_ratio_pct,
                    need=format_yuan(needed),
                )
            )
    return problems


def completeness_problems(app: Application) -> list[str]:
    """Every missing or invalid item of the application, in Chinese, in form order."""
    call, p = app.call, []
    if not app.title.strip():
        p.append(_("请填写项目名称。"))
    if app.category not in call.categories:
        p.append(_("请选择任务类别。"))
    if not app.summary.strip():
        p.append(_("请填写项目摘要。"))
    if not app.objectives.strip():
        p.append(_("请填写项目目标。"))
    if not app.station_id and call.kind != "pilot":  # stations (issue 12): pilots have none
        p.append(_("请选择学会服务站。"))
    if not app.park_id:
        p.append(_("请选择所在园区。"))
    if not app.co_government_id:
        p.append(_("请选择共建地方政府（科协）。"))
    chief = app.chief_expert or {}
    for key, label in (("name", _("姓名")), ("title", _("职称")), ("organisation", _("工作单位"))):
        if not (chief.get(key) or "").strip():
            p.append(_("请填写首席科技专家的%(what)s。", what=label))
    if not app.team:
        p.append(_("请至少填写一名团队成员。"))
    for i, member in enumerate(app.team or [], start=1):
        missing = [
            label
            for key, label in (
                ("name", _("姓名")),
                ("title", _("职称")),
                ("organisation", _("单位")),
                ("role", _("分工")),
            )
            if not (member.get(key) or "").strip()
        ]
        if missing:
            p.append(_("团队成员第%(n)s行缺少：%(what)s。", n=i, what=_("、").join(missing)))
    groups = {t.target_group for t in app.targets}
    for group in TARGET_GROUPS:
        if group not in groups:
            p.append(_("请至少填写一项%(group)s。", group=GROUP_LABELS[group]))
    for i, t in enumerate(app.targets, start=1):
        if not (t.indicator and t.unit and t.target_value):
            p.append(_("绩效目标第%(n)s行须填写指标、单位和目标值。", n=i))
    p.extend(budget_problems(app))
    p.extend(_milestone_problems(app))
    have = {a.kind for a in app.attachments}
    for kind in call.required_attachments:
        if kind["key"] not in have:
            p.append(_("请上传附件：%(name)s。", name=kind["zh"]))
    for i, e in enumerate(app.excluded_experts or [], start=1):
        if not ((e.get("name") or "").strip() and (e.get("reason") or "").strip()):
            p.append(_("申请回避专家第%(n)s行须填写姓名和理由。", n=i))
    if not app.pledge_integrity:
        p.append(_("请勾选科研诚信承诺。"))
    if not app.pledge_no_duplicate:
        p.append(_("请勾选未重复申报承诺。"))
    return p


def _milestone_problems(app: Application) -> list[str]:
    p = []
    ms = list(app.milestones)
    if not ms or ms[0].seq != 0:
        p.append(_("进度安排须以“签订任务书”（第0个节点）开始。"))
    if len(ms) < 2:
        p.append(_("请至少填写一个任务书签订后的进度节点。"))
    previous = None
    for m in ms[1:]:
        if not m.due_on or not m.deliverables.strip():
            p.append(_("进度节点“%(t)s”须填写完成日期和交付成果。", t=m.title))
        elif previous and m.due_on <= previous:
            p.append(_("进度节点“%(t)s”的日期须晚于上一节点。", t=m.title))
        previous = m.due_on or previous
    total = sum(m.tranche_pct for m in ms)
    if total != 100:
        p.append(_("各节点拨付比例之和须为100%%，当前为%(n)s%%。", n=total))
    return p


def _check_window(app: Application) -> None:
    call, now = app.call, clock.now()
    if app.state == ApplicationState.RETURNED:
        if call.state not in (CallState.PUBLISHED, CallState.OPEN, CallState.CLOSED):
            raise NotAllowed(_("该批次已进入评审，不能再提交修改后的申报书。"))
        return
    if call.state not in (CallState.PUBLISHED, CallState.OPEN):
        raise NotAllowed(_("该批次当前不接受申报。"))
    if now < clock.as_utc(call.opens_at):
        raise NotAllowed(
            _(
                "申报尚未开始（开始时间 %(t)s）。",
                t=clock.local(call.opens_at).strftime("%Y-%m-%d %H:%M"),
            )
        )
    if now >= clock.as_utc(call.closes_at):
        raise NotAllowed(
            _(
                "申报已于 %(t)s 截止，不能再提交。",
                t=clock.local(call.closes_at).strftime("%Y-%m-%d %H:%M:%S"),
            )
        )


def _check_limit(app: Application) -> None:
    # Locking the society's row serialises its concurrent submissions to this call.
    db.session.execute(
        select(Organisation.id).where(Organisation.id == app.society_id).with_for_update()
    )
    count = db.session.scalar(
        select(func.count(Application.id)).where(
            Application.call_id == app.call_id,
            Application.society_id == app.society_id,
            Application.id != app.id,
            Application.state.in_(SUBMITTED_STATES),
        )
    )
    if count >= app.call.per_society_limit:
        raise Conflict(
            _(
                "本批次每个单位限报 %(n)s 项，贵单位已提交 %(got)s 项。",
                n=app.call.per_society_limit,
                got=count,
            )
        )


def next_project_number(call) -> str:
    """Hand out the call's next number: a conditional UPDATE of its counter row.

    ``UPDATE … SET last_seq = n WHERE last_seq = n - 1`` either wins or sees
    another submitter's committed number and tries the next one; the update
    belongs to the submitting transaction, so a rollback leaves no gap.
    """
    for _attempt in range(50):
        seen = db.session.execute(
            select(CallCounter.last_seq)
            .where(CallCounter.call_id == call.id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        result = db.session.execute(
            update(CallCounter)
            .where(CallCounter.call_id == call.id, CallCounter.last_seq == seen)
            .values(last_seq=seen + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            return format_number(
                call.number_pattern, year=call.fund.year, seq=seen + 1, call_id=call.id
            )
    raise Conflict(_("项目编号分配繁忙，请稍后重试。"))  # pragma: no cover


def submit_application(
    app: Application, *, actor, expected_version: int | None = None
) -> tuple[Application, bool]:
    """Submit a draft or a returned application; returns ``(application, created)``.

    Under the row lock: an application already submitted (a double click, a
    retry) returns ``created=False`` and changes nothing. Otherwise checks,
    in order: the actor (own organisation), the version, the deadline by the
    server clock (``opens_at ≤ now < closes_at``; a returned application may
    be resubmitted until the call's review starts), completeness (every
    missing item listed), the organisation's verification and ban, and the
    per-organisation limit. Assigns the project number on the first
    submission, stores an immutable ``Revision`` (snapshot + sha256) and
    moves the state by the workflow (``application.submit``).

    Raises ``NotAllowed``, ``StaleApplication``, ``ValidationFailed`` (details
    = every missing item), ``Conflict`` (limit reached), ``InvalidTransition``.
    """
    app = lock(app)
    repeated = expected_version is not None and int(expected_version) == app.version - 1
    if app.state == ApplicationState.SUBMITTED and repeated:
        return app, False
    require(APPLICATION_WORKFLOW.can(app, "submit", actor))
    check_version(app, expected_version)
    _check_window(app)
    problems = completeness_problems(app)
    if problems:
        raise ValidationFailed(
            _("申报书尚不完整，共 %(n)s 项需要补充或修改：", n=len(problems)), details=problems
        )
    org = app.society
    if org.is_banned():
        raise NotAllowed(
            _(
                "贵单位处于限制申报期（至 %(date)s），原因：%(reason)s",
                date=org.banned_until.isoformat(),
                reason=org.ban_reason or "",
            )
        )
    if not org.is_verified:
        raise NotAllowed(_("贵单位的注册尚未通过审核，暂不能申报。"))
    # --- stations (issue 12): a 差-graded station blocks its lead society ---
    from app.stations.reporting import application_block

    if block := application_block(app.call, app.society_id, app.id):
        raise NotAllowed(block)
    # --- end stations ---
    number = 1 + (
        db.session.scalar(select(func.count(Revision.id)).where(Revision.application_id == app.id))
        or 0
    )
    if app.project_number is None:
        _check_limit(app)
        project_number = next_project_number(app.call)
    else:
        project_number = app.project_number
    # No flush from here until the workflow sets the state: the CHECK constraints
    # tie submitted_at and the project number to a submitted state.
    with db.session.no_autoflush:
        if app.matching_committed_fen is not None and app.matching_committed_fen < (
            required_matching_fen(app.requested_fen, app.call.matching_ratio_pct)
        ):
            # The budget grew past what the co-builder committed: it confirms again.
            app.matching_committed_fen = app.matching_confirmed_at = None
            app.matching_confirmed_by_id = None
        app.project_number = project_number
        app.submitted_at = clock.now()
        touch(app, actor)
        data = snapshot(app)
        revision = Revision(
            application_id=app.id,
            number=number,
            snapshot=data,
            sha256=sha256_of(data),
            created_by_id=actor.id,
        )
        db.session.add(revision)
    APPLICATION_WORKFLOW.apply(
        app,
        "submit",
        actor=actor,
        after={
            "version": app.version,
            "changed": ["state"],
            "project_number": app.project_number,
            "revision": number,
            "sha256": revision.sha256,
        },
    )
    return app, True


def withdraw_application(app: Application, *, actor, reason: str | None = None) -> Application:
    """The applying organisation withdraws a draft, submitted or returned application.

    Raises ``NotAllowed`` and ``InvalidTransition``. Audited as ``application.withdraw``.
    """
    app = lock(app)
    require(APPLICATION_WORKFLOW.can(app, "withdraw", actor))
    touch(app, actor)
    db.session.add(
        Decision(application_id=app.id, kind="withdraw", reason=reason, actor_id=actor.id)
    )
    APPLICATION_WORKFLOW.apply(
        app, "withdraw", actor=actor, reason=reason, after={"version": app.version}
    )
    return app


def revisions_of(app: Application) -> list[Revision]:
    """Every submitted revision of ``app``, oldest first."""
    return list(
        db.session.scalars(
            select(Revision).where(Revision.application_id == app.id).order_by(Revision.number)
        )
    )
