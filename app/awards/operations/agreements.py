"""Task agreements (任务书): drafted from the application and the award, edited by the
officer, sent, signed by the society (immutable), amended by numbered amendments."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts.notify import role_users
from app.audit import trail
from app.awards.models import AgreementAmendment, Award, TaskAgreement
from app.awards.operations.common import days, lock, notify_society, require
from app.awards.permissions import can_edit_agreement
from app.awards.states import AGREEMENT_WORKFLOW, AMENDMENT_WORKFLOW
from app.core import clock
from app.core.errors import Conflict, InvalidTransition, ValidationFailed
from app.core.money import format_yuan, parse_fen
from app.core.outbox import queue_mail
from app.core.tick import on_tick
from app.extensions import db
from app.projects.models import Milestone, Project, Tranche
from app.projects.states import MILESTONE_WORKFLOW, PROJECT_WORKFLOW

# What happens when a signed agreement starts its project (the projects module registers
# here: awards must not import the project operations, which build on awards).
ON_PROJECT_START: list[Callable[[Project], object]] = []


def on_project_start(fn):
    """Register ``fn(project)``, run in the signing transaction once the project started."""
    ON_PROJECT_START.append(fn)
    return fn


def scale(amounts: list[int], total: int) -> list[int]:
    """Scale ``amounts`` to sum exactly to ``total`` (largest remainder; ties to the first)."""
    base = sum(amounts)
    if base <= 0:
        return [total] + [0] * (len(amounts) - 1) if amounts else []
    shares = [a * total for a in amounts]
    out = [s // base for s in shares]
    left = total - sum(out)
    order = sorted(range(len(amounts)), key=lambda i: (-(shares[i] % base), i))
    for i in order[:left]:
        out[i] += 1
    return out


def tranche_amounts(pcts: list[int], total: int) -> list[int]:
    """Tranche amounts from percentages: floor(total × pct / 100), the remainder on the last."""
    if not pcts:
        return []
    out = [total * int(p) // 100 for p in pcts]
    out[-1] += total - sum(out)
    return out


def generate_agreement(award: Award, *, actor=None) -> TaskAgreement:
    """Draft the task agreement of a confirmed award from its application.

    Targets are copied; the fund column of the budget is scaled to the awarded
    amount (the officer may then adjust it; it must sum to the award);
    milestones keep their tranche percentages and get amounts summing exactly
    to the award (remainder on the last). Audited as ``task_agreement.create``.
    """
    app = award.application
    call = award.call
    budget = [
        {
            "line_key": b.line_key,
            "name": (call.line(b.line_key) or {}).get("zh", b.line_key),
            "requested_fen": int(b.fund_fen),
            "fund_fen": int(b.fund_fen),
            "matching_fen": int(b.matching_fen),
            "self_raised_fen": int(b.self_raised_fen),
        }
        for b in app.budget
    ]
    for line, value in zip(
        budget, scale([b["fund_fen"] for b in budget], award.amount_fen), strict=True
    ):
        line["fund_fen"] = value
    plans = sorted(app.milestones, key=lambda m: m.seq)
    milestones = [
        {
            "seq": m.seq,
            "title": m.title,
            "due_on": m.due_on.isoformat() if m.due_on else None,
            "deliverables": m.deliverables or "",
            "tranche_pct": int(m.tranche_pct),
        }
        for m in plans
    ]
    if not milestones or milestones[0]["seq"] != 0:
        milestones.insert(
            0,
            {
                "seq": 0,
                "title": "签订任务书",
                "due_on": None,
                "deliverables": "",
                "tranche_pct": 0 if milestones else 100,
            },
        )
    for m, value in zip(
        milestones,
        tranche_amounts([m["tranche_pct"] for m in milestones], award.amount_fen),
        strict=True,
    ):
        m["amount_fen"] = value
    row = TaskAgreement(
        award_id=award.id,
        call_id=award.call_id,
        society_id=award.society_id,
        number=f"RW-{app.project_number}",
        title=app.title,
        amount_fen=award.amount_fen,
        targets=[
            {
                "group": t.target_group,
                "indicator": t.indicator,
                "unit": t.unit,
                "target_value": t.target_value,
            }
            for t in app.targets
        ],
        budget=budget,
        milestones=milestones,
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "task_agreement.create",
        "task_agreement",
        row.id,
        actor=actor,
        role="system" if actor is None else None,
        after={"state": "drafting", "award_id": award.id, "amount_fen": award.amount_fen},
    )
    return row


def problems(agreement: TaskAgreement) -> list[str]:
    """What keeps the agreement from being sent: sums that do not match the award."""
    out = []
    fund = sum(int(b["fund_fen"]) for b in agreement.budget)
    if fund != agreement.amount_fen:
        out.append(
            _(
                "预算专项资金合计 %(s)s 元，应等于立项金额 %(a)s 元。",
                s=format_yuan(fund),
                a=format_yuan(agreement.amount_fen),
            )
        )
    tranches = sum(int(m["amount_fen"]) for m in agreement.milestones)
    if tranches != agreement.amount_fen:
        out.append(
            _(
                "分期拨付金额合计 %(s)s 元，应等于立项金额 %(a)s 元。",
                s=format_yuan(tranches),
                a=format_yuan(agreement.amount_fen),
            )
        )
    if not agreement.milestones or agreement.milestones[0]["seq"] != 0:
        out.append(_("缺少节点0（签订任务书）。"))
    return out


def update_agreement(agreement: TaskAgreement, data: dict, *, actor, expected_version=None):
    """The officer edits a drafting agreement: ``fund`` {line_key: amount},
    ``tranche`` {seq: amount}, ``due_on`` {seq: date text}, ``targets`` list.

    Amounts are parsed as 元 (``parse_fen``). Raises ``NotAllowed`` (not drafting,
    not an officer), ``Conflict`` (stale version), ``ValidationFailed``.
    Audited as ``task_agreement.edit`` with the changed parts.
    """
    require(can_edit_agreement(actor, agreement))
    agreement = lock(TaskAgreement, agreement)
    require(can_edit_agreement(actor, agreement))
    # Compared as text: a tampered or empty version is stale (409), never a 500.
    if expected_version is not None and str(expected_version) != str(agreement.version):
        raise Conflict(_("任务书已被他人修改，请刷新后重试。"))
    changed = []
    if "fund" in data:
        budget = [dict(b) for b in agreement.budget]
        for line in budget:
            if line["line_key"] in data["fund"]:
                line["fund_fen"] = parse_fen(data["fund"][line["line_key"]])
        if budget != agreement.budget:
            agreement.budget, changed = budget, [*changed, "budget"]
    if "tranche" in data or "due_on" in data:
        milestones = [dict(m) for m in agreement.milestones]
        for m in milestones:
            key = str(m["seq"])
            if key in (data.get("tranche") or {}):
                m["amount_fen"] = parse_fen(data["tranche"][key])
            if key in (data.get("due_on") or {}):
                m["due_on"] = (data["due_on"][key] or "").strip() or None
        if milestones != agreement.milestones:
            agreement.milestones, changed = milestones, [*changed, "milestones"]
    if "targets" in data and data["targets"] != agreement.targets:
        agreement.targets, changed = list(data["targets"]), [*changed, "targets"]
    if changed:
        agreement.version += 1
        trail.record(
            "task_agreement.edit",
            "task_agreement",
            agreement.id,
            actor=actor,
            after={
                "changed": changed,
                "version": agreement.version,
                "fund_fen": sum(int(b["fund_fen"]) for b in agreement.budget),
                "tranches_fen": [int(m["amount_fen"]) for m in agreement.milestones],
            },
        )
    return agreement


def content_sha256(agreement: TaskAgreement) -> str:
    """sha256 of the agreement's content as sent (canonical JSON)."""
    body = {
        "number": agreement.number,
        "title": agreement.title,
        "amount_fen": agreement.amount_fen,
        "targets": agreement.targets,
        "budget": agreement.budget,
        "milestones": agreement.milestones,
    }
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def send_agreement(agreement: TaskAgreement, *, actor) -> TaskAgreement:
    """Send a drafted agreement to the society for signature (awaiting_signature).

    The budget's fund column and the tranches must each sum to the award. The
    society must sign within ``AGREEMENT_SIGN_DAYS`` (20). Raises ``NotAllowed``,
    ``InvalidTransition``, ``ValidationFailed`` (listing the sums that differ).
    Audited as ``task_agreement.send`` with the content digest.
    """
    agreement = lock(TaskAgreement, agreement)
    require(AGREEMENT_WORKFLOW.can(agreement, "send", actor))
    found = problems(agreement)
    if found:
        raise ValidationFailed(_("任务书还不能发送。"), details=found)
    now = clock.now()
    agreement.sent_by_id, agreement.sent_at = actor.id, now
    agreement.sign_by = now + days("AGREEMENT_SIGN_DAYS", 20)
    agreement.content_sha256 = content_sha256(agreement)
    AGREEMENT_WORKFLOW.apply(
        agreement,
        "send",
        actor=actor,
        after={"sign_by": agreement.sign_by, "content_sha256": agreement.content_sha256},
    )
    notify_society(
        agreement.society_id,
        _("请签订任务书：%(t)s", t=agreement.title),
        _(
            "任务书 %(n)s 已发送，请于 %(d)s 前签订。",
            n=agreement.number,
            d=clock.local(agreement.sign_by).date().isoformat(),
        ),
        link=f"/awards/agreements/{agreement.id}",
        roles=("society_admin",),
    )
    return agreement


def sign_agreement(agreement: TaskAgreement, *, actor) -> TaskAgreement:
    """The society's secretariat signs (confirms) the agreement; it is immutable from now.

    The project starts (in_progress) with its milestones and planned tranches;
    milestone 0 (agreement signed) is accepted, and the ``on_project_start`` hooks run
    (the projects module qualifies the first tranche: releasable at once).
    Raises ``NotAllowed`` (not the society's admin), ``InvalidTransition``.
    Audited as ``task_agreement.sign``, ``project.start``, ``milestone.accept_signing``.
    """
    agreement = lock(TaskAgreement, agreement)
    require(AGREEMENT_WORKFLOW.can(agreement, "sign", actor))
    if content_sha256(agreement) != agreement.content_sha256:
        raise Conflict(_("任务书内容与发送时不一致，不能签订。"))
    now = clock.now()
    agreement.signed_by_id, agreement.signed_at = actor.id, now
    AGREEMENT_WORKFLOW.apply(
        agreement,
        "sign",
        actor=actor,
        after={
            "content_sha256": agreement.content_sha256,
            "overdue": now > clock.as_utc(agreement.sign_by),
        },
    )
    project = lock(Project, db.session.get(Project, agreement.award_id))
    for m in agreement.milestones:
        milestone = Milestone(
            project_id=project.id,
            seq=int(m["seq"]),
            title=m["title"],
            due_on=_date(m.get("due_on")),
            deliverables=m.get("deliverables") or "",
        )
        db.session.add(milestone)
        db.session.flush()
        if int(m["amount_fen"]) > 0:
            db.session.add(
                Tranche(
                    project_id=project.id,
                    milestone_id=milestone.id,
                    seq=int(m["seq"]),
                    amount_fen=int(m["amount_fen"]),
                )
            )
        if milestone.seq == 0:
            milestone.accepted_at = now
            MILESTONE_WORKFLOW.apply(milestone, "accept_signing", actor=actor, system=True)
    project.started_at = now
    PROJECT_WORKFLOW.apply(
        project, "start", actor=actor, system=True, after={"agreement_id": agreement.id}
    )
    db.session.flush()
    db.session.expire(project, ["milestones", "tranches"])
    for hook in ON_PROJECT_START:
        hook(project)
    return agreement


def _date(text):
    from datetime import date

    return date.fromisoformat(text) if text else None


@on_tick("agreements")
def flag_overdue_agreements() -> int:
    """Flag agreements still unsigned past their deadline and remind the society and
    the officers (once). Idempotent. Returns how many were flagged."""
    now = clock.now()
    rows = db.session.scalars(
        select(TaskAgreement)
        .where(
            TaskAgreement.state == "awaiting_signature",
            TaskAgreement.sign_by < now,
            TaskAgreement.overdue_at.is_(None),
        )
        .order_by(TaskAgreement.id)
    ).all()
    for row in rows:
        row.overdue_at = now
        trail.record(
            "task_agreement.overdue",
            "task_agreement",
            row.id,
            role="system",
            after={"sign_by": row.sign_by},
        )
        subject = _("任务书逾期未签：%(n)s", n=row.number)
        body = _(
            "任务书 %(n)s 应于 %(d)s 前签订，现已逾期。",
            n=row.number,
            d=clock.local(row.sign_by).date().isoformat(),
        )
        notify_society(
            row.society_id,
            subject,
            body,
            link=f"/awards/agreements/{row.id}",
            key=f"agreement:{row.id}:overdue",
            roles=("society_admin",),
        )
        for officer in role_users("officer"):
            queue_mail(
                officer,
                subject,
                body,
                link=f"/awards/agreements/{row.id}",
                dedupe_key=f"agreement:{row.id}:overdue:o{officer.id}",
            )
    return len(rows)


def create_amendment(agreement: TaskAgreement, title: str, content: str, *, actor):
    """The officer drafts an amendment (补充任务书) to a signed agreement.

    Raises ``NotAllowed``, ``InvalidTransition`` (not signed), ``ValidationFailed``.
    Audited as ``agreement_amendment.create``.
    """
    if not actor.has_role("officer"):
        require(can_edit_agreement(actor, agreement))
    if agreement.state != "signed":
        raise InvalidTransition(_("任务书签订后才能通过补充任务书变更；签订前请直接修改任务书。"))
    title, content = (title or "").strip()[:200], (content or "").strip()
    if not title or not content:
        raise ValidationFailed(_("请填写补充任务书的标题和变更内容。"))
    row = AgreementAmendment(
        agreement_id=agreement.id, title=title, content=content, created_by_id=actor.id
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "agreement_amendment.create",
        "agreement_amendment",
        row.id,
        actor=actor,
        after={"state": "draft", "agreement_id": agreement.id},
    )
    return row


def advance_amendment(row: AgreementAmendment, action: str, *, actor, reason=None):
    """``submit`` (officer), ``approve`` / ``reject`` (an approver other than its author).

    Approved amendments are numbered 1, 2, … per agreement (补充任务书N).
    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed``.
    Audited as ``agreement_amendment.<action>``.
    """
    if action not in ("submit", "approve", "reject"):
        raise ValidationFailed(_("未知操作。"))
    row = lock(AgreementAmendment, row)
    require(AMENDMENT_WORKFLOW.can(row, action, actor))
    now = clock.now()
    after = {}
    if action == "submit":
        row.submitted_at = now
    else:
        if action == "reject" and not (reason or "").strip():
            raise ValidationFailed(_("请填写理由。"), field="reason")
        if action == "approve":
            after["number"] = 1 + (
                db.session.scalar(
                    select(func.max(AgreementAmendment.number)).where(
                        AgreementAmendment.agreement_id == row.agreement_id
                    )
                )
                or 0
            )
            row.number = after["number"]
        row.decided_by_id, row.decided_at = actor.id, now
        row.decision_reason = (reason or "").strip() or None
    AMENDMENT_WORKFLOW.apply(row, action, actor=actor, reason=reason, after=after)
    return row
