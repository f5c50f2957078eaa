"""Change requests (项目变更): major ones (leader, lead organisation, targets, name,
budget reallocation, extension) are forwarded by the officer as an amendment of the
task agreement (the awards module's 补充任务书) and approved by the approver, which
numbers the amendment; minor ones are only recorded (备案).

Extension: at most once, at most ``PROJECT_EXTENSION_MAX_MONTHS`` (12) months, asked at
least ``PROJECT_EXTENSION_NOTICE_MONTHS`` (3) months before the planned end; other major
changes at least ``PROJECT_MAJOR_CHANGE_DAYS`` (60) days before the end.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.awards import operations as awards
from app.awards.models import AgreementAmendment
from app.core import clock
from app.core.errors import InvalidTransition, ValidationFailed
from app.core.money import format_yuan, parse_fen
from app.extensions import db
from app.projects.models import ChangeRequest, Project
from app.projects.operations.common import (
    add_months,
    agreement_of,
    approved_budget,
    lock,
    planned_end,
    require,
    setting,
    spent_fen,
)
from app.projects.permissions import can_decide, can_manage, can_report
from app.projects.states import CHANGE_KINDS, CHANGE_WORKFLOW, MAJOR_CHANGE_KINDS, RUNNING_STATES


def _payload(project: Project, kind: str, data: dict) -> dict:
    """The structured part of a change, validated."""
    if kind in ("leader", "name"):
        value = (data.get("value") or "").strip()[:200]
        if not value:
            raise ValidationFailed(_("请填写变更后的内容。"), field="value")
        return {"value": value}
    if kind == "lead_org":
        value = (data.get("value") or "").strip()[:200]
        if not value:
            raise ValidationFailed(_("请填写变更后的承担单位。"), field="value")
        return {"value": value}
    if kind == "targets":
        targets = [t for t in data.get("targets") or [] if (t.get("indicator") or "").strip()]
        if not targets:
            raise ValidationFailed(_("请填写调整后的绩效目标。"), field="targets")
        return {"targets": targets}
    if kind == "reallocation":
        lines = {b["line_key"]: b for b in approved_budget(project)}
        source = data.get("source") or "fund"
        frm, to = data.get("from_line"), data.get("to_line")
        if frm not in lines or to not in lines or frm == to:
            raise ValidationFailed(_("请选择两个不同的预算科目。"), field="from_line")
        amount = parse_fen(data.get("amount"))
        room = int(lines[frm][f"{source}_fen"]) - spent_fen(
            project.id, line_key=frm, source=source, counted_only=False
        )
        if amount <= 0 or amount > room:
            raise ValidationFailed(
                _("调出金额须大于零且不超过该科目未支出额 %(r)s 元。", r=format_yuan(max(room, 0))),
                field="amount",
            )
        return {"from_line": frm, "to_line": to, "source": source, "amount_fen": amount}
    if kind == "extension":
        try:
            months = int(data.get("months"))
        except (TypeError, ValueError):
            raise ValidationFailed(_("请填写延期月数。"), field="months") from None
        return {"months": months}
    return {}


def extension_refusal(project: Project, months: int, exclude_id: int | None = None) -> str | None:
    """Why an extension of ``months`` cannot be asked now, or None."""
    limit = int(setting("PROJECT_EXTENSION_MAX_MONTHS", 12))
    notice = int(setting("PROJECT_EXTENSION_NOTICE_MONTHS", 3))
    if not 1 <= months <= limit:
        return _("延期不得超过 %(n)s 个月。", n=limit)
    earlier = db.session.scalar(
        select(ChangeRequest.id).where(
            ChangeRequest.project_id == project.id,
            ChangeRequest.kind == "extension",
            ChangeRequest.state.in_(("submitted", "approved")),
            ChangeRequest.id != (exclude_id or 0),
        )
    )
    if earlier is not None or project.extension_months:
        return _("项目只能延期一次，已申请过延期。")
    end = planned_end(project)
    if end is None:
        return _("项目没有计划结束日期，不能申请延期。")
    if clock.today() > add_months(end, -notice):
        return _(
            "延期须在项目结束前 %(n)s 个月提出（结束日期 %(e)s，最晚 %(d)s）。",
            n=notice,
            e=end.isoformat(),
            d=add_months(end, -notice).isoformat(),
        )
    return None


def create_change(project: Project, kind: str, description: str, data: dict, *, actor):
    """The society drafts a change request of ``kind`` (see ``CHANGE_KINDS``).

    Raises ``NotAllowed`` (not the project's society), ``InvalidTransition`` (project
    not running), ``ValidationFailed``. Audited as ``change_request.create``.
    """
    require(can_report(actor, project))
    if kind not in CHANGE_KINDS:
        raise ValidationFailed(_("请选择变更类型。"), field="kind")
    if str(project.state) not in RUNNING_STATES:
        raise InvalidTransition(_("项目当前状态“%(s)s”下不能申请变更。", s=project.state_label()))
    description = (description or "").strip()
    if not description:
        raise ValidationFailed(_("请说明变更内容和理由。"), field="description")
    row = ChangeRequest(
        project_id=project.id,
        kind=kind,
        is_major=kind in MAJOR_CHANGE_KINDS,
        description=description,
        payload=_payload(project, kind, data or {}),
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "change_request.create",
        "change_request",
        row.id,
        actor=actor,
        after={"state": "draft", "project_id": project.id, "kind": kind, "payload": row.payload},
    )
    return row


def submit_change(row: ChangeRequest, *, actor) -> ChangeRequest:
    """The society submits a draft change. Extensions are refused when asked too late,
    twice, or for too long; other major changes within ``PROJECT_MAJOR_CHANGE_DAYS`` of
    the end. Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (with the
    rule). Audited as ``change_request.submit``.
    """
    row = lock(ChangeRequest, row)
    project = lock(Project, row.project)
    require(can_report(actor, project))
    if row.kind == "extension":
        refusal = extension_refusal(project, int(row.payload["months"]), exclude_id=row.id)
        if refusal:
            raise ValidationFailed(refusal, field="months")
    elif row.is_major:
        end, days = planned_end(project), int(setting("PROJECT_MAJOR_CHANGE_DAYS", 60))
        if end is not None and clock.today() > end - timedelta(days=days):
            raise ValidationFailed(_("重大变更须在项目结束前 %(n)s 天提出。", n=days), field="kind")
    row.submitted_at = clock.now()
    CHANGE_WORKFLOW.apply(row, "submit", actor=actor, system=True)
    return row


def record_change(row: ChangeRequest, *, actor) -> ChangeRequest:
    """The officer records (备案) a minor change. Audited as ``change_request.record``."""
    require(can_manage(actor))
    row = lock(ChangeRequest, row)
    if row.is_major:
        raise InvalidTransition(_("重大变更须经审批，不能仅备案。"))
    row.decided_by_id, row.decided_at = actor.id, clock.now()
    CHANGE_WORKFLOW.apply(row, "record", actor=actor)
    return row


def forward_change(row: ChangeRequest, *, actor) -> AgreementAmendment:
    """The officer drafts the amendment (补充任务书) for a submitted major change and
    submits it for approval. Raises ``NotAllowed``, ``InvalidTransition`` (minor, not
    submitted, already forwarded). Audited by the awards module's amendment events
    and ``change_request.forward``.
    """
    require(can_manage(actor))
    row = lock(ChangeRequest, row)
    if not row.is_major or row.state != "submitted" or row.forwarded_at is not None:
        raise InvalidTransition(_("只有已提交、尚未报批的重大变更可以报批。"))
    agreement = agreement_of(row.project)
    title = _("项目变更：%(k)s", k=CHANGE_KINDS[row.kind])
    content = f"{row.description}\n{_describe(row)}"
    amendment = awards.create_amendment(agreement, str(title), content, actor=actor)
    awards.advance_amendment(amendment, "submit", actor=actor)
    row.forwarded_by_id, row.forwarded_at, row.amendment_id = actor.id, clock.now(), amendment.id
    trail.record(
        "change_request.forward",
        "change_request",
        row.id,
        actor=actor,
        after={"amendment_id": amendment.id},
    )
    return amendment


def _describe(row: ChangeRequest) -> str:
    p = row.payload
    if row.kind == "reallocation":
        return (
            f"{p['from_line']} → {p['to_line']}：{format_yuan(p['amount_fen'])} 元（{p['source']}）"
        )
    if row.kind == "extension":
        return f"延期 {p['months']} 个月"
    if row.kind == "targets":
        return "；".join(
            f"{t.get('indicator')} {t.get('target_value')}{t.get('unit', '')}" for t in p["targets"]
        )
    return str(p.get("value", ""))


def decide_change(row: ChangeRequest, approve: bool, reason: str, *, actor) -> ChangeRequest:
    """The approver (not the officer who forwarded it) approves or rejects a major change.

    Approval approves its amendment, which gets the next number (补充任务书N), and
    applies the change: an extension moves the planned end; a reallocation moves the
    approved line amounts; targets, name and leader take effect from now; a change of
    lead organisation is recorded in the amendment only. The extension rules are
    checked again. Raises ``NotAllowed`` (four-eyes), ``InvalidTransition`` (not yet
    forwarded), ``ValidationFailed``. Audited as ``change_request.approve|reject`` and
    the amendment's events.
    """
    require(can_decide(actor, row))
    row = lock(ChangeRequest, row)
    if row.forwarded_at is None:
        raise InvalidTransition(_("该变更尚未由经办人报批。"))
    project = lock(Project, row.project)
    amendment = db.session.get(AgreementAmendment, row.amendment_id)
    if not approve:
        awards.advance_amendment(amendment, "reject", actor=actor, reason=reason)
        row.decided_by_id, row.decided_at = actor.id, clock.now()
        row.decision_reason = (reason or "").strip()
        CHANGE_WORKFLOW.apply(row, "reject", actor=actor, reason=reason)
        return row
    if row.kind == "extension":
        refusal = extension_refusal(project, int(row.payload["months"]), exclude_id=row.id)
        if refusal:
            raise ValidationFailed(refusal)
    awards.advance_amendment(amendment, "approve", actor=actor, reason=reason)
    row.amendment_number = amendment.number
    row.decided_by_id, row.decided_at = actor.id, clock.now()
    row.decision_reason = (reason or "").strip() or None
    after = {"amendment_id": amendment.id, "amendment_number": amendment.number}
    if row.kind == "extension":
        months = int(row.payload["months"])
        project.end_on = add_months(planned_end(project), months)
        project.extension_months = months
        after["end_on"] = project.end_on
    CHANGE_WORKFLOW.apply(row, "approve", actor=actor, reason=reason, after=after)
    return row
