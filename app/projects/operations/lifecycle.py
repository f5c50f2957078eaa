"""Mid-term check, suspension / resumption / termination / revocation (four-eyes),
acceptance (结题验收), settlement of the balance (结余: DECOMMIT of what was never
released, a claw-back demand for what was paid but not spent unless it may be kept),
claw-back receipts (追回) and archiving."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import Organisation
from app.audit import trail
from app.core import clock
from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.core.files import store_upload
from app.core.money import format_yuan, parse_fen
from app.extensions import db
from app.ledger import operations as ledger
from app.projects.models import (
    ClawbackEntry,
    MidtermCheck,
    Project,
    ProjectDecision,
    ProjectReport,
    Tranche,
)
from app.projects.operations.common import add_months, lock, require, setting, spent_fen
from app.projects.operations.money import SUSPENSION_REASON, balance, refresh_tranches
from app.projects.permissions import can_decide, can_manage, can_pay
from app.projects.states import (
    DECISION_KINDS,
    MIDTERM_OUTCOMES,
    PROJECT_WORKFLOW,
    REPORT_WORKFLOW,
    SETTLE_STATES,
    TRANCHE_WORKFLOW,
)


def _clean(text, field: str, message: str) -> str:
    value = (text or "").strip()
    if not value:
        raise ValidationFailed(message, field=field)
    return value


def begin_midterm(project: Project, *, actor) -> Project:
    """The officer opens the mid-term check (in_progress → midterm). Audited."""
    project = lock(Project, project)
    PROJECT_WORKFLOW.apply(project, "begin_midterm", actor=actor)
    return project


def record_midterm(project: Project, outcome: str, data: dict, *, actor, site_file=None):
    """The officer records the mid-term outcome: ``pass``, ``rectify`` (``rectify_by``
    date and ``rectify_items``) or ``suspend`` (a proposal the approver confirms).

    ``data``: ``findings`` (required), ``evaluation_note``, ``site_visit_on``,
    ``site_visit_note``; ``site_file`` = (stream, filename) of the site-visit record.
    The submitted reports of the project are listed as the basis. Raises
    ``NotAllowed``, ``InvalidTransition`` (not in the mid-term check),
    ``ValidationFailed``. Audited as ``midterm_check.record`` and the project move.
    """
    require(can_manage(actor, project))
    project = lock(Project, project)
    if project.state != "midterm":
        raise InvalidTransition(_("项目不在中期检查阶段。"))
    if outcome not in MIDTERM_OUTCOMES:
        raise ValidationFailed(_("请选择检查结论。"), field="outcome")
    findings = _clean(data.get("findings"), "findings", _("请填写检查意见。"))
    rectify_by = data.get("rectify_by")
    items = (data.get("rectify_items") or "").strip()
    if outcome == "rectify":
        if not isinstance(rectify_by, date) or rectify_by <= clock.today():
            raise ValidationFailed(_("请填写今天以后的整改期限。"), field="rectify_by")
        if not items:
            raise ValidationFailed(_("请列出整改事项。"), field="rectify_items")
    stored = None
    if site_file is not None:
        stored = store_upload(
            site_file[0],
            site_file[1],
            kind="document",
            owner_type="project",
            owner_id=project.id,
            actor=actor,
        )
    reports = db.session.scalars(
        select(ProjectReport.id).where(
            ProjectReport.project_id == project.id,
            ProjectReport.state.in_(("submitted", "accepted")),
        )
    ).all()
    check = MidtermCheck(
        project_id=project.id,
        outcome=outcome,
        findings=findings,
        report_ids=list(reports),
        evaluation_note=(data.get("evaluation_note") or "").strip(),
        site_visit_on=data.get("site_visit_on"),
        site_visit_note=(data.get("site_visit_note") or "").strip(),
        site_visit_file_id=stored.id if stored else None,
        rectify_by=rectify_by if outcome == "rectify" else None,
        rectify_items=items if outcome == "rectify" else None,
        recorded_by_id=actor.id,
    )
    db.session.add(check)
    db.session.flush()
    trail.record(
        "midterm_check.record",
        "midterm_check",
        check.id,
        actor=actor,
        after={
            "project_id": project.id,
            "outcome": outcome,
            "report_ids": list(reports),
            "site_visit_sha256": stored.sha256 if stored else None,
            "rectify_by": check.rectify_by,
        },
    )
    if outcome == "pass":
        PROJECT_WORKFLOW.apply(project, "pass_midterm", actor=actor)
    elif outcome == "rectify":
        project.rectify_stage, project.rectify_by, project.rectify_items = (
            "midterm",
            rectify_by,
            items,
        )
        PROJECT_WORKFLOW.apply(
            project, "rectify", actor=actor, after={"rectify_by": rectify_by, "stage": "midterm"}
        )
    else:
        propose_decision(project, "suspend", findings, actor=actor, midterm_check_id=check.id)
    return check


def finish_rectification(project: Project, note: str, *, actor) -> Project:
    """The officer confirms a mid-term rectification is done (rectifying → in_progress).
    Audited as ``project.finish_rectification`` with the note."""
    project = lock(Project, project)
    note = _clean(note, "note", _("请填写整改核查意见。"))
    PROJECT_WORKFLOW.apply(project, "finish_rectification", actor=actor, reason=note)
    project.rectify_stage = project.rectify_by = project.rectify_items = None
    refresh_tranches(project, actor=actor)
    return project


def propose_decision(
    project: Project,
    kind: str,
    reason: str,
    *,
    actor,
    fraud: bool = False,
    ban_years: int | None = None,
    midterm_check_id: int | None = None,
) -> ProjectDecision:
    """The officer proposes suspending, resuming, terminating or revoking a project.

    ``fraud`` (revocation only) needs ``ban_years`` within the configured range
    (``PROJECT_BAN_YEARS`` = (3, 5)). Raises ``NotAllowed``, ``InvalidTransition`` (the
    project's state does not allow it, or one is already pending), ``ValidationFailed``.
    Audited as ``project_decision.propose``.
    """
    require(can_manage(actor, project))
    if kind not in DECISION_KINDS:
        raise ValidationFailed(_("未知的决定类型。"), field="kind")
    reason = _clean(reason, "reason", _("请填写理由。"))
    action = {
        "suspend": "suspend",
        "resume": "resume",
        "terminate": "terminate",
        "revoke": "revoke",
    }[kind]
    allowed = PROJECT_WORKFLOW.transitions[action].sources
    if str(project.state) not in allowed:
        raise InvalidTransition(_("项目当前状态“%(s)s”下不能提出此决定。", s=project.state_label()))
    if db.session.scalar(
        select(ProjectDecision.id).where(
            ProjectDecision.project_id == project.id, ProjectDecision.state == "proposed"
        )
    ):
        raise InvalidTransition(_("该项目已有待审批的决定。"))
    fraud = bool(fraud) and kind == "revoke"
    if fraud:
        low, high = setting("PROJECT_BAN_YEARS", (3, 5))
        if ban_years is None or not low <= int(ban_years) <= high:
            raise ValidationFailed(
                _("弄虚作假的禁止申报期限为 %(a)s 至 %(b)s 年。", a=low, b=high), field="ban_years"
            )
    row = ProjectDecision(
        project_id=project.id,
        kind=kind,
        reason=reason,
        fraud=fraud,
        ban_years=int(ban_years) if fraud else None,
        midterm_check_id=midterm_check_id,
        proposed_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "project_decision.propose",
        "project_decision",
        row.id,
        actor=actor,
        after={"project_id": project.id, "kind": kind, "fraud": fraud, "ban_years": row.ban_years},
        reason=reason,
    )
    return row


def decide_decision(row: ProjectDecision, approve: bool, note: str, *, actor) -> ProjectDecision:
    """The approver (never the proposer) approves or rejects a proposed decision.

    Approving applies it: a suspension moves the project to suspended and withholds its
    planned and releasable tranches (no release, no payment while suspended); a
    resumption lifts the withholding; a termination or revocation ends the project (no
    release or payment from then on; the officer then settles its money with
    ``settle_project``); revocation for fraud bans the society. A rejected mid-term
    suspension leaves the project in its mid-term check.
    Raises ``NotAllowed`` (four-eyes), ``InvalidTransition``. Audited as
    ``project_decision.approve|reject`` and every cascade.
    """
    require(can_decide(actor, row))
    row = lock(ProjectDecision, row)
    if row.state != "proposed":
        raise InvalidTransition(_("该决定已处理。"))
    note = (note or "").strip()
    if not approve and not note:
        raise ValidationFailed(_("请填写理由。"), field="note")
    row.state = "approved" if approve else "rejected"
    row.decided_by_id, row.decided_at, row.decision_note = actor.id, clock.now(), note or None
    trail.record(
        f"project_decision.{'approve' if approve else 'reject'}",
        "project_decision",
        row.id,
        actor=actor,
        before={"state": "proposed"},
        after={"state": row.state, "kind": row.kind, "project_id": row.project_id},
        reason=note or None,
    )
    if not approve:
        return row
    project = lock(Project, db.session.get(Project, row.project_id))
    if row.kind == "suspend":
        PROJECT_WORKFLOW.apply(project, "suspend", actor=actor, system=True, reason=row.reason)
        for tranche in project.tranches:
            if tranche.state in ("planned", "releasable"):
                tranche.withheld_reason = SUSPENSION_REASON
                TRANCHE_WORKFLOW.apply(tranche, "withhold", actor=actor, system=True)
    elif row.kind == "resume":
        PROJECT_WORKFLOW.apply(project, "resume", actor=actor, system=True, reason=row.reason)
        refresh_tranches(project, actor=actor)
    else:
        project.ended_at = clock.now()
        PROJECT_WORKFLOW.apply(
            project,
            row.kind,
            actor=actor,
            system=True,
            reason=row.reason,
            after={"decision_id": row.id, "fraud": row.fraud},
        )
        if row.fraud:
            ban_society(project, row.ban_years, row.reason, actor=actor)
    return row


def ban_society(project: Project, years: int, reason: str, *, actor) -> Organisation:
    """Ban the project's society from applying for ``years`` years (credit: banned).
    Audited as ``organisation.ban``."""
    society = lock(Organisation, db.session.get(Organisation, project.society_id))
    until = add_months(clock.today(), 12 * int(years))
    before = {"credit_status": society.credit_status, "banned_until": society.banned_until}
    if society.banned_until is None or society.banned_until < until:
        society.banned_until = until
    society.ban_reason = _("项目 %(p)s 弄虚作假被撤销：%(r)s", p=project.id, r=reason)
    society.credit_status = "banned"
    trail.record(
        "organisation.ban",
        "organisation",
        society.id,
        actor=actor,
        before=before,
        after={
            "credit_status": "banned",
            "banned_until": society.banned_until,
            "project_id": project.id,
            "years": int(years),
        },
        reason=reason,
    )
    return society


def begin_acceptance(project: Project, *, actor) -> Project:
    """The officer starts acceptance (awaiting_acceptance → accepting). Audited."""
    project = lock(Project, project)
    PROJECT_WORKFLOW.apply(project, "begin_acceptance", actor=actor)
    return project


def _closing_report(project: Project) -> ProjectReport | None:
    return db.session.scalar(
        select(ProjectReport).where(
            ProjectReport.project_id == project.id, ProjectReport.kind == "closing"
        )
    )


def record_acceptance(project: Project, outcome: str, comments: str, *, actor, rectify_by=None):
    """The officer records the acceptance outcome: ``passed``,
    ``passed_after_rectification`` (only after the one rectification), ``failed``, or
    ``rectify`` (once, within ``ACCEPTANCE_RECTIFY_MONTHS`` = 3 months: the closing
    report is returned with the items; its resubmission brings acceptance back).

    The closing report is accepted with a final outcome. Raises ``NotAllowed``,
    ``InvalidTransition`` (a second rectification, wrong outcome for the history),
    ``ValidationFailed``. Audited as ``project.<outcome>``.
    """
    require(can_manage(actor, project))
    project = lock(Project, project)
    comments = _clean(comments, "comments", _("请填写验收意见。"))
    report = _closing_report(project)
    if outcome == "rectify":
        months = int(setting("ACCEPTANCE_RECTIFY_MONTHS", 3))
        latest = add_months(clock.today(), months)
        if not isinstance(rectify_by, date) or not clock.today() < rectify_by <= latest:
            raise ValidationFailed(
                _(
                    "整改期限须在今天之后、%(d)s 之前（%(m)s 个月内）。",
                    d=latest.isoformat(),
                    m=months,
                ),
                field="rectify_by",
            )
        require(PROJECT_WORKFLOW.can(project, "require_rectification", actor))
        project.rectify_stage, project.rectify_by = "acceptance", rectify_by
        project.rectify_items = comments
        PROJECT_WORKFLOW.apply(
            project,
            "require_rectification",
            actor=actor,
            reason=comments,
            after={"rectify_by": rectify_by, "stage": "acceptance"},
        )
        project.acceptance_rectified = True  # after the guard that allows only one
        if report is not None and report.state == "submitted":
            report.decided_by_id, report.decided_at, report.comments = (
                actor.id,
                clock.now(),
                comments,
            )
            REPORT_WORKFLOW.apply(report, "return", actor=actor, reason=comments)
        return project
    action = {
        "passed": "pass",
        "passed_after_rectification": "pass_after_rectification",
        "failed": "fail",
    }.get(outcome)
    if action is None:
        raise ValidationFailed(_("请选择验收结论。"), field="outcome")
    require(PROJECT_WORKFLOW.can(project, action, actor))
    project.outcome, project.outcome_at = outcome, clock.now()
    project.rectify_stage = project.rectify_by = project.rectify_items = None
    PROJECT_WORKFLOW.apply(project, action, actor=actor, reason=comments)
    if report is not None and report.state == "submitted":
        report.decided_by_id, report.decided_at = actor.id, clock.now()
        REPORT_WORKFLOW.apply(report, "accept", actor=actor)
    return project


def settlement(project: Project) -> dict:
    """What settling the project would move now (all integer fen):

    ``unreleased`` (committed, to DECOMMIT, after cancelling unpaid tranches),
    ``disbursed``, ``spent`` (this fund, reported), ``unspent``, ``retained``,
    ``retained_until``, ``demand`` (to claw back).
    """
    payable = balance(project.id, "payable")
    unreleased = balance(project.id, "committed") + payable
    disbursed = balance(project.id, "disbursed")
    spent = spent_fen(project.id, source="fund")
    unspent = max(disbursed - spent, 0)
    retained, until = 0, None
    if project.state == "revoked":
        demand = disbursed  # a revoked award is recovered in full
    elif (
        project.state in ("passed", "passed_after_rectification")
        and _retention_allowed(project)
        and project.society.credit_status == "good"
        and unspent > 0
    ):
        retained, demand = unspent, 0
        until = add_months(clock.today(), 12 * int(setting("BALANCE_RETENTION_YEARS", 2)))
    else:
        demand = unspent
    return {
        "unreleased": unreleased,
        "payable": payable,
        "disbursed": disbursed,
        "spent": spent,
        "unspent": unspent,
        "retained": retained,
        "retained_until": until,
        "demand": demand,
    }


def _retention_allowed(project: Project) -> bool:
    """The call's rule on keeping an unspent balance (结余留用), else it is returned."""
    return bool(project.application.call.balance_retention_allowed)


def settle_project(project: Project, *, actor) -> dict:
    """Settle the money of a project that passed, failed, was terminated or revoked.

    Unpaid tranches are cancelled (a released one's RELEASE is reversed); what was never
    paid goes back to the call (DECOMMIT); paid but unspent money is kept for
    ``BALANCE_RETENTION_YEARS`` (2) only when the call allows retention
    (``Call.balance_retention_allowed``), the project passed and the society's credit is
    good (recorded on the project), otherwise demanded back (CLAWBACK_DEMAND) — all of
    it when revoked. The project moves to clawback, or to closed when nothing is due.
    Idempotent keys per project. Raises ``InvalidTransition`` from other states.
    Audited as ``project.settle``, the ledger events and the project move.
    """
    project = lock(Project, project)
    if str(project.state) not in SETTLE_STATES:
        raise InvalidTransition(_("项目当前状态“%(s)s”下不能结算。", s=project.state_label()))
    if actor is not None and not actor.has_role("officer", "approver"):
        raise NotAllowed(_("只有学会部人员可以办理结算。"))
    reason = _("项目结算：%(s)s", s=project.state_label())
    for tranche in project.tranches:
        if tranche.state == "released":
            ledger.reverse(
                tranche.release_transfer_id,
                actor=actor,
                reason=reason,
                key=f"tranche:{tranche.id}:cancel",
            )
        if tranche.state in ("planned", "releasable", "released", "withheld"):
            tranche.cancelled_at, tranche.cancel_reason = clock.now(), reason
            TRANCHE_WORKFLOW.apply(tranche, "cancel", actor=actor, system=True, reason=reason)
    figures = settlement(project)
    if figures["unreleased"] > 0:
        ledger.decommit(
            project.call_id,
            project.id,
            figures["unreleased"],
            actor=actor,
            key=f"project:{project.id}:decommit",
            memo=reason,
        )
    project.settled_at = clock.now()
    project.unspent_fen = figures["unspent"] if project.state != "revoked" else figures["disbursed"]
    project.retained_fen, project.retained_until = figures["retained"], figures["retained_until"]
    trail.record(
        "project.settle",
        "project",
        project.id,
        actor=actor,
        after={k: v for k, v in figures.items() if k != "payable"},
    )
    if figures["demand"] > 0:
        transfer = ledger.clawback_demand(
            project.id,
            figures["demand"],
            actor=actor,
            key=f"project:{project.id}:clawback_demand",
            memo=reason,
        )
        db.session.add(
            ClawbackEntry(
                project_id=project.id,
                kind="demand",
                amount_fen=figures["demand"],
                on_date=clock.today(),
                reason=reason,
                transfer_id=transfer.id,
                recorded_by_id=getattr(actor, "id", None),
            )
        )
        PROJECT_WORKFLOW.apply(
            project,
            "demand_clawback",
            actor=actor,
            system=True,
            after={"demand_fen": figures["demand"]},
        )
    else:
        project.closed_at = clock.now()
        PROJECT_WORKFLOW.apply(project, "close", actor=actor, system=True)
    db.session.flush()
    return figures


def record_clawback_receipt(project: Project, amount, voucher_no: str, received_on: date, *, actor):
    """Finance records money demanded back arriving (CLAWBACK_RECEIVED into the fund).

    When nothing remains due the project closes. Raises ``NotAllowed`` (not finance),
    ``InvalidTransition`` (nothing being clawed back), ``ValidationFailed`` (more than
    due, no voucher). Audited as ``clawback.receive`` and ``ledger.clawback_received``.
    """
    require(can_pay(actor, project))
    project = lock(Project, project)
    if project.state != "clawback":
        raise InvalidTransition(_("该项目没有待追回的资金。"))
    amount_fen = parse_fen(amount) if not isinstance(amount, int) else amount
    due = balance(project.id, "clawback_due")
    if amount_fen <= 0 or amount_fen > due:
        raise ValidationFailed(
            _("追回金额须大于零且不超过应追回余额 %(d)s 元。", d=format_yuan(due)), field="amount"
        )
    voucher_no = _clean(voucher_no, "voucher_no", _("请填写凭证号。"))[:64]
    if received_on is None or received_on > clock.today():
        raise ValidationFailed(_("到账日期不能晚于今天。"), field="received_on")
    n = 1 + len(
        db.session.scalars(
            select(ClawbackEntry.id).where(
                ClawbackEntry.project_id == project.id, ClawbackEntry.kind == "receipt"
            )
        ).all()
    )
    transfer = ledger.clawback_received(
        project.id,
        _fund_of(project),
        amount_fen,
        actor=actor,
        key=f"project:{project.id}:clawback_received:{n}",
        memo=f"追回 凭证号 {voucher_no}",
    )
    entry = ClawbackEntry(
        project_id=project.id,
        kind="receipt",
        amount_fen=amount_fen,
        on_date=received_on,
        voucher_no=voucher_no,
        reason=_("追回款到账"),
        transfer_id=transfer.id,
        recorded_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    trail.record(
        "clawback.receive",
        "project",
        project.id,
        actor=actor,
        after={"amount_fen": amount_fen, "voucher_no": voucher_no, "due_fen": due - amount_fen},
    )
    if due - amount_fen == 0:
        project.closed_at = clock.now()
        PROJECT_WORKFLOW.apply(project, "close", actor=actor, system=True)
    return entry


def _fund_of(project: Project) -> int:
    from app.calls.models import Call

    return db.session.get(Call, project.call_id).fund_id


def archive_project(project: Project, *, actor) -> Project:
    """The officer archives a closed project (closed → archived). Audited."""
    project = lock(Project, project)
    project.archived_at = clock.now()
    PROJECT_WORKFLOW.apply(project, "archive", actor=actor)
    return project


def cancel_tranche(tranche: Tranche, reason: str, *, actor) -> Tranche:
    """The approver cancels an unpaid tranche (a released one's RELEASE is reversed).
    Audited as ``tranche.cancel``."""
    if actor is None or not actor.has_role("approver"):
        raise NotAllowed(_("只有学会部负责人可以取消拨付批次。"))
    tranche = lock(Tranche, tranche)
    reason = _clean(reason, "reason", _("请填写理由。"))
    if tranche.state == "released":
        ledger.reverse(
            tranche.release_transfer_id,
            actor=actor,
            reason=reason,
            key=f"tranche:{tranche.id}:cancel",
        )
    tranche.cancelled_at, tranche.cancel_reason = clock.now(), reason
    TRANCHE_WORKFLOW.apply(tranche, "cancel", actor=actor, system=True, reason=reason)
    return tranche
