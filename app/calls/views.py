"""Public call pages; officers' pages to create, edit, publish, amend and move calls; funds."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.calls import operations as ops
from app.calls.forms import AmendForm, AppropriationForm, CallForm, FundForm, ReasonForm
from app.calls.models import Call, CallAmendment, Fund
from app.calls.permissions import can_view_call
from app.calls.rules import rubric_choices
from app.calls.states import (
    CALL_WORKFLOW,
    CATEGORY_LABELS,
    KIND_LABELS,
    PUBLIC_STATES,
    CallState,
)
from app.core.errors import DomainError
from app.core.forms import show_error
from app.core.money import parse_fen
from app.core.permissions import PUBLIC, requires
from app.extensions import db
from app.home import navigation

bp = Blueprint("calls", __name__)
navigation.add("calls.list_calls", _l("申报指南"), PUBLIC)
navigation.add("calls.manage_calls", _l("批次管理"), "calls.staff_read")
navigation.add("calls.list_funds", _l("专项资金"), "funds.manage")


@bp.app_template_filter("call_state_label")
def call_state_label(state, staff: bool = False) -> str:
    """A call state's staff or applicant label."""
    value = CallState(str(state))
    return value.label if staff else value.applicant_label


def _call_or_404(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or not can_view_call(current_user, call):
        abort(404)
    return call


def _call_form(call=None, form_class=CallForm):
    form = form_class()
    form.fund_id.choices = [
        SelectChoice(f.id, f"{f.year} {f.name}")
        for f in db.session.scalars(select(Fund).order_by(Fund.year.desc(), Fund.name))
    ]
    form.rubric_file.choices = [SelectChoice(v, t) for v, t in rubric_choices()]
    if call is not None and request.method == "GET":
        form.fill(call)
    return form


@bp.route("/calls")
@requires(PUBLIC)
def list_calls():
    """Published calls with their deadlines, newest first."""
    calls = db.session.scalars(
        select(Call).where(Call.state.in_(PUBLIC_STATES)).order_by(Call.opens_at.desc())
    ).all()
    return render_template("calls/list.html", calls=calls, kind_labels=KIND_LABELS)


@bp.route("/calls/<int:call_id>")
@requires(PUBLIC)
def show_call(call_id):
    """A call's guide, deadlines, rules and amendments."""
    call = _call_or_404(call_id)
    amendments = db.session.scalars(
        select(CallAmendment).where(CallAmendment.call_id == call.id).order_by(CallAmendment.number)
    ).all()
    actions = CALL_WORKFLOW.available(call, current_user) if current_user.is_authenticated else []
    return render_template(
        "calls/show.html",
        call=call,
        amendments=amendments,
        actions=actions,
        kind_labels=KIND_LABELS,
        category_labels=CATEGORY_LABELS,
        reason_form=ReasonForm(),
    )


@bp.route("/calls/manage")
@requires("calls.staff_read")
def manage_calls():
    """Every call, drafts included, for staff."""
    calls = db.session.scalars(select(Call).order_by(Call.id.desc())).all()
    return render_template("calls/manage.html", calls=calls, kind_labels=KIND_LABELS)


@bp.route("/calls/new", methods=["GET", "POST"])
@requires("calls.manage")
def new_call():
    """Create a draft call."""
    form = _call_form()
    if form.validate_on_submit():
        try:
            call = ops.create_call(form.fund_id.data, form.rules(), actor=current_user)
        except DomainError as err:
            status = show_error(form, err)  # before rendering: it puts the error on the field
            return render_template("calls/form.html", form=form), status
        db.session.commit()
        flash(_("申报批次草稿已创建。"), "success")
        return redirect(url_for("calls.show_call", call_id=call.id))
    return render_template("calls/form.html", form=form), 400 if form.errors else 200


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@requires("calls.manage")
def edit_call(call_id):
    """Edit a draft call's rules."""
    call = _call_or_404(call_id)
    form = _call_form(call)
    if form.validate_on_submit():
        try:
            ops.update_call(call, form.rules(), actor=current_user)
        except DomainError as err:
            status = show_error(form, err)  # before rendering: it puts the error on the field
            return render_template("calls/form.html", form=form, call=call), status
        db.session.commit()
        flash(_("申报批次已保存。"), "success")
        return redirect(url_for("calls.show_call", call_id=call.id))
    return render_template("calls/form.html", form=form, call=call), 400 if form.errors else 200


@bp.route("/calls/<int:call_id>/publish", methods=["POST"])
@requires("calls.manage")
def publish_call(call_id):
    """Publish a draft call (pins the rubric, reserves the budget)."""
    call = _call_or_404(call_id)
    try:
        ops.publish_call(call, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        for detail in err.details:
            flash(detail, "danger")
        return redirect(url_for("calls.show_call", call_id=call_id)), 303
    db.session.commit()
    flash(_("申报批次已发布。"), "success")
    return redirect(url_for("calls.show_call", call_id=call.id))


@bp.route("/calls/<int:call_id>/amend", methods=["GET", "POST"])
@requires("calls.manage")
def amend_call(call_id):
    """Change a published call's rules by an audited amendment."""
    call = _call_or_404(call_id)
    form = _call_form(call, AmendForm)
    if form.validate_on_submit():
        try:
            ops.amend_call(call, form.rules(), actor=current_user, reason=form.reason.data)
        except DomainError as err:
            status = show_error(form, err)
            return render_template("calls/form.html", form=form, call=call, amend=True), status
        db.session.commit()
        flash(_("变更已生效并记入审计日志。"), "success")
        return redirect(url_for("calls.show_call", call_id=call.id))
    status = 400 if form.errors else 200
    return render_template("calls/form.html", form=form, call=call, amend=True), status


@bp.route("/calls/<int:call_id>/advance/<action>", methods=["POST"])
@requires("calls.staff_read")
def advance_call(call_id, action):
    """Start review, start notice, decide or archive a call."""
    call = _call_or_404(call_id)
    form = ReasonForm()
    form.validate_on_submit()
    ops.advance_call(call, action, actor=current_user, reason=form.reason.data or None)
    db.session.commit()
    flash(_("批次状态已更新。"), "success")
    return redirect(url_for("calls.show_call", call_id=call.id))


@bp.route("/funds", methods=["GET", "POST"])
@requires("funds.manage")
def list_funds():
    """Funds with what is appropriated and reserved; create one."""
    form = FundForm()
    if form.validate_on_submit():
        try:
            ops.create_fund(form.name.data, form.year.data, actor=current_user)
        except DomainError as err:
            status = show_error(form, err)
        else:
            db.session.commit()
            flash(_("专项资金已创建。"), "success")
            return redirect(url_for("calls.list_funds"))
    else:
        status = 400 if form.errors else 200
    return _funds_page(form, AppropriationForm(), None, status)


def _funds_page(form, pay_form, pay_fund_id, status):
    """The funds page; ``pay_form`` carries what was typed for fund ``pay_fund_id``."""
    funds = db.session.scalars(select(Fund).order_by(Fund.year.desc(), Fund.name)).all()
    reserved = {
        fund_id: total
        for fund_id, total in db.session.execute(
            select(Call.fund_id, db.func.sum(Call.total_budget_fen))
            .where(Call.state != CallState.DRAFT)
            .group_by(Call.fund_id)
        )
    }
    available = ops.funds_available_fen(funds)  # one query, not one per fund
    return render_template(
        "calls/funds.html",
        funds=funds,
        form=form,
        reserved=reserved,
        available=available,
        pay_form=pay_form,
        pay_fund_id=pay_fund_id,
    ), status


@bp.route("/funds/<int:fund_id>/appropriate", methods=["POST"])
@requires("funds.appropriate")
def appropriate(fund_id):
    """Finance records an appropriation to a fund."""
    fund = db.get_or_404(Fund, fund_id)
    form = AppropriationForm()
    if form.validate_on_submit():
        try:
            amount_fen = parse_fen(form.amount.data)
        except DomainError as err:
            form.amount.errors = [err.message]
            return _funds_page(FundForm(formdata=None), form, fund.id, err.status)
        else:
            try:
                ops.record_appropriation(
                    fund, amount_fen, actor=current_user, reference=form.reference.data
                )
            except DomainError as err:
                db.session.rollback()
                status = show_error(form, err)
                return _funds_page(FundForm(formdata=None), form, fund.id, status)
            db.session.commit()
            flash(_("拨款已登记。"), "success")
            return redirect(url_for("calls.list_funds"))
    # Refused: the page again, with what was typed and the message beside the field.
    return _funds_page(FundForm(formdata=None), form, fund.id, 400)
