"""Milestone and closing reports: drafts with expenditures and attachments, submission
as an immutable revision (sha256), acceptance or return by the officer.

Spending rules: per budget line × source, a warning at 85% of the approved amount and a
refusal above 100% (an approved reallocation moves the approved amounts); expert
consulting fees are never paid to project members; a voucher number is used once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.core import clock
from app.core.errors import Conflict, InvalidTransition, ValidationFailed
from app.core.files import store_upload
from app.core.money import format_yuan, parse_fen
from app.extensions import db
from app.projects import notices
from app.projects.models import (
    Expenditure,
    Milestone,
    Project,
    ProjectReport,
    ReportAttachment,
    ReportRevision,
)
from app.projects.operations.common import (
    approved_budget,
    current_targets,
    is_team_member,
    lock,
    require,
    setting,
    spent_fen,
)
from app.projects.operations.money import refresh_tranches
from app.projects.permissions import can_manage, can_report
from app.projects.states import (
    EXPENDITURE_SOURCES,
    MILESTONE_WORKFLOW,
    PROJECT_WORKFLOW,
    REPORT_WORKFLOW,
    RUNNING_STATES,
)

EXPERT_FEE_LINE = "expert_fee"
EDITABLE = ("draft", "returned")


def open_report(project: Project, milestone: Milestone | None = None, *, actor) -> ProjectReport:
    """The society's report on ``milestone`` (or its closing report when None), created
    as a draft on first use with one row per performance target.

    Raises ``NotAllowed`` (not the project's society), ``InvalidTransition`` (project not
    running; milestone 0 needs no report). Audited as ``project_report.create``.
    """
    require(can_report(actor, project))
    kind = "progress" if milestone is not None else "closing"
    stmt = select(ProjectReport).where(ProjectReport.project_id == project.id)
    stmt = stmt.where(
        ProjectReport.milestone_id == milestone.id
        if milestone is not None
        else ProjectReport.kind == "closing"
    )
    row = db.session.scalar(stmt)
    if row is not None:
        return row
    if milestone is not None and (milestone.project_id != project.id or milestone.seq == 0):
        raise InvalidTransition(_("该节点不需要提交进展报告。"))
    allowed = RUNNING_STATES if kind == "progress" else ("in_progress",)
    if str(project.state) not in allowed:
        raise InvalidTransition(_("项目当前状态“%(s)s”下不能填报。", s=project.state_label()))
    row = ProjectReport(
        project_id=project.id,
        milestone_id=milestone.id if milestone is not None else None,
        kind=kind,
        target_values=[
            {
                "indicator": t.get("indicator", ""),
                "unit": t.get("unit", ""),
                "target_value": str(t.get("target_value", "")),
                "actual_value": None,
            }
            for t in current_targets(project)
        ],
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "project_report.create",
        "project_report",
        row.id,
        actor=actor,
        after={
            "state": "draft",
            "project_id": project.id,
            "kind": kind,
            "milestone_id": row.milestone_id,
        },
    )
    return row


def _editable(report: ProjectReport, actor) -> None:
    require(can_report(actor, report.project))
    if report.state not in EDITABLE:
        raise InvalidTransition(_("报告已提交，不能再修改。"))


def save_report(report: ProjectReport, data: dict, *, actor, expected_version=None):
    """Save the draft: ``narrative`` and ``actual`` {index: value} for the targets.

    Raises ``NotAllowed``, ``InvalidTransition`` (submitted), ``Conflict`` (stale
    version). Audited as ``project_report.save``.
    """
    report = lock(ProjectReport, report)
    _editable(report, actor)
    if expected_version is not None and int(expected_version) != report.version:
        raise Conflict(_("报告已被他人修改，请刷新后重试。"))
    if "narrative" in data:
        report.narrative = (data.get("narrative") or "").strip()
    if "actual" in data:
        values = [dict(v) for v in report.target_values]
        for key, value in (data.get("actual") or {}).items():
            index = int(key)
            if 0 <= index < len(values):
                text = ("" if value is None else str(value)).strip()[:30]
                values[index]["actual_value"] = text or None
        report.target_values = values
    report.version += 1
    report.updated_at = clock.now()
    trail.record(
        "project_report.save",
        "project_report",
        report.id,
        actor=actor,
        after={"version": report.version},
    )
    return report


def line_usage(project: Project, line_key: str, source: str) -> tuple[int, int]:
    """(recorded spending including drafts, approved amount) of one line × source."""
    approved = next(
        (int(b[f"{source}_fen"]) for b in approved_budget(project) if b["line_key"] == line_key),
        0,
    )
    return spent_fen(project.id, line_key=line_key, source=source, counted_only=False), approved


def add_expenditure(report: ProjectReport, data: dict, upload=None, *, actor):
    """Add one expenditure to a draft: ``line_key``, ``source``, ``spent_on`` (date),
    ``amount`` (元), ``voucher_no``, ``payee``; ``upload`` = (stream, filename) of the
    voucher scan. Returns ``(row, warnings)``.

    Raises ``ValidationFailed`` for an unknown line, a line over 100% of its approved
    amount, expert fees to a project member, a missing field; ``Conflict`` for a
    voucher already used by the society. Audited as ``expenditure.add``.
    """
    report = lock(ProjectReport, report)
    _editable(report, actor)
    project = report.project
    line_key = (data.get("line_key") or "").strip()
    source = (data.get("source") or "fund").strip()
    lines = {b["line_key"]: b for b in approved_budget(project)}
    if line_key not in lines:
        raise ValidationFailed(_("预算科目不在任务书中。"), field="line_key")
    if source not in EXPENDITURE_SOURCES:
        raise ValidationFailed(_("资金来源不正确。"), field="source")
    amount_fen = parse_fen(data.get("amount"))
    if amount_fen <= 0:
        raise ValidationFailed(_("金额必须大于零。"), field="amount")
    spent_on = data.get("spent_on")
    if not isinstance(spent_on, date):
        raise ValidationFailed(_("请填写支出日期。"), field="spent_on")
    if spent_on > clock.today():
        raise ValidationFailed(_("支出日期不能晚于今天。"), field="spent_on")
    voucher_no = (data.get("voucher_no") or "").strip()[:64]
    payee = (data.get("payee") or "").strip()[:200]
    if not voucher_no or not payee:
        raise ValidationFailed(_("请填写凭证号和收款人。"))
    if line_key == EXPERT_FEE_LINE and is_team_member(project, payee):
        raise ValidationFailed(
            _("专家咨询费不得支付给项目组成员（%(p)s）。", p=payee), field="payee"
        )
    used = db.session.scalar(
        select(Expenditure.report_id).where(
            Expenditure.society_id == project.society_id, Expenditure.voucher_no == voucher_no
        )
    )
    if used is not None:
        raise Conflict(
            _("凭证号 %(v)s 已在报告 %(r)s 中使用，不能重复报销。", v=voucher_no, r=used)
        )
    spent, approved = line_usage(project, line_key, source)
    name = lines[line_key]["name"]
    if spent + amount_fen > approved:
        raise ValidationFailed(
            _(
                "“%(l)s”（%(s)s）支出将达 %(t)s 元，超过批准预算 %(a)s 元；"
                "如确需调整，请先申请预算调剂。",
                l=name,
                s=EXPENDITURE_SOURCES[source],
                t=format_yuan(spent + amount_fen),
                a=format_yuan(approved),
            ),
            field="amount",
        )
    warnings = []
    threshold = int(setting("BUDGET_WARN_PCT", 85))
    if (spent + amount_fen) * 100 >= approved * threshold:
        warnings.append(
            _(
                "“%(l)s”（%(s)s）执行率已达 %(p)s%%（批准预算 %(a)s 元）。",
                l=name,
                s=EXPENDITURE_SOURCES[source],
                p=(spent + amount_fen) * 100 // approved,
                a=format_yuan(approved),
            )
        )
    file_row = None
    if upload is not None:
        stream, filename = upload
        file_row = store_upload(
            stream,
            filename,
            kind="scan",
            owner_type="project_report",
            owner_id=report.id,
            actor=actor,
        )
    row = Expenditure(
        report_id=report.id,
        project_id=project.id,
        society_id=project.society_id,
        line_key=line_key,
        source=source,
        spent_on=spent_on,
        amount_fen=amount_fen,
        voucher_no=voucher_no,
        payee=payee,
        file_id=file_row.id if file_row else None,
    )
    db.session.add(row)
    db.session.flush()
    report.version += 1
    trail.record(
        "expenditure.add",
        "expenditure",
        row.id,
        actor=actor,
        after={
            "report_id": report.id,
            "line_key": line_key,
            "source": source,
            "amount_fen": amount_fen,
            "voucher_no": voucher_no,
            "file_sha256": file_row.sha256 if file_row else None,
        },
    )
    return row, warnings


def remove_expenditure(row: Expenditure, *, actor) -> None:
    """Remove an expenditure from a draft. Audited as ``expenditure.remove``."""
    report = lock(ProjectReport, row.report)
    _editable(report, actor)
    trail.record(
        "expenditure.remove",
        "expenditure",
        row.id,
        actor=actor,
        before={
            "report_id": report.id,
            "amount_fen": int(row.amount_fen),
            "voucher_no": row.voucher_no,
        },
    )
    db.session.delete(row)
    report.version += 1
    db.session.flush()


def attach_file(report: ProjectReport, stream, filename: str, title: str, *, actor):
    """Attach a file (deliverables, minutes, photos) to a draft. Audited as
    ``report_attachment.add`` with the file's sha256."""
    report = lock(ProjectReport, report)
    _editable(report, actor)
    stored = store_upload(
        stream, filename, kind="any", owner_type="project_report", owner_id=report.id, actor=actor
    )
    row = ReportAttachment(
        report_id=report.id, file_id=stored.id, title=(title or filename or "").strip()[:200]
    )
    db.session.add(row)
    db.session.flush()
    report.version += 1
    trail.record(
        "report_attachment.add",
        "report_attachment",
        row.id,
        actor=actor,
        after={"report_id": report.id, "sha256": stored.sha256},
    )
    return row


def snapshot(report: ProjectReport) -> dict:
    """The report's content as frozen in a revision (ids, amounts, digests)."""
    return {
        "report_id": report.id,
        "project_id": report.project_id,
        "kind": report.kind,
        "milestone_seq": report.milestone.seq if report.milestone else None,
        "narrative": report.narrative,
        "target_values": report.target_values,
        "expenditures": [
            {
                "line_key": e.line_key,
                "source": e.source,
                "spent_on": e.spent_on.isoformat(),
                "amount_fen": int(e.amount_fen),
                "voucher_no": e.voucher_no,
                "payee": e.payee,
                "file_sha256": e.file.sha256 if e.file else None,
            }
            for e in report.expenditures
        ],
        "attachments": [{"title": a.title, "sha256": a.file.sha256} for a in report.attachments],
    }


def digest(content: dict) -> str:
    """sha256 of canonical JSON (sorted keys, no spaces, UTF-8)."""
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def submit_report(report: ProjectReport, *, actor) -> ReportRevision:
    """Submit a draft (or a returned report) as a new immutable revision, for the society
    admin's sign-off (学会负责人审核). Submitted by the society admin it is signed off at
    once (``endorse_report``); the milestone or project moves only on sign-off.

    Needs a narrative and an actual value for every target. Raises ``NotAllowed``,
    ``InvalidTransition``, ``ValidationFailed`` (listing what is missing). Audited as
    ``project_report.submit`` (with the sha256), and the sign-off's events.
    """
    report = lock(ProjectReport, report)
    _editable(report, actor)
    project = lock(Project, report.project)
    missing = []
    if not report.narrative.strip():
        missing.append(_("请填写进展情况。"))
    for item in report.target_values:
        if item.get("actual_value") in (None, ""):
            missing.append(_("请填写“%(i)s”的实际完成值。", i=item.get("indicator")))
    if missing:
        raise ValidationFailed(_("报告还不能提交。"), details=missing)
    _check_project_state(report, project)
    number = len(report.revisions) + 1
    content = {**snapshot(report), "number": number}
    revision = ReportRevision(
        report_id=report.id,
        number=number,
        snapshot=content,
        sha256=digest(content),
        created_by_id=actor.id,
    )
    db.session.add(revision)
    db.session.flush()
    report.submitted_by_id, report.submitted_at = actor.id, clock.now()
    report.decided_at = report.decided_by_id = None
    report.endorsed_at = report.endorsed_by_id = None
    REPORT_WORKFLOW.apply(
        report,
        "submit",
        actor=actor,
        system=True,
        after={"revision": number, "sha256": revision.sha256},
    )
    if REPORT_WORKFLOW.can(report, "endorse", actor):
        endorse_report(report, actor=actor)
    return revision


def _check_project_state(report: ProjectReport, project: Project) -> None:
    if report.kind == "closing":
        stage = project.rectify_stage if project.state == "rectifying" else None
        if project.state != "in_progress" and stage != "acceptance":
            raise InvalidTransition(
                _("项目当前状态“%(s)s”下不能提交结题报告。", s=project.state_label())
            )
    elif str(project.state) not in RUNNING_STATES:
        raise InvalidTransition(_("项目当前状态“%(s)s”下不能提交报告。", s=project.state_label()))


def endorse_report(report: ProjectReport, *, actor) -> ProjectReport:
    """The society admin signs off (学会负责人审核) a submitted report of the society: it
    reaches the officer. A progress report moves its milestone to reported; a closing
    report moves the project to awaiting_acceptance (or back to accepting after an
    acceptance rectification).

    Raises ``NotAllowed`` (not the society's admin; already signed off),
    ``InvalidTransition`` (not submitted; the project no longer takes the report).
    Audited as ``project_report.endorse`` and the cascades.
    """
    report = lock(ProjectReport, report)
    project = lock(Project, report.project)
    require(REPORT_WORKFLOW.can(report, "endorse", actor))
    _check_project_state(report, project)
    REPORT_WORKFLOW.apply(report, "endorse", actor=actor, after={"revision": len(report.revisions)})
    report.endorsed_by_id, report.endorsed_at = actor.id, clock.now()
    if report.kind == "progress":
        MILESTONE_WORKFLOW.apply(report.milestone, "report", actor=actor, system=True)
    elif project.state == "rectifying":
        PROJECT_WORKFLOW.apply(project, "resubmit_acceptance", actor=actor, system=True)
    else:
        PROJECT_WORKFLOW.apply(project, "submit_closing", actor=actor, system=True)
    return report


def send_back_report(report: ProjectReport, comments: str, *, actor) -> ProjectReport:
    """The society admin sends a submitted report back to its staff with comments (it
    never reached the officer; the milestone is unchanged). Raises ``NotAllowed``,
    ``InvalidTransition``, ``ValidationFailed`` (no comments). Audited as
    ``project_report.send_back``.
    """
    report = lock(ProjectReport, report)
    require(REPORT_WORKFLOW.can(report, "send_back", actor))
    comments = (comments or "").strip()
    if not comments:
        raise ValidationFailed(_("请填写退回意见。"), field="comments")
    report.decided_by_id, report.decided_at, report.comments = actor.id, clock.now(), comments
    REPORT_WORKFLOW.apply(report, "send_back", actor=actor, reason=comments)
    return report


def accept_report(report: ProjectReport, *, actor) -> ProjectReport:
    """The officer accepts a submitted progress report: its milestone is accepted (by
    this officer — who then cannot release its tranche) and tranches are re-checked.
    Closing reports are accepted with the acceptance outcome instead.

    Raises ``NotAllowed``, ``InvalidTransition``. Audited as ``project_report.accept``,
    ``milestone.accept``.
    """
    require(can_manage(actor))
    report = lock(ProjectReport, report)
    if report.kind != "progress":
        raise InvalidTransition(_("结题报告在验收时一并审核。"))
    require(REPORT_WORKFLOW.can(report, "accept", actor))
    now = clock.now()
    report.decided_by_id, report.decided_at, report.comments = actor.id, now, None
    REPORT_WORKFLOW.apply(report, "accept", actor=actor)
    milestone = report.milestone
    milestone.accepted_at, milestone.accepted_by_id = now, actor.id
    MILESTONE_WORKFLOW.apply(
        milestone, "accept", actor=actor, after={"on_time": _on_time(milestone, now)}
    )
    refresh_tranches(report.project, actor=actor)
    return report


def _on_time(milestone: Milestone, when) -> bool:
    return milestone.due_on is None or clock.local(when).date() <= milestone.due_on


def return_report(report: ProjectReport, comments: str, *, actor) -> ProjectReport:
    """The officer returns a submitted report with comments; the society revises and
    resubmits (a new revision). A returned closing report before acceptance puts the
    project back to in_progress. Raises ``NotAllowed``, ``InvalidTransition``,
    ``ValidationFailed`` (no comments). Audited as ``project_report.return``.
    """
    require(can_manage(actor))
    report = lock(ProjectReport, report)
    require(REPORT_WORKFLOW.can(report, "return", actor))
    comments = (comments or "").strip()
    if not comments:
        raise ValidationFailed(_("请填写退回意见。"), field="comments")
    report.decided_by_id, report.decided_at, report.comments = actor.id, clock.now(), comments
    REPORT_WORKFLOW.apply(report, "return", actor=actor, reason=comments)
    if report.kind == "progress":
        MILESTONE_WORKFLOW.apply(report.milestone, "return", actor=actor, reason=comments)
    elif report.project.state == "awaiting_acceptance":
        PROJECT_WORKFLOW.apply(report.project, "return_closing", actor=actor, system=True)
    notices.report_returned(report, comments)
    return report
