"""Spreadsheet imports of the projects' money (issue 11): matching-fund receipts for the
co-building government, payments for finance. Preview, row-by-row errors, all or nothing."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core import imports
from app.core.permissions import requires
from app.home import navigation
from app.projects import imports as ops
from app.projects.views import bp

navigation.add("projects.import_matching", _l("导入配套资金"), "projects.matching")
navigation.add("projects.import_payments", _l("导入支付记录"), "projects.pay")


@bp.route("/import/matching", methods=["GET", "POST"])
@requires("projects.matching")
def import_matching():
    """The co-building government imports matching-fund receipts from xlsx."""
    return imports.import_page(
        "matching",
        title=_("批量导入配套资金到位记录"),
        columns=ops.MATCHING_COLUMNS,
        preview=lambda stream: ops.preview_matching(stream, actor=current_user),
        run=lambda stream: ops.import_matching(stream, actor=current_user),
        done=lambda created: _("已登记 %(n)s 条配套资金到位记录。", n=len(created)),
        done_url=url_for("projects.list_projects"),
        template=lambda: (
            imports.template_xlsx(ops.MATCHING_COLUMNS, list(ops.MATCHING_EXAMPLE)),
            "配套资金到位导入模板.xlsx",
        ),
    )


@bp.route("/import/payments", methods=["GET", "POST"])
@requires("projects.pay")
def import_payments():
    """Finance imports payments of released tranches from xlsx."""
    return imports.import_page(
        "payments",
        title=_("批量导入支付记录"),
        columns=ops.PAYMENT_COLUMNS,
        preview=lambda stream: ops.preview_payments(stream, actor=current_user),
        run=lambda stream: ops.import_payments(stream, actor=current_user),
        done=lambda created: _("已登记 %(n)s 笔支付。", n=len(created)),
        done_url=url_for("projects.finance"),
        template=lambda: (
            imports.template_xlsx(ops.PAYMENT_COLUMNS, list(ops.PAYMENT_EXAMPLE)),
            "支付记录导入模板.xlsx",
        ),
    )
