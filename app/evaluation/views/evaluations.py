"""One evaluation: both sheets, notes, files, problems, submission, acceptance, the report."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import DomainError
from app.core.files import path_for
from app.core.models import StoredFile
from app.core.permissions import requires
from app.evaluation import exports
from app.evaluation import operations as ops
from app.evaluation.forms import (
    AcceptForm,
    ActionForm,
    NotesForm,
    ProblemForm,
    UploadForm,
    sheet_data,
    veto_data,
)
from app.evaluation.models import (
    Evaluation,
    RectificationItem,
)
from app.evaluation.permissions import (
    can_score,
    can_see_agency_sheet,
    can_self_evaluate,
    can_view_evaluation,
    can_view_item,
)
from app.evaluation.states import (
    EVALUATION_WORKFLOW,
    GRADE_LABELS,
)
from app.evaluation.views.common import (
    back,
    bp,
    download,
    evaluation_or_404,
    fail,
    item_or_404,
    run,
    titles,
)
from app.extensions import db
from app.reviews.operations.common import lang


@bp.route("/<int:evaluation_id>")
@requires("evaluation.read")
def show_evaluation(evaluation_id):
    """The evaluation: evidence and both sheets, notes, files, problems and actions."""
    row = db.get_or_404(Evaluation, evaluation_id)
    member = row.engagement.member_for(current_user)
    if member is not None and member.declared_at is None and member.recused_at is None:
        flash(_("请先声明与被评价项目无利益关联，然后才能查看项目材料。"), "warning")
        return redirect(url_for("evaluation.show_engagement", engagement_id=row.engagement_id))
    evaluation = evaluation_or_404(evaluation_id)
    rubric = ops.rubric_for(evaluation)
    agency_scores, agency_comments = ops.sheet_scores(evaluation, "agency")
    self_scores, self_comments = ops.sheet_scores(evaluation, "self")
    values = ops.indicator_values(evaluation.project)
    return render_template(
        "evaluation/evaluation.html",
        evaluation=evaluation,
        title=titles([evaluation.project]).get(evaluation.project_id, ""),
        rubric=rubric,
        lang=lang(),
        evidence={k: ops.format_rate(v) for k, v in values.items()},
        agency_scores=agency_scores,
        agency_comments=agency_comments,
        self_scores=self_scores,
        self_comments=self_comments,
        self_total=ops.sheet_total(evaluation, "self"),
        vetoes=ops.evaluation_vetoes(evaluation),
        veto_cap_label=GRADE_LABELS[ops.veto_cap(rubric)],
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
    evaluation = evaluation_or_404(evaluation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    rubric = ops.rubric_for(evaluation)
    scores, comments = sheet_data(request.form, rubric)
    vetoes = veto_data(request.form, rubric) if which == "agency" else None
    try:
        ops.save_sheet(evaluation, which, scores, comments, vetoes, actor=current_user)
        if then == "self":
            ops.submit_self_evaluation(evaluation, actor=current_user)
    except DomainError as err:
        fail(err)
        return back(evaluation_id)
    db.session.commit()
    flash(_("已提交自评。") if then == "self" else _("已保存。"), "success")
    return back(evaluation_id)


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
    evaluation = evaluation_or_404(evaluation_id)
    form = NotesForm()
    if not form.validate_on_submit():
        abort(400)
    return run(
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
    evaluation = evaluation_or_404(evaluation_id)
    form = UploadForm()
    if not form.validate_on_submit() or not form.file.data:
        abort(400)
    upload = form.file.data
    return run(
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
    return download(data, row.original_name, row.mime, "stored_file", row.id, "file")


@bp.route("/<int:evaluation_id>/problems", methods=["POST"])
@requires("evaluation.score")
def add_problem(evaluation_id):
    """Add a problem with its rectification deadline."""
    evaluation = evaluation_or_404(evaluation_id)
    form = ProblemForm()
    if not form.validate_on_submit():
        flash(_("请填写问题和整改期限。"), "danger")
        return back(evaluation_id)
    return run(
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
    item = item_or_404(item_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return run(item.evaluation_id, _("已删除。"), ops.remove_problem, item)


@bp.route("/<int:evaluation_id>/request-self-evaluation", methods=["POST"])
@requires("evaluation.engage")
def request_self_evaluation(evaluation_id):
    """The officer asks the society for its self-evaluation."""
    evaluation = db.get_or_404(Evaluation, evaluation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return run(evaluation_id, _("已通知学会填写自评。"), ops.request_self_evaluation, evaluation)


@bp.route("/<int:evaluation_id>/submit", methods=["POST"])
@requires("evaluation.score")
def submit_evaluation(evaluation_id):
    """The lead evaluator submits the evaluation."""
    evaluation = evaluation_or_404(evaluation_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return run(evaluation_id, _("评价已提交学会部。"), ops.submit_evaluation, evaluation)


@bp.route("/<int:evaluation_id>/accept", methods=["POST"])
@requires("evaluation.decide")
def accept_evaluation(evaluation_id):
    """The department accepts the evaluation (and decides any follow-up of a 差 grade)."""
    evaluation = db.get_or_404(Evaluation, evaluation_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    return run(
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
    return run(evaluation_id, _("已退回。"), ops.return_evaluation, evaluation, form.reason.data)


@bp.route("/<int:evaluation_id>/report.pdf")
@requires("evaluation.read")
def report_pdf(evaluation_id):
    """绩效评价报告 (PDF)."""
    evaluation = evaluation_or_404(evaluation_id)
    if not can_see_agency_sheet(current_user, evaluation):
        abort(404)
    data = exports.report_pdf(evaluation)
    name = f"绩效评价报告-{evaluation.project_id}.pdf"
    return download(data, name, "application/pdf", "evaluation", evaluation.id, "report")
