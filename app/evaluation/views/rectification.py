"""Rectification items: the society answers with evidence; closed or reopened."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError
from app.core.permissions import requires
from app.evaluation import operations as ops
from app.evaluation.forms import (
    ActionForm,
    RectificationForm,
)
from app.evaluation.states import (
    RECTIFICATION_WORKFLOW,
)
from app.evaluation.views.common import (
    bp,
    fail,
    item_or_404,
)
from app.extensions import db


@bp.route("/rectifications/<int:item_id>")
@requires("evaluation.read")
def show_item(item_id):
    """A rectification item: the problem, the society's response and evidence, actions."""
    item = item_or_404(item_id)
    return render_template(
        "evaluation/item.html",
        item=item,
        files=ops.files_of("rectification", item.id),
        actions=RECTIFICATION_WORKFLOW.available(item, current_user),
        form=RectificationForm(formdata=None, response=item.response),
        action_form=ActionForm(),
    )


def _item_back(item_id: int):
    return redirect(url_for("evaluation.show_item", item_id=item_id), 303)


def _item_run(item, done: str, fn, *args):
    try:
        fn(item, *args, actor=current_user)
    except DomainError as err:
        fail(err)
        return _item_back(item.id)
    db.session.commit()
    flash(done, "success")
    return _item_back(item.id)


@bp.route("/rectifications/<int:item_id>/submit", methods=["POST"])
@requires("evaluation.self")
def submit_item(item_id):
    """The society uploads evidence and/or submits what it did."""
    item = item_or_404(item_id)
    form = RectificationForm()
    if not form.validate_on_submit():
        abort(400)
    if form.file.data:
        try:
            ops.add_evidence(
                item, form.file.data.stream, form.file.data.filename, actor=current_user
            )
        except DomainError as err:
            fail(err)
            return _item_back(item.id)
    if request.form.get("action") != "submit":
        db.session.commit()
        flash(_("已上传佐证材料。"), "success")
        return _item_back(item.id)
    return _item_run(item, _("已提交整改情况。"), ops.submit_rectification, form.response.data)


@bp.route("/rectifications/<int:item_id>/close", methods=["POST"])
@requires("rectification.act")
def close_item(item_id):
    """The agency lead or the department closes the item (销号)."""
    item = item_or_404(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _item_run(item, _("已销号。"), ops.close_item)


@bp.route("/rectifications/<int:item_id>/reopen", methods=["POST"])
@requires("rectification.act")
def reopen_item(item_id):
    """Send the item back for more rectification, with reasons."""
    item = item_or_404(item_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    return _item_run(item, _("已退回重新整改。"), ops.reopen_item, form.reason.data)
