"""Who sees and does what with projects, reports, tranches, changes and closure.

Each rule returns a Decision with its reason; views and templates use the same ones.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.core.permissions import ALLOW, Decision, deny, register_permissions

register_permissions(
    {
        "projects.read": {
            "officer",
            "approver",
            "auditor",
            "finance",
            "applicant",
            "society_admin",
            "local_partner",
        },
        "projects.report": {"applicant", "society_admin"},
        # 学会负责人审核: the society admin signs off its society's reports.
        "projects.endorse": {"society_admin"},
        # Voucher scans and report attachments: narrowed by ``can_download_file``.
        "projects.files": {
            "officer",
            "approver",
            "auditor",
            "finance",
            "applicant",
            "society_admin",
            "evaluator",
            "local_partner",
        },
        "projects.manage": {"officer"},
        "projects.approve": {"approver"},
        "projects.pay": {"finance"},
        "projects.matching": {"local_partner"},
        "projects.export": {"finance", "officer", "approver", "auditor"},
    }
)
STAFF = ("officer", "approver", "auditor", "finance")
NOT_FOUND = "页面不存在，或您无权查看。"


def _society_member(user, project) -> bool:
    return bool(
        user is not None
        and user.has_role("applicant", "society_admin")
        and user.org_id == project.society_id
    )


def _co_government(user, project) -> bool:
    app = project.application
    return bool(
        user is not None
        and user.has_role("local_partner")
        and app is not None
        and app.co_government_id is not None
        and user.org_id == app.co_government_id
    )


def can_view_project(user, project) -> Decision:
    """Staff see every project; a society its own; a co-building government those it co-builds."""
    if user is None or not getattr(user, "is_authenticated", False):
        return deny(_("请先登录。"))
    if user.has_role(*STAFF) or _society_member(user, project) or _co_government(user, project):
        return ALLOW
    return deny(_(NOT_FOUND))


def can_report(user, project) -> Decision:
    """The project's society drafts and submits its reports and change requests."""
    if not _society_member(user, project):
        return deny(_("只有项目承担学会的人员可以填报。"))
    return ALLOW


def can_manage(user, project=None) -> Decision:
    """Officers review reports, run checks and acceptance, and propose decisions."""
    if user is None or not user.has_role("officer"):
        return deny(_("只有学会部经办人可以执行此操作。"))
    return ALLOW


def can_release(user, tranche) -> Decision:
    """An approver releases a tranche, never the officer who accepted its milestone."""
    if user is None or not user.has_role("approver"):
        return deny(_("只有学会部负责人可以批准拨付。"))
    if tranche is not None and tranche.milestone.accepted_by_id == user.id:
        return deny(_("不能批准拨付自己审核通过的节点（双人复核）：请由另一位负责人批准。"))
    return ALLOW


def can_decide(user, proposal) -> Decision:
    """An approver decides a proposal (decision, change), never the one who prepared it."""
    if user is None or not user.has_role("approver"):
        return deny(_("只有学会部负责人可以审批。"))
    preparer = getattr(proposal, "proposed_by_id", None) or getattr(
        proposal, "forwarded_by_id", None
    )
    if preparer is not None and preparer == user.id:
        return deny(_("不能审批自己提出的事项（双人复核）：请由另一位负责人审批。"))
    return ALLOW


def can_pay(user, project=None) -> Decision:
    """Finance records payments and claw-back receipts."""
    if user is None or not user.has_role("finance"):
        return deny(_("只有财务人员可以登记支付和追回。"))
    return ALLOW


def can_record_matching(user, project) -> Decision:
    """The co-building government records the matching funds it has paid in."""
    if not _co_government(user, project):
        return deny(_("只有共建的地方政府或科协可以登记配套资金到位情况。"))
    return ALLOW


def can_export(user) -> Decision:
    """Finance, officers, approvers and auditors download the finance sheets."""
    if user is None or not user.has_role("finance", "officer", "approver", "auditor"):
        return deny(_("无权下载财务报表。"))
    return ALLOW


def _engaged_evaluator(user, project) -> bool:
    """An evaluator engaged on ``project`` who declared independence and is not recused."""
    from app.evaluation.models import Evaluation

    if user is None or not user.has_role("evaluator"):
        return False
    from sqlalchemy import select

    from app.extensions import db

    rows = db.session.scalars(select(Evaluation).where(Evaluation.project_id == project.id))
    for evaluation in rows:
        member = evaluation.engagement.member_for(user)
        if member is not None and member.may_access:
            return True
    return False


def can_download_file(user, project) -> Decision:
    """Voucher scans and report attachments: the project's society, its co-building
    government, the department's officers and approvers, finance, auditors, and an
    evaluator engaged on the project (not other societies or governments)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return deny(_("请先登录。"))
    if user.has_role(*STAFF) or _society_member(user, project) or _co_government(user, project):
        return ALLOW
    if _engaged_evaluator(user, project):
        return ALLOW
    return deny(_(NOT_FOUND))


def can_endorse(user, project) -> Decision:
    """The society admin (学会负责人) of the project's society signs off its reports."""
    if user is not None and user.has_role("society_admin") and user.org_id == project.society_id:
        return ALLOW
    return deny(_("只有本学会负责人可以审核本学会的报告。"))
