"""The applicant's pages: start, edit and save a draft, attach files, submit, withdraw;
and the application page everyone allowed sees."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from app.accounts.models import Organisation
from app.applications import operations as ops
from app.applications.forms import (
    EndorseForm,
    MatchingForm,
    ReasonForm,
    form_values,
    parse_application,
)
from app.applications.models import TARGET_GROUPS, Application, Decision
from app.applications.operations.drafts import load_for_save
from app.applications.permissions import (
    can_check,
    can_confirm_matching,
    can_edit_application,
    can_see_all,
    can_view_application,
    can_view_duplicates,
)
from app.applications.states import APPLICATION_WORKFLOW, ApplicationState
from app.calls.models import Call
from app.calls.permissions import can_view_call
from app.calls.states import CATEGORY_LABELS
from app.core.errors import DomainError, ValidationFailed
from app.core.files import send_stored
from app.core.forms import count_rows, page_args
from app.core.permissions import requires
from app.extensions import db
from app.home import navigation
from app.home.views import TODO_SOURCES
from app.stations.choices import application_choices  # stations (issue 12)

bp = Blueprint("applications", __name__)
navigation.add("applications.list_applications", _l("申报书"), "applications.read")
GROUP_LABELS = {
    "output": _l("产出指标"),
    "effect": _l("效益指标"),
    "satisfaction": _l("满意度指标"),
}


@bp.app_template_filter("app_state_label")
def app_state_label(state) -> str:
    """An application state's staff label (lists filter by staff labels)."""
    return str(ApplicationState(str(state)).label)


@bp.app_template_global("field_input")
def field_input(name, label, values, errors, type="text", hidden_label=False, attrs=""):
    """A labelled text input of the application form, with its error below it.

    The edit page shows about a hundred of them; as a Jinja macro they took some 3 ms of
    the page (argument handling per call), as a function well under 1 ms. The markup is
    exactly what the macro produced (its whitespace included)."""
    err = errors.get(name)
    n = escape(name)
    parts = [
        '\n  <label class="',
        "visually-hidden" if hidden_label else "form-label",
        f'" for="f-{n}">{escape(label)}</label>\n  <input class="form-control form-control-sm',
        " is-invalid" if err else "",
        f'" id="f-{n}" name="{n}" type="{escape(type)}"\n         value="',
        escape(values.get(name, "")),
        '" ',
        f'aria-describedby="f-{n}-err"' if err else "",
        f" {escape(attrs)}>\n  ",
    ]
    if err:
        parts.append(f'<div class="invalid-feedback d-block" id="f-{n}-err">{escape(err)}</div>')
    # Every value above went through escape().
    return Markup("".join(parts))  # noqa: S704  # nosec B704


@bp.app_template_filter("category_pair")
def category_pair(key: str) -> tuple[str, str]:
    """(key, label) of a call category, for select options."""
    return key, str(CATEGORY_LABELS.get(key, key))


@bp.app_template_filter("id_name")
def id_name(row) -> tuple[int, str]:
    """(id, name) of a row, for select options."""
    return row.id, row.name


def load_application(app_id: int, *, for_save: bool = False) -> Application:
    """The application, or 404 when it does not exist or the user may not see it.

    ``for_save``: read under its row lock for ``save_draft``, which then does not read
    it again.
    """
    app = load_for_save(app_id) if for_save else db.session.get(Application, app_id)
    if app is None or not can_view_application(current_user, app):
        abort(404)
    return app


def _flash_error(err: DomainError) -> None:
    flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")


@bp.route("/calls/<int:call_id>/apply", methods=["POST"])
@requires("applications.edit")
def start_application(call_id):
    """Start a draft application to a call."""
    call = db.session.get(Call, call_id)
    if call is None or not can_view_call(current_user, call):
        abort(404)
    app = ops.create_application(call, actor=current_user)
    db.session.commit()
    flash(_("申报书草稿已创建，可随时保存，下次继续填写。"), "success")
    return redirect(url_for("applications.edit_application", app_id=app.id))


_LIST_COLUMNS = (
    Application.id,
    Application.state,
    Application.title,
    Application.project_number,
    Application.requested_fen,
    Organisation.name.label("society_name"),
)


@bp.route("/applications")
@requires("applications.read")
def list_applications():
    """Applications: the own organisation's, or all for staff; filter by call and state."""
    page, size = page_args(request)
    filters = []
    if not can_see_all(current_user):
        column = (
            Application.co_government_id
            if current_user.has_role("local_partner")
            and not current_user.has_role("applicant", "society_admin")
            else Application.society_id
        )
        filters.append(column == current_user.org_id)
        if column is Application.co_government_id:
            filters.append(Application.state.notin_(("draft", "withdrawn")))
    call_id = request.args.get("call", type=int)
    state = request.args.get("state") or None
    if call_id:
        filters.append(Application.call_id == call_id)
    if state in ApplicationState.values():
        filters.append(Application.state == state)
    total = count_rows(select(Application).where(*filters))
    # The page's ids first (from the index on call and id alone, where only the call is
    # chosen), then their rows: an offset over the rows themselves read every row before
    # the page (page 40 of a call of 2,000: 6 ms of database time, 0.5 ms this way).
    page_ids = (
        select(Application.id)
        .where(*filters)
        .order_by(Application.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    # Only the columns the rows show, as plain rows: loading 50 applications as objects
    # (with their society, and a loader for each column left out) took a fifth of the page.
    rows = db.session.execute(
        select(*_LIST_COLUMNS)
        .join(Organisation, Organisation.id == Application.society_id)
        .where(Application.id.in_(page_ids))
        .order_by(Application.id.desc())
    ).all()
    calls = db.session.execute(
        select(Call.id, Call.state, Call.title).order_by(Call.id.desc())
    ).all()
    # Each label once per page, not per row (a lazy label costs ~30 µs each time it is shown).
    applicant_view = current_user.has_role("applicant", "society_admin", "local_partner")
    return render_template(
        "applications/list.html",
        rows=rows,
        calls=calls,
        call_id=call_id,
        state=state,
        states=[(s.value, str(s.label)) for s in ApplicationState],
        row_labels={
            s.value: str(s.applicant_label if applicant_view else s.label) for s in ApplicationState
        },
        page=page,
        size=size,
        total=total,
        can_batch=bool(can_check(current_user)),
    )


@bp.route("/applications/<int:app_id>")
@requires("applications.read")
def show_application(app_id):
    """An application with its state, reasons, revisions and the actions open to the user."""
    app = load_application(app_id)
    decisions = db.session.scalars(
        select(Decision).where(Decision.application_id == app.id).order_by(Decision.id)
    ).all()
    show_flags = bool(can_view_duplicates(current_user))
    return render_template(
        "applications/show.html",
        app=app,
        decisions=decisions,
        revisions=ops.revisions_of(app),
        actions=APPLICATION_WORKFLOW.available(app, current_user),
        can_edit=bool(can_edit_application(current_user, app)),
        can_match=bool(can_confirm_matching(current_user, app)),
        flags=ops.flags_for(app) if show_flags else [],
        show_flags=show_flags,
        missing=ops.completeness_problems(app) if app.state in ("draft", "returned") else [],
        category_labels=CATEGORY_LABELS,
        group_labels=GROUP_LABELS,
        endorse_form=EndorseForm(),
        matching_form=MatchingForm(),
        required_matching=ops.required_matching_fen(app.requested_fen, app.call.matching_ratio_pct),
    )


def _row_counts(values) -> dict[str, int]:
    """Rows of each repeating table that ``values`` fill (rows added in the browser
    must come back on a refused save, or what was typed in them is lost)."""
    counts = {"team": 0, "target": 0, "milestone": 0}
    for key in values:
        match = re.match(r"^(team|target|milestone)-(\d+)-", key)
        if match:
            counts[match.group(1)] = max(counts[match.group(1)], int(match.group(2)) + 1)
    return counts


def _edit_page(app, values, errors, status=200, **extra):
    return render_template(
        "applications/edit.html",
        app=app,
        values=values,
        errors=errors,
        rows=_row_counts(values),
        # stations (issue 12): only the applicant's relevant stations, parks, governments
        **application_choices(app),
        category_labels=CATEGORY_LABELS,
        groups=[(g, GROUP_LABELS[g]) for g in TARGET_GROUPS],
        **extra,
    ), status


@bp.route("/applications/<int:app_id>/edit", methods=["GET", "POST"])
@requires("applications.edit")
def edit_application(app_id):
    """Edit and save a draft (complete or not); a stale form gets a 409 and saves nothing."""
    app = load_application(app_id, for_save=request.method == "POST")
    if not can_edit_application(current_user, app):
        flash(can_edit_application(current_user, app).reason, "warning")
        return redirect(url_for("applications.show_application", app_id=app.id))
    if request.method == "GET":
        return _edit_page(app, form_values(app), {})
    data, errors = parse_application(request.form)
    if errors:
        flash(_("有 %(n)s 处填写格式不正确，本次未保存，请修改后重试。", n=len(errors)), "danger")
        return _edit_page(app, request.form.to_dict(), errors, 422)
    try:
        ops.save_draft(
            app, data, actor=current_user, expected_version=request.form.get("version", type=int)
        )
    except DomainError as err:
        db.session.rollback()
        _flash_error(err)
        app = load_application(app_id)
        values = {**request.form.to_dict(), "version": str(request.form.get("version", ""))}
        return _edit_page(app, values, {err.field: err.message} if err.field else {}, err.status)
    version = app.version  # read before the commit expires the row (else reloaded to say it)
    db.session.commit()
    flash(_("已保存（第 %(v)s 版）。", v=version), "success")
    if request.form.get("then") == "submit_page":
        return redirect(url_for("applications.show_application", app_id=app_id))
    return redirect(url_for("applications.edit_application", app_id=app_id))


@bp.route("/applications/<int:app_id>/attachments", methods=["POST"])
@requires("applications.edit")
def upload_attachment(app_id):
    """Attach a file of one of the call's required kinds."""
    app = load_application(app_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed(_("请选择要上传的文件。"))
        ops.add_attachment(
            app, request.form.get("kind", ""), upload.stream, upload.filename, actor=current_user
        )
    except DomainError as err:
        db.session.rollback()
        # The edit page again, the message beside the upload field (the draft is saved).
        app = load_application(app_id)
        kind = request.form.get("kind", "")
        field = "kind" if err.field == "kind" else "file"
        error = {field: err.message, "chosen": kind}
        for detail in err.details:
            flash(detail, "danger")
        status = err.status if err.status >= 400 else 400
        return _edit_page(app, form_values(app), {}, status, attachment_error=error)
    db.session.commit()
    flash(_("附件已上传。"), "success")
    return redirect(url_for("applications.edit_application", app_id=app_id))


@bp.route("/applications/<int:app_id>/files/<int:file_id>")
@requires("applications.read")
def download_file(app_id, file_id):
    """Download one of the application's files (only for those who may see it)."""
    app = load_application(app_id)
    row = ops.attachment_file(app, file_id)
    if row is None:
        abort(404)
    return send_stored(row, actor=current_user, application_id=app.id)


@bp.route("/applications/<int:app_id>/submit", methods=["POST"])
@requires("applications.edit")
def submit_application(app_id):
    """Submit (or resubmit) the application; a repeated click submits once."""
    app = load_application(app_id)
    try:
        app, created = ops.submit_application(
            app, actor=current_user, expected_version=request.form.get("version", type=int)
        )
    except DomainError as err:
        db.session.rollback()
        _flash_error(err)
        return redirect(url_for("applications.show_application", app_id=app_id)), 303
    db.session.commit()
    if created:
        flash(_("申报书已提交，项目编号：%(n)s。", n=app.project_number), "success")
    else:
        flash(_("申报书已经提交过（项目编号：%(n)s），未重复提交。", n=app.project_number), "info")
    return redirect(url_for("applications.show_application", app_id=app.id))


@bp.route("/applications/<int:app_id>/withdraw", methods=["POST"])
@requires("applications.edit")
def withdraw_application(app_id):
    """Withdraw the application."""
    app = load_application(app_id)
    form = ReasonForm()
    form.validate_on_submit()
    ops.withdraw_application(app, actor=current_user, reason=form.reason.data or None)
    db.session.commit()
    flash(_("申报书已撤回。"), "success")
    return redirect(url_for("applications.show_application", app_id=app.id))


def _todo(user):
    """Drafts and returned applications of the user's organisation."""
    if not user.has_role("applicant", "society_admin"):
        return []
    count = db.session.scalar(
        select(db.func.count(Application.id)).where(
            Application.society_id == user.org_id,
            Application.state.in_(("draft", "returned")),
        )
    )
    return (
        [(_("待完成或退回修改的申报书"), count, "applications.list_applications")] if count else []
    )


TODO_SOURCES.append(_todo)

from app.applications import demo as _demo  # noqa: E402, F401  (registers the demo step)

# --- the readable revision page (issue 11: revision links showed raw JSON) ---


def _people(rows) -> str:
    return "\n".join(
        " · ".join(
            str(p.get(k) or "") for k in ("name", "title", "organisation", "role") if p.get(k)
        )
        for p in rows or []
        if p
    )


def _revision_rows(snap: dict, call: Call) -> list[tuple[str, str, str]]:
    """A revision's snapshot as (section, label, text) rows, in the order of the form;
    ``(section, label)`` identifies a row when two revisions are compared."""
    from app.core.money import format_yuan

    yes = _("是")
    rows = [
        (_("基本信息"), _("项目编号"), snap.get("project_number") or "—"),
        (_("基本信息"), _("项目名称"), snap.get("title") or ""),
        (_("基本信息"), _("任务类别"), str(CATEGORY_LABELS.get(snap.get("category"), ""))),
        (_("基本信息"), _("项目摘要"), snap.get("summary") or ""),
        (_("基本信息"), _("项目目标"), snap.get("objectives") or ""),
        (_("项目团队"), _("首席专家"), _people([snap.get("chief_expert")])),
        (_("项目团队"), _("团队成员"), _people(snap.get("team"))),
        (_("项目团队"), _("申请回避的专家"), _people(snap.get("excluded_experts"))),
    ]
    for line in snap.get("budget") or []:
        name = (call.line(line["line_key"]) or {}).get("zh") or line["line_key"]
        text = _(
            "专项资金 %(f)s 元；地方配套 %(m)s 元；自筹 %(s)s 元",
            f=format_yuan(line.get("fund_fen") or 0),
            m=format_yuan(line.get("matching_fen") or 0),
            s=format_yuan(line.get("self_raised_fen") or 0),
        )
        if line.get("note"):
            text += f"（{line['note']}）"
        rows.append((_("经费预算"), name, text))
    for key, label in (
        ("requested_fen", _("申请专项资金合计")),
        ("matching_fen", _("地方配套合计")),
        ("self_raised_fen", _("自筹合计")),
    ):
        rows.append((_("经费预算"), label, _("%(a)s 元", a=format_yuan(snap.get(key) or 0))))
    for n, t in enumerate(snap.get("targets") or [], 1):
        group = str(GROUP_LABELS.get(t.get("group"), t.get("group") or ""))
        value = f"{t.get('indicator', '')}：{t.get('target_value', '')} {t.get('unit', '')}"
        rows.append((_("绩效目标"), f"{n}. {group}", value.strip()))
    for m in snap.get("milestones") or []:
        text = _(
            "%(t)s，%(d)s 前完成，拨付 %(p)s%%",
            t=m.get("title") or "",
            d=m.get("due_on") or "—",
            p=m.get("tranche_pct") or 0,
        )
        if m.get("deliverables"):
            text += f"\n{m['deliverables']}"
        rows.append((_("进度节点"), _("节点 %(n)s", n=m.get("seq")), text))
    kinds = {k["key"]: k.get("zh") for k in call.required_attachments or []}
    for a in snap.get("attachments") or []:
        kind = kinds.get(a.get("kind")) or a.get("kind") or ""
        rows.append((_("附件"), kind, f"{a.get('name')}（{(a.get('file_sha256') or '')[:12]}）"))
    rows.append((_("承诺"), _("诚信承诺"), yes if snap.get("pledge_integrity") else "—"))
    rows.append((_("承诺"), _("不重复申报承诺"), yes if snap.get("pledge_no_duplicate") else "—"))
    return rows


@bp.route("/applications/<int:app_id>/revisions/<int:number>/view")
@requires("applications.read")
def show_revision(app_id, number):
    """One submitted revision as a readable page, compared with the one before it
    (changed rows marked; ``?changed=1`` shows only those)."""
    app = load_application(app_id)
    revisions = ops.revisions_of(app)
    row = next((r for r in revisions if r.number == number), None)
    if row is None:
        abort(404)
    before = next((r for r in revisions if r.number == number - 1), None)
    old = {(s, k): v for s, k, v in _revision_rows(before.snapshot, app.call)} if before else {}
    rows = [
        (
            section,
            label,
            text,
            old.get((section, label)),
            bool(before) and old.get((section, label)) != text,
        )
        for section, label, text in _revision_rows(row.snapshot, app.call)
    ]
    current = {(r[0], r[1]) for r in rows}
    removed = [(s, k, v) for (s, k), v in old.items() if (s, k) not in current]
    only_changed = request.args.get("changed") == "1"
    return render_template(
        "applications/revision.html",
        app=app,
        revision=row,
        before=before,
        revisions=revisions,
        rows=[r for r in rows if r[4]] if only_changed else rows,
        removed=removed,
        changed=sum(1 for r in rows if r[4]) + len(removed),
        only_changed=only_changed,
    )
