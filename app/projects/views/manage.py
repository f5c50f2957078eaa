"""Changes and the officer's, approver's, finance's and co-building government's acts."""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError
from app.core.permissions import requires
from app.extensions import db
from app.projects import operations as ops
from app.projects.forms import change_data, parse_date
from app.projects.models import (
    ChangeRequest,
    ProjectDecision,
    Tranche,
)
from app.projects.views import _back, _fail, _load, bp


@bp.route("/<int:project_id>/changes", methods=["POST"])
@requires("projects.report")
def request_change(project_id):
    """Draft and submit a change request (the society)."""
    project = _load(project_id)
    try:
        row = ops.create_change(
            project,
            request.form.get("kind", ""),
            request.form.get("description", ""),
            change_data(request.form),
            actor=current_user,
        )
        ops.submit_change(row, actor=current_user)
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("变更申请已提交。"))


# --- the officer ---

_OFFICER_ACTIONS = {
    "begin_midterm": lambda p, f, u: ops.begin_midterm(p, actor=u),
    "midterm": lambda p, f, u: ops.record_midterm(
        p,
        f.get("outcome", ""),
        {
            "findings": f.get("findings"),
            "evaluation_note": f.get("evaluation_note"),
            "site_visit_on": parse_date(f.get("site_visit_on"), "site_visit_on", required=False),
            "site_visit_note": f.get("site_visit_note"),
            "rectify_by": parse_date(f.get("rectify_by"), "rectify_by", required=False),
            "rectify_items": f.get("rectify_items"),
        },
        actor=u,
        site_file=(
            (request.files["site_file"].stream, request.files["site_file"].filename)
            if request.files.get("site_file") and request.files["site_file"].filename
            else None
        ),
    ),
    "finish_rectification": lambda p, f, u: ops.finish_rectification(p, f.get("note"), actor=u),
    "propose": lambda p, f, u: ops.propose_decision(
        p,
        f.get("kind", ""),
        f.get("reason", ""),
        actor=u,
        fraud=f.get("fraud") == "1",
        ban_years=int(f["ban_years"]) if (f.get("ban_years") or "").isdigit() else None,
    ),
    "begin_acceptance": lambda p, f, u: ops.begin_acceptance(p, actor=u),
    "acceptance": lambda p, f, u: ops.record_acceptance(
        p,
        f.get("outcome", ""),
        f.get("comments", ""),
        actor=u,
        rectify_by=parse_date(f.get("rectify_by"), "rectify_by", required=False),
    ),
    "settle": lambda p, f, u: ops.settle_project(p, actor=u),
    "archive": lambda p, f, u: ops.archive_project(p, actor=u),
}


@bp.route("/<int:project_id>/manage/<action>", methods=["POST"])
@requires("projects.manage")
def manage(project_id, action):
    """The officer's acts on a project: mid-term check, proposals, acceptance, settlement."""
    project = _load(project_id)
    handler = _OFFICER_ACTIONS.get(action)
    if handler is None:
        abort(404)
    try:
        handler(project, request.form, current_user)
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("已处理。"))


@bp.route("/changes/<int:change_id>/<action>", methods=["POST"])
@requires("projects.read")
def change_action(change_id, action):
    """Forward or record a change (officer); approve or reject it (approver)."""
    row = db.get_or_404(ChangeRequest, change_id)
    _load(row.project_id)
    actions = {
        "forward": lambda: ops.forward_change(row, actor=current_user),
        "record": lambda: ops.record_change(row, actor=current_user),
        "approve": lambda: ops.decide_change(
            row, True, request.form.get("reason", ""), actor=current_user
        ),
        "reject": lambda: ops.decide_change(
            row, False, request.form.get("reason", ""), actor=current_user
        ),
    }
    if action not in actions:
        abort(404)
    try:
        actions[action]()
    except DomainError as err:
        _fail(err)
        return _back(row.project_id)
    return _back(row.project_id, _("已处理。"))


@bp.route("/tranches/<int:tranche_id>/<action>", methods=["POST"])
@requires("projects.read")
def tranche_action(tranche_id, action):
    """Release (approver), pay (finance), withhold or lift (officer), cancel (approver)."""
    tranche = db.get_or_404(Tranche, tranche_id)
    _load(tranche.project_id)
    form = request.form
    try:
        if action == "release":
            ops.release_tranche(tranche, actor=current_user)
        elif action == "pay":
            ops.pay_tranche(
                tranche,
                form.get("amount"),
                form.get("voucher_no", ""),
                parse_date(form.get("paid_on"), "paid_on"),
                actor=current_user,
            )
        elif action == "withhold":
            ops.withhold_tranche(tranche, form.get("reason", ""), actor=current_user)
        elif action == "lift":
            ops.lift_withholding(tranche, actor=current_user)
        elif action == "cancel":
            ops.cancel_tranche(tranche, form.get("reason", ""), actor=current_user)
        else:
            abort(404)
    except DomainError as err:
        _fail(err)
        return _back(tranche.project_id)
    return _back(tranche.project_id, _("已处理。"))


@bp.route("/decisions/<int:decision_id>/<action>", methods=["POST"])
@requires("projects.approve")
def decide(decision_id, action):
    """Approve or reject a proposed suspension, resumption, termination or revocation."""
    row = db.get_or_404(ProjectDecision, decision_id)
    _load(row.project_id)
    if action not in ("approve", "reject"):
        abort(404)
    try:
        ops.decide_decision(
            row, action == "approve", request.form.get("note", ""), actor=current_user
        )
    except DomainError as err:
        _fail(err)
        return _back(row.project_id)
    return _back(row.project_id, _("已处理。"))


@bp.route("/<int:project_id>/matching", methods=["POST"])
@requires("projects.matching")
def record_matching(project_id):
    """Record matching funds received (the co-building government)."""
    project = _load(project_id)
    form = request.form
    try:
        ops.record_matching_receipt(
            project,
            form.get("amount"),
            parse_date(form.get("received_on"), "received_on"),
            form.get("voucher_no", ""),
            form.get("note", ""),
            actor=current_user,
        )
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("已登记配套资金到位。"))


@bp.route("/<int:project_id>/clawback", methods=["POST"])
@requires("projects.pay")
def record_clawback(project_id):
    """Record money clawed back arriving (finance)."""
    project = _load(project_id)
    form = request.form
    try:
        ops.record_clawback_receipt(
            project,
            form.get("amount"),
            form.get("voucher_no", ""),
            parse_date(form.get("received_on"), "received_on"),
            actor=current_user,
        )
    except DomainError as err:
        _fail(err)
        return _back(project.id)
    return _back(project.id, _("已登记追回款到账。"))
