"""Panel review pages (会议评审/答辩): the officer forms the panel and runs the meeting,
the department head looks on, members score or vote, then sign or dissent."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.applications.models import Application
from app.calls.models import Call
from app.core.errors import DomainError
from app.core.permissions import requires
from app.extensions import db
from app.reviews.forms import (
    PanelAttendanceForm,
    PanelDrawForm,
    PanelMarksForm,
    PanelMemberForm,
    PanelOpinionForm,
    PanelSettingsForm,
    PanelSignForm,
    PanelSlotForm,
    ReasonForm,
    panel_marks_data,
)
from app.reviews.models import Expert, ReviewPanel, ReviewPanelMark, ReviewPanelMember
from app.reviews.operations import panel as ops
from app.reviews.permissions import (
    can_manage_panel,
    can_mark,
    can_see_marks,
    can_sign,
    panel_member_of,
)
from app.reviews.states import (
    ATTENDANCE_LABELS,
    PANEL_METHOD_LABELS,
    PANEL_MODE_LABELS,
    VOTE_LABELS,
    PanelState,
)
from app.reviews.views import bp


def _call_or_404(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or call.state == "draft":
        abort(404)
    return call


def _panel_or_404(call: Call) -> ReviewPanel:
    panel = ops.panel_of(call)
    if panel is None:
        abort(404)
    return panel


def _labels() -> dict:
    return {
        "state_label": lambda s: PanelState(str(s)).label,
        "attendance_labels": ATTENDANCE_LABELS,
        "mode_labels": PANEL_MODE_LABELS,
        "method_labels": PANEL_METHOD_LABELS,
        "vote_labels": VOTE_LABELS,
    }


def _page(call: Call, status: int = 200, **forms):
    """The officer's (and head's) panel page, with any form that failed kept as typed."""
    panel = ops.panel_of(call)
    settings = forms.get("settings") or PanelSettingsForm(obj=panel, formdata=None)
    member_form = forms.get("member") or PanelMemberForm(formdata=None)
    slot_form = forms.get("slot") or _slot_form(call, formdata=None)
    taken = {m.expert_id for m in panel.members} if panel else set()
    member_form.expert_id.choices = [
        (e.id, f"{e.name}（{e.org.name if e.org else ''}，{e.title or ''}）")
        for e in db.session.scalars(
            select(Expert).where(Expert.is_active.is_(True)).order_by(Expert.id)
        )
        if e.id not in taken
    ]
    marks = ops.panel_marks(panel) if panel and can_see_marks(current_user, panel) else []
    context = {
        "call": call,
        "panel": panel,
        "settings_form": settings,
        "member_form": member_form,
        "draw_form": forms.get("draw") or PanelDrawForm(formdata=None),
        "slot_form": slot_form,
        "attendance_form": PanelAttendanceForm(formdata=None),
        "opinion_form": forms.get("opinion") or PanelOpinionForm(formdata=None),
        "reason_form": ReasonForm(formdata=None),
        "can_manage": bool(can_manage_panel(current_user)),
        "marks": marks,
        "results": ops.panel_results(panel) if marks else {},
        **_labels(),
    }
    return render_template("reviews/panel.html", **context), status


def _slot_form(call: Call, **kwargs) -> PanelSlotForm:
    form = PanelSlotForm(**kwargs)
    form.application_id.choices = [
        (a.id, f"{a.project_number or a.id} {a.title}")
        for a in db.session.scalars(
            select(Application)
            .where(Application.call_id == call.id, Application.state.in_(ops.SHORTLIST_STATES))
            .order_by(Application.id)
        )
    ]
    return form


def _done(call: Call, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("reviews.panel_page", call_id=call.id), 303)


def _failed(call: Call, err: DomainError, **forms):
    db.session.rollback()
    flash(err.message, "danger")
    for detail in err.details[1:]:
        flash(detail, "danger")
    return _page(call, err.status if err.status >= 400 else 400, **forms)


def _invalid(call: Call, form, **forms):
    for errors in form.errors.values():
        for message in errors:
            flash(message, "danger")
    return _page(call, 400, **forms)


@bp.route("/calls/<int:call_id>/panel")
@requires("reviews.rank")
def panel_page(call_id):
    """The call's panel stage: settings, members, oral-defence slots, marks, opinion."""
    return _page(_call_or_404(call_id))


@bp.route("/calls/<int:call_id>/panel/settings", methods=["POST"])
@requires("reviews.manage")
def save_panel(call_id):
    """Create the panel stage or change its settings (mode, weight, method, meeting)."""
    call = _call_or_404(call_id)
    form = PanelSettingsForm()
    if not form.validate_on_submit():
        return _invalid(call, form, settings=form)
    try:
        ops.save_panel(call, form.values(), actor=current_user)
    except DomainError as err:
        return _failed(call, err, settings=form)
    return _done(call, _("会议评审设置已保存。"))


@bp.route("/calls/<int:call_id>/panel/members", methods=["POST"])
@requires("reviews.manage")
def add_panel_member(call_id):
    """Pick a pool expert for the panel (conflicts and the organisation limit checked)."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    form = PanelMemberForm()
    form.expert_id.choices = [(form.expert_id.data, "")] if form.expert_id.data else []
    if not form.validate_on_submit():
        return _invalid(call, form)
    expert = db.session.get(Expert, form.expert_id.data) or abort(404)
    try:
        ops.add_member(panel, expert, actor=current_user, is_chair=form.is_chair.data)
    except DomainError as err:
        return _failed(call, err)
    return _done(call, _("已加入评审组。"))


@bp.route("/calls/<int:call_id>/panel/draw", methods=["POST"])
@requires("reviews.manage")
def draw_panel(call_id):
    """Fill the panel up to its size by a seeded random draw from the pool."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    form = PanelDrawForm()
    if not form.validate_on_submit():
        return _invalid(call, form, draw=form)
    try:
        drawn = ops.draw_members(panel, form.size.data, actor=current_user, seed=form.seed.data)
    except DomainError as err:
        return _failed(call, err, draw=form)
    return _done(call, _("已抽取 %(n)s 名专家。", n=len(drawn)))


def _member_or_404(panel: ReviewPanel, member_id: int) -> ReviewPanelMember:
    member = db.session.get(ReviewPanelMember, member_id)
    if member is None or member.panel_id != panel.id:
        abort(404)
    return member


@bp.route("/calls/<int:call_id>/panel/members/<int:member_id>/remove", methods=["POST"])
@requires("reviews.manage")
def remove_panel_member(call_id, member_id):
    """Take a member off the forming panel."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    member = _member_or_404(panel, member_id)
    ReasonForm().validate_on_submit() or abort(400)
    try:
        ops.remove_member(panel, member, actor=current_user)
    except DomainError as err:
        return _failed(call, err)
    return _done(call, _("已移出评审组。"))


@bp.route("/calls/<int:call_id>/panel/members/<int:member_id>/attendance", methods=["POST"])
@requires("reviews.manage")
def set_panel_attendance(call_id, member_id):
    """Record a member's attendance (present, half day, absent)."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    member = _member_or_404(panel, member_id)
    form = PanelAttendanceForm()
    if not form.validate_on_submit():
        return _invalid(call, form)
    try:
        ops.set_attendance(panel, member, form.attendance.data, actor=current_user)
    except DomainError as err:
        return _failed(call, err)
    return _done(call, _("出席情况已登记。"))


@bp.route("/calls/<int:call_id>/panel/slots", methods=["POST"])
@requires("reviews.manage")
def add_panel_slot(call_id):
    """Shortlist an application for oral defence, with its order and time."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    form = _slot_form(call)
    if not form.validate_on_submit():
        return _invalid(call, form, slot=form)
    application = db.session.get(Application, form.application_id.data) or abort(404)
    try:
        ops.add_slot(
            panel,
            application,
            actor=current_user,
            starts_at=form.starts_at.data,
            position=form.position.data,
        )
    except DomainError as err:
        return _failed(call, err, slot=form)
    return _done(call, _("已安排答辩。"))


@bp.route("/calls/<int:call_id>/panel/slots/<int:slot_id>/remove", methods=["POST"])
@requires("reviews.manage")
def remove_panel_slot(call_id, slot_id):
    """Take an application off the shortlist."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    slot = next((s for s in panel.slots if s.id == slot_id), None) or abort(404)
    ReasonForm().validate_on_submit() or abort(400)
    try:
        ops.remove_slot(panel, slot, actor=current_user)
    except DomainError as err:
        return _failed(call, err)
    return _done(call, _("已取消该申报书的答辩安排。"))


STEPS = {
    "open": (ops.open_panel, _l("会议评审已开始，成员可以评分。")),
    "close": (ops.close_scoring, _l("评分已结束并封存。")),
    "conclude": (ops.conclude_panel, _l("会议评审已完成。")),
}


@bp.route("/calls/<int:call_id>/panel/<any(open, close, conclude):step>", methods=["POST"])
@requires("reviews.manage")
def advance_panel(call_id, step):
    """Open the meeting, close scoring, or conclude the panel."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    ReasonForm().validate_on_submit() or abort(400)
    run, message = STEPS[step]
    try:
        run(panel, actor=current_user)
    except DomainError as err:
        return _failed(call, err)
    return _done(call, str(message))


@bp.route("/calls/<int:call_id>/panel/opinion", methods=["POST"])
@requires("reviews.manage")
def propose_panel_opinion(call_id):
    """Put the panel opinion to the members for signature."""
    call = _call_or_404(call_id)
    panel = _panel_or_404(call)
    form = PanelOpinionForm()
    if not form.validate_on_submit():
        return _invalid(call, form, opinion=form)
    try:
        ops.propose_opinion(panel, form.opinion.data, actor=current_user)
    except DomainError as err:
        return _failed(call, err, opinion=form)
    return _done(call, _("评审组意见已提交成员签署。"))


# --- the members' pages ---


@bp.route("/panels/mine")
@requires("reviews.score")
def my_panels():
    """The panels the signed-in expert sits on."""
    rows = db.session.scalars(
        select(ReviewPanelMember)
        .join(Expert, Expert.id == ReviewPanelMember.expert_id)
        .where(Expert.user_id == current_user.id)
        .order_by(ReviewPanelMember.id.desc())
    ).all()
    rows = [m for m in rows if m.panel.state != "forming"]
    return render_template("reviews/panel_mine.html", rows=rows, **_labels())


def _membership_or_404(panel_id: int) -> ReviewPanelMember:
    """The current expert's seat on an opened panel; anyone else gets a 404."""
    panel = db.session.get(ReviewPanel, panel_id)
    member = panel_member_of(current_user, panel) if panel is not None else None
    if member is None or panel.state == "forming":
        abort(404)
    return member


def _member_page(member: ReviewPanelMember, status: int = 200, marks_form=None):
    panel = member.panel
    own = {
        m.application_id: m
        for m in db.session.scalars(
            select(ReviewPanelMark).where(ReviewPanelMark.member_id == member.id)
        )
    }
    visible = bool(can_see_marks(current_user, panel))
    return render_template(
        "reviews/panel_member.html",
        member=member,
        panel=panel,
        call=db.session.get(Call, panel.call_id),
        own=own,
        marks=ops.panel_marks(panel) if visible else [],
        results=ops.panel_results(panel) if visible else {},
        can_mark=bool(can_mark(current_user, member)),
        can_sign=bool(can_sign(current_user, member)),
        is_chair=member.is_chair,
        marks_form=marks_form or PanelMarksForm(formdata=None),
        sign_form=PanelSignForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
        form_data=request.form if request.method == "POST" else {},
        **_labels(),
    ), status


@bp.route("/panels/<int:panel_id>", methods=["GET", "POST"])
@requires("reviews.score")
def panel_member(panel_id):
    """A member's page: the meeting, the defence order, their own marks (submitted once,
    then locked), everyone's marks once sealed, and the opinion to sign."""
    member = _membership_or_404(panel_id)
    if request.method == "GET":
        return _member_page(member)
    form = PanelMarksForm()
    if not form.validate_on_submit():
        abort(400)
    data = panel_marks_data(request.form, [s.application_id for s in member.panel.slots])
    try:
        ops.submit_marks(member, data, actor=current_user, declared=form.declared.data)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return _member_page(member, err.status if err.status >= 400 else 400, form)
    db.session.commit()
    flash(_("评分已提交并封存。"), "success")
    return redirect(url_for("reviews.panel_member", panel_id=panel_id), 303)


@bp.route("/panels/<int:panel_id>/sign", methods=["POST"])
@requires("reviews.score")
def sign_panel(panel_id):
    """Sign the panel opinion, or refuse with a written dissent and its reason."""
    member = _membership_or_404(panel_id)
    form = PanelSignForm()
    if not form.validate_on_submit():
        abort(400)
    dissent = (form.reason.data or "") if request.form.get("action") == "dissent" else None
    try:
        ops.sign_opinion(member, actor=current_user, dissent=dissent)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return _member_page(member, err.status if err.status >= 400 else 400)
    db.session.commit()
    flash(_("已签署评审组意见。") if dissent is None else _("已记录您的不同意见。"), "success")
    return redirect(url_for("reviews.panel_member", panel_id=panel_id), 303)


@bp.route("/panels/<int:panel_id>/close", methods=["POST"])
@requires("reviews.score")
def chair_close_panel(panel_id):
    """The chair closes scoring (members who have not submitted lose their marks)."""
    member = _membership_or_404(panel_id)
    ReasonForm().validate_on_submit() or abort(400)
    try:
        ops.close_scoring(member.panel, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return _member_page(member, err.status if err.status >= 400 else 400)
    db.session.commit()
    flash(_("评分已结束并封存。"), "success")
    return redirect(url_for("reviews.panel_member", panel_id=panel_id), 303)
