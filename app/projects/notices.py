"""Notices to a project's society: a report returned for revision, a tranche paid."""

from __future__ import annotations

from flask_babel import gettext as _

from app.accounts.notify import org_users, send
from app.core.money import format_yuan


def report_returned(report, comments: str) -> int:
    """The officer returned a project report for revision."""
    project_id = report.project_id
    return send(
        org_users(report.project.society_id),
        _("报告被退回修改：项目 %(p)s", p=project_id),
        _("项目 %(p)s 的报告被退回修改，意见：%(c)s", p=project_id, c=comments),
        link=f"/projects/{project_id}",
    )


def tranche_paid(tranche, project) -> int:
    """Finance recorded the payment of a tranche."""
    return send(
        org_users(project.society_id),
        _("经费已拨付：项目 %(p)s 第%(n)s批", p=project.id, n=tranche.seq),
        _(
            "项目 %(p)s 第%(n)s批经费 %(a)s 元已于 %(d)s 支付，凭证号 %(v)s。",
            p=project.id,
            n=tranche.seq,
            a=format_yuan(tranche.amount_fen),
            d=tranche.paid_on.isoformat() if tranche.paid_on else "",
            v=tranche.voucher_no or "",
        ),
        link=f"/projects/{project.id}",
    )
