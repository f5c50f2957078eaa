"""Tranches (分期拨付) and matching funds (配套资金).

A tranche is releasable when its milestone is accepted, the matching funds are in place
in proportion, no report is overdue and the project is running (never suspended, ended
or closed). The approver releases it (RELEASE; never the officer who accepted the
milestone) and finance records the payment (DISBURSE) with its voucher.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit import trail
from app.awards.operations.agreements import on_project_start
from app.core import clock
from app.core.errors import InvalidTransition, NotAllowed, ValidationFailed
from app.core.money import format_yuan, parse_fen
from app.extensions import db
from app.ledger import operations as ledger
from app.ledger.models import LedgerAccount
from app.projects import notices
from app.projects.models import MatchingReceipt, Project, Tranche
from app.projects.operations.common import (
    lock,
    matching_committed_fen,
    matching_received_fen,
    require,
)
from app.projects.permissions import can_manage, can_pay, can_record_matching, can_release
from app.projects.states import PAY_STATES, RELEASE_STATES, TRANCHE_WORKFLOW, TrancheState

# Stored (data, not UI text) on tranches withheld by a suspension: a resumption lifts them.
SUSPENSION_REASON = "项目暂停，暂缓拨付。"


def balance(grant_id: int, part: str) -> int:
    """The balance of one of a grant's ledger accounts (0 before its first transfer)."""
    db.session.flush()
    row = db.session.execute(
        select(LedgerAccount.credits_fen, LedgerAccount.debits_fen).where(
            LedgerAccount.code == ledger.grant_code(grant_id, part)
        )
    ).first()
    return 0 if row is None else int(row[0] - row[1])


def released_fen(project: Project) -> int:
    """This fund's money released so far (released or paid tranches)."""
    return sum(int(t.amount_fen) for t in project.tranches if t.state in ("released", "paid"))


def paid_fen(project: Project) -> int:
    """This fund's money paid to the society so far."""
    return sum(int(t.amount_fen) for t in project.tranches if t.state == "paid")


def matching_shortfall(project: Project, tranche: Tranche) -> str | None:
    """Why matching funds are not in place for ``tranche``, or None.

    In place means: received ÷ committed ≥ (released so far + this tranche) ÷ award,
    compared exactly in integers (received × award ≥ committed × released-after).
    """
    committed = matching_committed_fen(project)
    if committed <= 0:
        return None
    received = matching_received_fen(project.id)
    after = released_fen(project) + int(tranche.amount_fen)
    if received * int(project.amount_fen) >= committed * after:
        return None
    needed = -(-committed * after // int(project.amount_fen))
    return _(
        "配套资金到位不足：已到位 %(r)s 元，按拨付进度应到位 %(n)s 元（承诺 %(c)s 元）。",
        r=format_yuan(received),
        n=format_yuan(needed),
        c=format_yuan(committed),
    )


def release_conditions(tranche: Tranche, project: Project | None = None) -> list[str]:
    """Every reason ``tranche`` cannot be released now (empty when it can)."""
    project = project or db.session.get(Project, tranche.project_id)
    reasons = []
    if str(project.state) not in RELEASE_STATES:
        reasons.append(_("项目当前状态“%(s)s”下不能拨付。", s=project.state_label()))
    if tranche.milestone.state != "accepted":
        reasons.append(_("节点“%(t)s”尚未审核通过。", t=tranche.milestone.title))
    late = [m for m in project.milestones if m.is_overdue()]
    if late:
        reasons.append(_("有逾期未报的进展报告：%(t)s。", t="、".join(m.title for m in late)))
    shortfall = matching_shortfall(project, tranche)
    if shortfall:
        reasons.append(shortfall)
    if released_fen(project) + int(tranche.amount_fen) > int(project.amount_fen):
        reasons.append(_("累计拨付将超过立项金额。"))
    return reasons


def refresh_tranches(project: Project, *, actor=None) -> int:
    """planned → releasable for every tranche whose conditions now hold (a cascade).

    Tranches withheld by a suspension qualify again once the project runs and their
    conditions hold; those the officer withheld wait for the officer. Returns how many
    became releasable. Audited as ``tranche.qualify``.
    """
    moved = 0
    for tranche in project.tranches:
        lifted = tranche.state == "withheld" and tranche.withheld_reason == SUSPENSION_REASON
        if (tranche.state == "planned" or lifted) and not release_conditions(tranche, project):
            tranche.withheld_reason = None
            TRANCHE_WORKFLOW.apply(
                tranche,
                "qualify",
                actor=actor,
                system=True,
                role="system" if actor is None else None,
            )
            moved += 1
    return moved


@on_project_start
def _qualify_at_start(project: Project) -> int:
    """At signing: the first tranche (milestone 0 accepted) becomes releasable at once,
    not at the next ``flask tick`` (issue 11)."""
    return refresh_tranches(project)


def release_tranche(tranche: Tranche, *, actor) -> Tranche:
    """The approver releases a tranche: RELEASE of its amount (committed → payable).

    The conditions are checked again under the project's lock; a planned tranche whose
    conditions hold is qualified first. Raises ``NotAllowed`` (not an approver, the
    officer who accepted the milestone, or a condition unmet — with every reason),
    ``InvalidTransition`` (already released, paid, withheld or cancelled),
    ``InsufficientBalance`` (less committed than the tranche).
    Audited as ``tranche.release`` and ``ledger.release``.
    """
    project = lock(Project, db.session.get(Project, tranche.project_id))
    tranche = lock(Tranche, tranche)
    require(can_release(actor, tranche))
    if tranche.state not in ("planned", "releasable"):
        raise InvalidTransition(
            _("该批次当前状态为“%(s)s”，不能批准拨付。", s=TrancheState(str(tranche.state)).label)
        )
    reasons = release_conditions(tranche, project)
    if reasons:
        raise NotAllowed(_("拨付条件不满足：") + " ".join(reasons), details=reasons)
    if tranche.state == "planned":
        TRANCHE_WORKFLOW.apply(tranche, "qualify", actor=actor, system=True)
    transfer = ledger.release(
        project.id,
        int(tranche.amount_fen),
        actor=actor,
        key=f"tranche:{tranche.id}:release",
        memo=f"第{tranche.seq}批拨付",
    )
    tranche.accepted_by_id = tranche.milestone.accepted_by_id
    tranche.released_by_id, tranche.released_at = actor.id, clock.now()
    tranche.release_transfer_id = transfer.id
    TRANCHE_WORKFLOW.apply(
        tranche,
        "release",
        actor=actor,
        system=True,
        after={"amount_fen": int(tranche.amount_fen), "transfer_id": transfer.id},
    )
    return tranche


def pay_tranche(tranche: Tranche, amount, voucher_no: str, paid_on: date, *, actor) -> Tranche:
    """Finance records the payment of a released tranche: DISBURSE (payable → disbursed).

    ``amount`` (元 text or integer fen) must be the tranche's payable amount: a larger
    amount is refused as more than payable, a smaller one as a partial payment. The
    cumulative disbursement never exceeds the award. Raises ``NotAllowed`` (not finance,
    project suspended/ended), ``InvalidTransition`` (not released), ``ValidationFailed``,
    ``Conflict`` (voucher already used). Audited as ``tranche.pay`` and ``ledger.disburse``.
    """
    require(can_pay(actor))
    project = lock(Project, db.session.get(Project, tranche.project_id))
    tranche = lock(Tranche, tranche)
    if tranche.state != "released":
        raise InvalidTransition(_("只有已批准拨付的批次可以登记支付。"))
    if str(project.state) not in PAY_STATES:
        raise NotAllowed(_("项目当前状态“%(s)s”下暂缓支付。", s=project.state_label()))
    amount_fen = parse_fen(amount) if not isinstance(amount, int) else amount
    payable = min(int(tranche.amount_fen), balance(project.id, "payable"))
    if amount_fen > payable:
        raise ValidationFailed(
            _(
                "支付金额 %(a)s 元超过应付金额 %(p)s 元。",
                a=format_yuan(amount_fen),
                p=format_yuan(payable),
            ),
            field="amount",
        )
    if amount_fen < int(tranche.amount_fen):
        raise ValidationFailed(
            _("每批次须全额支付：应付 %(p)s 元。", p=format_yuan(tranche.amount_fen)),
            field="amount",
        )
    if balance(project.id, "disbursed") + balance(project.id, "clawback_due") + amount_fen > int(
        project.amount_fen
    ):
        raise ValidationFailed(_("累计支付将超过立项金额。"), field="amount")
    voucher_no = (voucher_no or "").strip()
    if not voucher_no:
        raise ValidationFailed(_("请填写凭证号。"), field="voucher_no")
    if paid_on is None:
        raise ValidationFailed(_("请填写支付日期。"), field="paid_on")
    transfer = ledger.disburse(
        project.id,
        amount_fen,
        actor=actor,
        key=f"tranche:{tranche.id}:pay",
        voucher_no=voucher_no,
        memo=f"第{tranche.seq}批支付",
    )
    tranche.paid_by_id, tranche.paid_at, tranche.paid_on = actor.id, clock.now(), paid_on
    tranche.voucher_no, tranche.disburse_transfer_id = voucher_no, transfer.id
    TRANCHE_WORKFLOW.apply(
        tranche,
        "pay",
        actor=actor,
        system=True,
        after={"amount_fen": amount_fen, "transfer_id": transfer.id, "voucher_no": voucher_no},
    )
    notices.tranche_paid(tranche, project)
    return tranche


def withhold_tranche(tranche: Tranche, reason: str, *, actor) -> Tranche:
    """The officer withholds (暂缓) a planned or releasable tranche, with the reason.

    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (no reason).
    Audited as ``tranche.withhold``.
    """
    require(can_manage(actor))
    tranche = lock(Tranche, tranche)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写理由。"), field="reason")
    tranche.withheld_reason = reason
    TRANCHE_WORKFLOW.apply(tranche, "withhold", actor=actor, system=True, reason=reason)
    return tranche


def lift_withholding(tranche: Tranche, *, actor) -> Tranche:
    """The officer lifts a withholding: withheld → releasable when the conditions hold.

    Raises ``NotAllowed`` (with the unmet conditions), ``InvalidTransition``.
    Audited as ``tranche.qualify``.
    """
    require(can_manage(actor))
    tranche = lock(Tranche, tranche)
    if tranche.state != "withheld":
        raise InvalidTransition(_("该批次未被暂缓。"))
    reasons = release_conditions(tranche)
    if reasons:
        raise NotAllowed(_("拨付条件不满足：") + " ".join(reasons), details=reasons)
    tranche.withheld_reason = None
    TRANCHE_WORKFLOW.apply(tranche, "qualify", actor=actor, system=True)
    return tranche


def record_matching_receipt(
    project: Project, amount, received_on: date, voucher_no: str, note: str = "", *, actor
) -> MatchingReceipt:
    """The co-building government records matching funds received (its own register).

    Raises ``NotAllowed`` (not the project's co-building government),
    ``ValidationFailed`` (amount, date in the future, voucher missing or used twice).
    Audited as ``matching_receipt.record``; planned tranches are re-checked.
    """
    require(can_record_matching(actor, project))
    amount_fen = parse_fen(amount) if not isinstance(amount, int) else amount
    if amount_fen <= 0:
        raise ValidationFailed(_("金额必须大于零。"), field="amount")
    if received_on is None or received_on > clock.today():
        raise ValidationFailed(_("到位日期不能晚于今天。"), field="received_on")
    voucher_no = (voucher_no or "").strip()[:64]
    if not voucher_no:
        raise ValidationFailed(_("请填写凭证号。"), field="voucher_no")
    if db.session.scalar(
        select(MatchingReceipt.id).where(
            MatchingReceipt.project_id == project.id, MatchingReceipt.voucher_no == voucher_no
        )
    ):
        raise ValidationFailed(_("凭证号 %(v)s 已登记过。", v=voucher_no), field="voucher_no")
    row = MatchingReceipt(
        project_id=project.id,
        amount_fen=amount_fen,
        received_on=received_on,
        voucher_no=voucher_no,
        note=(note or "").strip(),
        recorded_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "matching_receipt.record",
        "matching_receipt",
        row.id,
        actor=actor,
        after={
            "project_id": project.id,
            "amount_fen": amount_fen,
            "received_on": received_on,
            "voucher_no": voucher_no,
            "received_total_fen": matching_received_fen(project.id),
        },
    )
    refresh_tranches(project, actor=actor)
    return row
