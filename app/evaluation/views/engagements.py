"""Lists and engagements: engaging an agency, its evaluators, declarations, the lead."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Organisation, User, UserRole
from app.calls.rules import rubrics_dir
from app.core.errors import DomainError
from app.core.permissions import requires
from app.evaluation import operations as ops
from app.evaluation.forms import (
    ActionForm,
    AddEvaluatorsForm,
    DeclarationForm,
    EngagementForm,
)
from app.evaluation.models import (
    Engagement,
    EngagementMember,
    Evaluation,
    IndependenceCheck,
)
from app.evaluation.permissions import (
    can_engage,
    can_view_engagement,
)
from app.evaluation.views.common import (
    bp,
    fail,
    titles,
)
from app.extensions import db
from app.projects.models import Project
from app.reviews.operations.common import lang
from app.reviews.states import CONFLICT_LABELS


@bp.route("/")
@requires("evaluation.read")
def list_evaluations():
    """Evaluations the user may see: all for staff, their engagements' for evaluators,
    their own projects' for a society."""
    stmt = select(Evaluation).order_by(Evaluation.id.desc())
    if current_user.has_role("officer", "approver", "auditor"):
        pass
    elif current_user.has_role("evaluator"):
        stmt = stmt.join(
            EngagementMember, EngagementMember.engagement_id == Evaluation.engagement_id
        ).where(EngagementMember.user_id == current_user.id)
    else:
        stmt = stmt.join(Project, Project.id == Evaluation.project_id).where(
            Project.society_id == current_user.org_id
        )
    rows = db.session.scalars(stmt.limit(500)).all()
    engagements = []
    if current_user.has_role("officer", "approver", "auditor", "evaluator"):
        engagements = [
            e
            for e in db.session.scalars(
                select(Engagement).order_by(Engagement.id.desc()).limit(200)
            )
            if can_view_engagement(current_user, e)
        ]
    names = titles([r.project for r in rows])
    return render_template(
        "evaluation/list.html",
        rows=rows,
        engagements=engagements,
        titles=names,
        may_engage=bool(can_engage(current_user)),
    )


def _rubric_choices() -> list[tuple[str, str]]:
    from app.reviews.rubric import RubricError, load_rubric

    choices = [("", _("默认（系统配置）"))]
    for path in sorted(rubrics_dir().glob("*.toml")):
        try:
            rubric = load_rubric(path.read_bytes())
        except RubricError:
            continue
        if rubric.kind == "performance":
            choices.append((path.name, f"{rubric.title.get(lang())} (v{rubric.version})"))
    return choices


def _engagement_form() -> EngagementForm:
    form = EngagementForm()
    agencies = db.session.scalars(
        select(Organisation)
        .where(Organisation.kind == "evaluation_agency")
        .order_by(Organisation.id)
    ).all()
    form.agency_id.choices = [SelectChoice(o.id, o.name) for o in agencies]
    projects = db.session.scalars(
        select(Project)
        .where(Project.state.not_in(("awaiting_agreement", "revoked", "archived")))
        .order_by(Project.id)
    ).all()
    names = titles(projects)
    form.project_ids.choices = [
        SelectChoice(p.id, f"{p.id} {names.get(p.id, '')}") for p in projects
    ]
    evaluators = db.session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "evaluator")
        .order_by(User.id)
    ).all()
    people = [SelectChoice(u.id, f"{u.name}（{u.org.name}）") for u in evaluators]
    form.evaluator_ids.choices = people
    form.lead_id.choices = people
    form.rubric_file.choices = [SelectChoice(v, t) for v, t in _rubric_choices()]
    return form


@bp.route("/engagements/new", methods=["GET", "POST"])
@requires("evaluation.engage")
def new_engagement():
    """Engage an agency for a set of projects (independence checked before saving)."""
    form = _engagement_form()
    if form.validate_on_submit():
        try:
            engagement = ops.create_engagement(form.values(), actor=current_user)
        except DomainError as err:
            fail(err)
            return render_template("evaluation/new_engagement.html", form=form), err.status
        db.session.commit()
        flash(_("已委托评估机构，并已通知评价人员声明独立性。"), "success")
        return redirect(url_for("evaluation.show_engagement", engagement_id=engagement.id), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("evaluation/new_engagement.html", form=form), status


@bp.route("/engagements/<int:engagement_id>")
@requires("evaluation.read")
def show_engagement(engagement_id):
    """An engagement: scope, evaluators and their declarations, independence checks."""
    engagement = db.session.get(Engagement, engagement_id)
    if engagement is None or not can_view_engagement(current_user, engagement):
        abort(404)
    member = engagement.member_for(current_user)
    checks = db.session.scalars(
        select(IndependenceCheck)
        .where(IndependenceCheck.engagement_id == engagement.id)
        .order_by(IndependenceCheck.id)
    ).all()
    # Checks outlive removed members: name everyone checked, not only today's members.
    ids = {c.user_id for c in checks if c.user_id} | {m.user_id for m in engagement.members}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    form = DeclarationForm()
    form.tie_org_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(o.id, o.name)
        for o in db.session.scalars(
            select(Organisation)
            .where(Organisation.kind.in_(("society", "local_government", "expert_org")))
            .order_by(Organisation.name)
        )
    ]
    return render_template(
        "evaluation/engagement.html",
        engagement=engagement,
        member=member,
        checks=checks,
        users=users,
        form=form,
        titles=titles([e.project for e in engagement.evaluations]),
        conflict_labels=CONFLICT_LABELS,
        may_engage=bool(can_engage(current_user)),
        lead_form=ActionForm(),
        add_form=_add_form(engagement),
    )


def _add_form(engagement: Engagement) -> AddEvaluatorsForm:
    """Evaluators of the engagement's agency not on it yet."""
    form = AddEvaluatorsForm()
    members = {m.user_id for m in engagement.members}
    form.evaluator_ids.choices = [
        SelectChoice(u.id, u.name)
        for u in db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "evaluator", User.org_id == engagement.agency_id)
            .order_by(User.id)
        )
        if u.id not in members
    ]
    return form


@bp.route("/engagements/<int:engagement_id>/declare", methods=["POST"])
@requires("evaluation.score")
def declare(engagement_id):
    """The evaluator declares independence (or a tie, which recuses them)."""
    engagement = db.session.get(Engagement, engagement_id)
    member = engagement.member_for(current_user) if engagement is not None else None
    if member is None:
        abort(404)
    form = DeclarationForm()
    form.tie_org_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(o.id, o.name) for o in db.session.scalars(select(Organisation))
    ]
    target = url_for("evaluation.show_engagement", engagement_id=engagement.id)
    if not form.validate_on_submit():
        abort(400)
    try:
        member = ops.declare_independence(
            member,
            actor=current_user,
            statement=_("已声明独立性。") if form.statement.data else "",
            ties=form.ties(),
        )
    except DomainError as err:
        fail(err)
        return redirect(target, 303)
    db.session.commit()
    if member.recused_at is not None:
        flash(
            _("您与被评价项目存在关联，已回避本次评价：%(r)s", r=member.recusal_reason), "warning"
        )
    else:
        flash(_("已声明独立性，可以查看项目材料并评分。"), "success")
    return redirect(target, 303)


@bp.route("/engagements/<int:engagement_id>/lead", methods=["POST"])
@requires("evaluation.engage")
def set_lead(engagement_id):
    """The officer names another lead evaluator."""
    engagement = db.get_or_404(Engagement, engagement_id)
    member = db.session.get(EngagementMember, request.form.get("member_id", type=int) or 0)
    if member is None or not ActionForm().validate_on_submit():
        abort(400)
    try:
        ops.set_lead(engagement, member, actor=current_user)
    except DomainError as err:
        fail(err)
    else:
        db.session.commit()
        flash(_("已指定牵头人。"), "success")
    return redirect(url_for("evaluation.show_engagement", engagement_id=engagement.id), 303)


@bp.route("/engagements/<int:engagement_id>/members", methods=["POST"])
@requires("evaluation.engage")
def add_evaluators(engagement_id):
    """The officer adds evaluators (independence checked; each declares before access)."""
    engagement = db.get_or_404(Engagement, engagement_id)
    form = _add_form(engagement)
    target = url_for("evaluation.show_engagement", engagement_id=engagement.id)
    if not form.validate_on_submit():
        flash(_("请选择要增加的评价人员。"), "danger")
        return redirect(target, 303)
    try:
        ops.add_evaluators(engagement, form.evaluator_ids.data, actor=current_user)
    except DomainError as err:
        fail(err)
    else:
        db.session.commit()
        flash(_("已增加评价人员，并已通知其声明独立性。"), "success")
    return redirect(target, 303)


@bp.route("/engagements/members/<int:member_id>/remove", methods=["POST"])
@requires("evaluation.engage")
def remove_evaluator(member_id):
    """The officer removes an evaluator who has not started, with a reason."""
    member = db.get_or_404(EngagementMember, member_id)
    engagement_id = member.engagement_id
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.remove_evaluator(member, form.reason.data, actor=current_user)
    except DomainError as err:
        fail(err)
    else:
        db.session.commit()
        flash(_("已移除评价人员。"), "success")
    return redirect(url_for("evaluation.show_engagement", engagement_id=engagement_id), 303)
