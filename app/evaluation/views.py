"""Evaluation pages: engagements, declarations, the self-evaluation and agency sheets,
submission and acceptance, the report PDF, rectification items."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Organisation, User, UserRole
from app.applications.models import Application
from app.audit import trail
from app.calls.rules import rubrics_dir
from app.core.errors import DomainError
from app.core.files import path_for
from app.core.models import StoredFile
from app.core.permissions import requires
from app.evaluation import exports
from app.evaluation import operations as ops
from app.evaluation.forms import (
    AcceptForm,
    ActionForm,
    DeclarationForm,
    EngagementForm,
    NotesForm,
    ProblemForm,
    RectificationForm,
    UploadForm,
    sheet_data,
)
from app.evaluation.models import (
    Engagement,
    EngagementMember,
    Evaluation,
    IndependenceCheck,
    RectificationItem,
)
from app.evaluation.permissions import (
    can_engage,
    can_score,
    can_see_agency_sheet,
    can_self_evaluate,
    can_view_engagement,
    can_view_evaluation,
    can_view_item,
)
from app.evaluation.states import (
    EVALUATION_WORKFLOW,
    FOLLOW_UP_LABELS,
    GRADE_LABELS,
    KIND_LABELS,
    RECTIFICATION_WORKFLOW,
    EvaluationState,
    RectificationState,
)
from app.extensions import db
from app.home import navigation
from app.projects.models import Project
from app.reviews.operations.common import lang
from app.reviews.states import CONFLICT_LABELS

bp = Blueprint("evaluation", __name__, url_prefix="/evaluations")
navigation.add("evaluation.list_evaluations", _l("绩效评价"), "evaluation.read")


@bp.app_template_filter("evaluation_label")
def evaluation_label(value, kind: str = "evaluation") -> str:
    """The label of an evaluation or rectification state, a grade or an engagement kind."""
    if value is None:
        return "—"
    if kind == "grade":
        return str(GRADE_LABELS.get(str(value), value))
    if kind == "kind":
        return str(KIND_LABELS.get(str(value), value))
    if kind == "follow_up":
        return str(FOLLOW_UP_LABELS.get(str(value), value))
    enum = RectificationState if kind == "item" else EvaluationState
    return str(enum(str(value)).label)


def _fail(err: DomainError) -> None:
    db.session.rollback()
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


def _back(evaluation_id: int):
    return redirect(url_for("evaluation.show_evaluation", evaluation_id=evaluation_id), 303)


def _run(evaluation_id: int, done: str, fn, *args, **kwargs):
    """Run one operation; commit and say ``done``, or show the refusal."""
    try:
        fn(*args, actor=current_user, **kwargs)
    except DomainError as err:
        _fail(err)
        return _back(evaluation_id)
    db.session.commit()
    flash(done, "success")
    return _back(evaluation_id)


def _evaluation_or_404(evaluation_id: int) -> Evaluation:
    """The evaluation if the user may see it; anyone else gets a 404, not a 403."""
    row = db.session.get(Evaluation, evaluation_id)
    if row is None or not can_view_evaluation(current_user, row):
        abort(404)
    return row


def _item_or_404(item_id: int) -> RectificationItem:
    item = db.session.get(RectificationItem, item_id)
    if item is None or not can_view_item(current_user, item):
        abort(404)
    return item


def _download(data: bytes, name: str, mime: str, entity_type: str, entity_id, kind: str):
    trail.record(
        "export.download",
        entity_type,
        entity_id,
        actor=current_user,
        after={"document": kind, "bytes": len(data)},
    )
    db.session.commit()
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{kind}.{name.rsplit('.', 1)[-1]}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


# --- lists and engagements ---


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
    titles = _titles([r.project for r in rows])
    return render_template(
        "evaluation/list.html",
        rows=rows,
        engagements=engagements,
        titles=titles,
        may_engage=bool(can_engage(current_user)),
    )


def _titles(projects) -> dict[int, str]:
    ids = [p.application_id for p in projects]
    if not ids:
        return {}
    pairs = db.session.execute(
        select(Application.id, Application.title).where(Application.id.in_(ids))
    ).all()
    by_app = dict(pairs)
    return {p.id: by_app.get(p.application_id, "") for p in projects}


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
    titles = _titles(projects)
    form.project_ids.choices = [
        SelectChoice(p.id, f"{p.id} {titles.get(p.id, '')}") for p in projects
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
            _fail(err)
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
    users = {m.user_id: m.user for m in engagement.members}
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
        titles=_titles([e.project for e in engagement.evaluations]),
        conflict_labels=CONFLICT_LABELS,
        may_engage=bool(can_engage(current_user)),
        lead_form=ActionForm(),
    )


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
        _fail(err)
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
        _fail(err)
    else:
        db.session.commit()
        flash(_("已指定牵头人。"), "success")
    return redirect(url_for("evaluation.show_engagement", engagement_id=engagement.id), 303)


# --- one evaluation ---


@bp.route("/<int:evaluation_id>")
@requires("evaluation.read")
def show_evaluation(evaluation_id):
    """The evaluation: evidence and both sheets, notes, files, problems and actions."""
    row = db.get_or_404(Evaluation, evaluation_id)
    member = row.engagement.member_for(current_user)
    if member is not None and member.declared_at is None and member.recused_at is None:
        flash(_("请先声明与被评价项目无利益关联，然后才能查看项目材料。"), "warning")
        return redirect(url_for("evaluation.show_engagement", engagement_id=row.engagement_id))
    evaluation = _evaluation_or_404(evaluation_id)
    rubric = ops.rubric_for(evaluation)
    agency_scores, agency_comments = ops.sheet_scores(evaluation, "agency")
    self_scores, self_comments = ops.sheet_scores(evaluation, "self")
    values = ops.indicator_values(evaluation.project)
    return render_template(
        "evaluation/evaluation.html",
        evaluation=evaluation,
        title=_titles([evaluation.project]).get(evaluation.project_id, ""),
        rubric=rubric,
        lang=lang(),
        evidence={k: ops.format_rate(v) for k, v in values.items()},
        agency_scores=agency_scores,
        agency_comments=agency_comments,
        self_scores=self_scores,
        self_comments=self_comments,
        self_total=ops.sheet_total(evaluation, "self"),
        agency_total=ops.sheet_total(evaluation, "agency"),
        subtotals=ops.group_subtotals(evaluation, "self"),
        files=ops.files_of("evaluation", evaluation.id),
        may_score=bool(can_score(current_user, evaluation)),
        may_self=bool(can_self_evaluate(current_user, evaluation)),
        show_agency=bool(can_see_agency_sheet(current_user, evaluation)),
        actions=EVALUATION_WORKFLOW.available(evaluation, current_user),
        action_form=ActionForm(),
        accept_form=AcceptForm(),
        notes_form=NotesForm(
            site_notes=evaluation.site_notes, summary=evaluation.summary, formdata=None
        ),
        problem_form=ProblemForm(formdata=None),
        upload_form=UploadForm(),
    )


def _save_sheet(evaluation_id: int, which: str, then: str | None):
    evaluation = _evaluation_or_404(evaluation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    scores, comments = sheet_data(request.form, ops.rubric_for(evaluation))
    try:
        ops.save_sheet(evaluation, which, scores, comments, actor=current_user)
        if then == "self":
            ops.submit_self_evaluation(evaluation, actor=current_user)
    except DomainError as err:
        _fail(err)
        return _back(evaluation_id)
    db.session.commit()
    flash(_("已提交自评。") if then == "self" else _("已保存。"), "success")
    return _back(evaluation_id)


@bp.route("/<int:evaluation_id>/self-sheet", methods=["POST"])
@requires("evaluation.self")
def save_self_sheet(evaluation_id):
    """The society saves (or submits) its self-evaluation."""
    then = "self" if request.form.get("action") == "submit" else None
    return _save_sheet(evaluation_id, "self", then)


@bp.route("/<int:evaluation_id>/sheet", methods=["POST"])
@requires("evaluation.score")
def save_agency_sheet(evaluation_id):
    """An engaged evaluator saves the agency's scores and comments."""
    return _save_sheet(evaluation_id, "agency", None)


@bp.route("/<int:evaluation_id>/notes", methods=["POST"])
@requires("evaluation.score")
def save_notes(evaluation_id):
    """Site-check notes and the findings."""
    evaluation = _evaluation_or_404(evaluation_id)
    form = NotesForm()
    if not form.validate_on_submit():
        abort(400)
    return _run(
        evaluation_id,
        _("已保存。"),
        ops.save_notes,
        evaluation,
        form.site_notes.data,
        form.summary.data,
    )


@bp.route("/<int:evaluation_id>/files", methods=["POST"])
@requires("evaluation.score")
def upload_file(evaluation_id):
    """An evaluator uploads a file."""
    evaluation = _evaluation_or_404(evaluation_id)
    form = UploadForm()
    if not form.validate_on_submit() or not form.file.data:
        abort(400)
    upload = form.file.data
    return _run(
        evaluation_id, _("已上传。"), ops.add_file, evaluation, upload.stream, upload.filename
    )


@bp.route("/files/<int:file_id>")
@requires("evaluation.read")
def download_file(file_id):
    """A file of an evaluation or of a rectification item, to those who may see it."""
    row = db.get_or_404(StoredFile, file_id)
    if row.owner_type == "evaluation":
        owner = db.session.get(Evaluation, row.owner_id)
        allowed = owner is not None and can_view_evaluation(current_user, owner)
    elif row.owner_type == "rectification":
        owner = db.session.get(RectificationItem, row.owner_id)
        allowed = owner is not None and can_view_item(current_user, owner)
    else:
        allowed = False
    if not allowed:
        abort(404)
    data = path_for(row.sha256).read_bytes()
    return _download(data, row.original_name, row.mime, "stored_file", row.id, "file")


@bp.route("/<int:evaluation_id>/problems", methods=["POST"])
@requires("evaluation.score")
def add_problem(evaluation_id):
    """Add a problem with its rectification deadline."""
    evaluation = _evaluation_or_404(evaluation_id)
    form = ProblemForm()
    if not form.validate_on_submit():
        flash(_("请填写问题和整改期限。"), "danger")
        return _back(evaluation_id)
    return _run(
        evaluation_id,
        _("已加入问题清单。"),
        ops.add_problem,
        evaluation,
        form.problem.data,
        form.requirement.data,
        form.deadline.data,
    )


@bp.route("/problems/<int:item_id>/remove", methods=["POST"])
@requires("evaluation.score")
def remove_problem(item_id):
    """Take a problem off the list while evaluating."""
    item = _item_or_404(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _run(item.evaluation_id, _("已删除。"), ops.remove_problem, item)


@bp.route("/<int:evaluation_id>/request-self-evaluation", methods=["POST"])
@requires("evaluation.engage")
def request_self_evaluation(evaluation_id):
    """The officer asks the society for its self-evaluation."""
    evaluation = db.get_or_404(Evaluation, evaluation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _run(evaluation_id, _("已通知学会填写自评。"), ops.request_self_evaluation, evaluation)


@bp.route("/<int:evaluation_id>/submit", methods=["POST"])
@requires("evaluation.score")
def submit_evaluation(evaluation_id):
    """The lead evaluator submits the evaluation."""
    evaluation = _evaluation_or_404(evaluation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _run(evaluation_id, _("评价已提交学会部。"), ops.submit_evaluation, evaluation)


@bp.route("/<int:evaluation_id>/accept", methods=["POST"])
@requires("evaluation.decide")
def accept_evaluation(evaluation_id):
    """The department accepts the evaluation (and decides any follow-up of a 差 grade)."""
    evaluation = db.get_or_404(Evaluation, evaluation_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    return _run(
        evaluation_id,
        _("已采纳评价结果。"),
        ops.accept_evaluation,
        evaluation,
        follow_up=form.follow_up.data,
        reason=form.reason.data,
    )


@bp.route("/<int:evaluation_id>/return", methods=["POST"])
@requires("evaluation.decide")
def return_evaluation(evaluation_id):
    """The department returns the evaluation with reasons."""
    evaluation = db.get_or_404(Evaluation, evaluation_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    return _run(evaluation_id, _("已退回。"), ops.return_evaluation, evaluation, form.reason.data)


@bp.route("/<int:evaluation_id>/report.pdf")
@requires("evaluation.read")
def report_pdf(evaluation_id):
    """绩效评价报告 (PDF)."""
    evaluation = _evaluation_or_404(evaluation_id)
    if not can_see_agency_sheet(current_user, evaluation):
        abort(404)
    data = exports.report_pdf(evaluation)
    name = f"绩效评价报告-{evaluation.project_id}.pdf"
    return _download(data, name, "application/pdf", "evaluation", evaluation.id, "report")


# --- rectification items ---


@bp.route("/rectifications/<int:item_id>")
@requires("evaluation.read")
def show_item(item_id):
    """A rectification item: the problem, the society's response and evidence, actions."""
    item = _item_or_404(item_id)
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
        _fail(err)
        return _item_back(item.id)
    db.session.commit()
    flash(done, "success")
    return _item_back(item.id)


@bp.route("/rectifications/<int:item_id>/submit", methods=["POST"])
@requires("evaluation.self")
def submit_item(item_id):
    """The society uploads evidence and/or submits what it did."""
    item = _item_or_404(item_id)
    form = RectificationForm()
    if not form.validate_on_submit():
        abort(400)
    if form.file.data:
        try:
            ops.add_evidence(
                item, form.file.data.stream, form.file.data.filename, actor=current_user
            )
        except DomainError as err:
            _fail(err)
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
    item = _item_or_404(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _item_run(item, _("已销号。"), ops.close_item)


@bp.route("/rectifications/<int:item_id>/reopen", methods=["POST"])
@requires("rectification.act")
def reopen_item(item_id):
    """Send the item back for more rectification, with reasons."""
    item = _item_or_404(item_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    return _item_run(item, _("已退回重新整改。"), ops.reopen_item, form.reason.data)


from app.evaluation import demo as _demo  # noqa: E402, F401  (registers the demo step)
