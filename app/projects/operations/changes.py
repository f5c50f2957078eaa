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

from app.accounts.models import Organisation
from app.audit import trail
from app.awards import operations as awards
from app.awards.models import AgreementAmendment
from app.core import clock
from app.core.errors import InvalidTransition, ValidationFailed
from app.core.money import format_yuan, parse_fen
from app.extensions import db
from app.projects.models import ChangeRequest, Project, ProjectReport
from app.projects.operations.common import (
    add_months,
    agreement_of,
    approved_budget,
    current_targets,
    lock,
    planned_end,
    project_leader,
    project_title,
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
        org = _new_lead_org(project, value)
        return {
            "value": org.name,
            "org_id": org.id,
            "from_org_id": project.society_id,
            "from_name": project.society.name,
        }
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


def _new_lead_org(project: Project, name: str) -> Organisation:
    """The registered society named ``name`` that would take the project over.

    Raises ``ValidationFailed`` when there is none, it is the current lead organisation,
    or it is banned from applying (a ban covers taking over a project too).
    """
    org = db.session.scalar(
        select(Organisation).where(Organisation.name == name, Organisation.kind == "society")
    )
    if org is None:
        raise ValidationFailed(
            _("找不到名为“%(n)s”的学会，请填写已注册学会的全称。", n=name), field="value"
        )
    if org.id == project.society_id:
        raise ValidationFailed(_("变更后的承担单位与现承担单位相同。"), field="value")
    if org.banned_until is not None and org.banned_until >= clock.today():
        raise ValidationFailed(
            _("“%(n)s”在 %(d)s 前不得承担项目。", n=org.name, d=org.banned_until.isoformat()),
            field="value",
        )
    return org


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
    if row.kind == "lead_org":
        return f"承担单位：{p.get('from_name', '')} → {p['value']}"
    if row.kind == "leader":
        return f"项目负责人：{project_leader(row.project)} → {p['value']}"
    if row.kind == "name":
        return f"项目名称：{project_title(row.project)} → {p['value']}"
    return str(p.get("value", ""))


def decide_change(row: ChangeRequest, approve: bool, reason: str, *, actor) -> ChangeRequest:
    """The approver (not the officer who forwarded it) approves or rejects a major change.

    Approval approves its amendment, which gets the next number (补充任务书N), and
    applies the change: an extension moves the planned end; a change of lead
    organisation moves the project to the new society (its people see and report on it
    from now; the old society's no longer do); a reallocation moves the approved line
    amounts; targets (also in reports still being drafted), name and leader take effect
    from now. The extension and lead-organisation rules are checked again.

    Raises ``NotAllowed`` (four-eyes), ``InvalidTransition`` (not yet forwarded),
    ``ValidationFailed``. Audited as ``change_request.approve|reject``, the
    amendment's events and ``project.change_<kind>`` (what was in force before and after).
    """
    require(can_decide(actor, row))
    row = lock(ChangeRequest, row)
    if row.forwarded_at is None:
        raise InvalidTransition(_("该变更尚未由经办人报批。"))
    if row.state != "submitted":
        raise InvalidTransition(_("该变更已处理。"))
    project = lock(Project, row.project)
    amendment = db.session.get(AgreementAmendment, row.amendment_id)
    if not approve:
        awards.advance_amendment(amendment, "reject", actor=actor, reason=reason)
        row.decided_by_id, row.decided_at = actor.id, clock.now()
        row.decision_reason = (reason or "").strip()
        CHANGE_WORKFLOW.apply(row, "reject", actor=actor, reason=reason)
        return row
    before = _in_force(project, row.kind)
    if row.kind == "extension":
        refusal = extension_refusal(project, int(row.payload["months"]), exclude_id=row.id)
        if refusal:
            raise ValidationFailed(refusal)
    if row.kind == "lead_org":
        org = _new_lead_org(project, row.payload["value"])
    awards.advance_amendment(amendment, "approve", actor=actor, reason=reason)
    row.amendment_number = amendment.number
    row.decided_by_id, row.decided_at = actor.id, clock.now()
    row.decision_reason = (reason or "").strip() or None
    after = {"amendment_id": amendment.id, "amendment_number": amendment.number}
    CHANGE_WORKFLOW.apply(row, "approve", actor=actor, reason=reason, after=after)
    db.session.flush()
    if row.kind == "extension":
        months = int(row.payload["months"])
        project.end_on = add_months(planned_end(project), months)
        project.extension_months = months
    elif row.kind == "lead_org":
        project.society_id = org.id
    elif row.kind == "targets":
        _refresh_open_reports(project)
    db.session.flush()
    db.session.expire(project, ["society"])
    trail.record(
        f"project.change_{row.kind}",
        "project",
        project.id,
        actor=actor,
        before=before,
        after={
            **_in_force(project, row.kind),
            "change_request_id": row.id,
            "amendment_number": amendment.number,
        },
    )
    return row


def _in_force(project: Project, kind: str) -> dict:
    """What a major change of ``kind`` alters, as it stands now (for the audit event)."""
    if kind == "lead_org":
        return {"society_id": project.society_id}
    if kind == "leader":
        return {"leader": project_leader(project)}
    if kind == "name":
        return {"title": project_title(project)}
    if kind == "targets":
        return {"targets": current_targets(project)}
    if kind == "reallocation":
        return {"budget": approved_budget(project)}
    return {"end_on": planned_end(project), "extension_months": project.extension_months}


def _refresh_open_reports(project: Project) -> None:
    """Reports still being drafted get the targets now in force (actual values kept by
    indicator); submitted ones keep the targets they were written against."""
    reports = db.session.scalars(
        select(ProjectReport).where(
            ProjectReport.project_id == project.id, ProjectReport.state.in_(("draft", "returned"))
        )
    ).all()
    for report in reports:
        actual = {t.get("indicator"): t.get("actual_value") for t in report.target_values}
        report.target_values = [
            {
                "indicator": t.get("indicator", ""),
                "unit": t.get("unit", ""),
                "target_value": str(t.get("target_value", "")),
                "actual_value": actual.get(t.get("indicator")),
            }
            for t in current_targets(project)
        ]
        report.version += 1
