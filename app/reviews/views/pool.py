"""Officers' pages for the expert pool: list, search, create, edit, relations, import, export."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Organisation
from app.core.errors import DomainError
from app.core.forms import show_error
from app.core.permissions import requires
from app.core.sheets import XLSX_MIME
from app.extensions import db
from app.reviews import exports
from app.reviews import operations as ops
from app.reviews.forms import ExpertForm, ImportForm, RelationForm
from app.reviews.models import Expert
from app.reviews.operations.pool import page_experts, pool_counts
from app.reviews.states import RELATION_LABELS
from app.reviews.views import bp, download

_TOKEN = re.compile(r"^[0-9a-f]{64}$")


def _expert_or_404(expert_id: int) -> Expert:
    expert = db.session.get(Expert, expert_id)
    if expert is None:
        abort(404)
    return expert


@bp.route("/experts")
@requires("reviews.manage")
def list_experts():
    """The pool, searchable by name, organisation, keyword and field code; one page of
    ``REVIEW_PAGE_SIZE`` experts at a time, counted by the database."""
    q, field = request.args.get("q", "")[:100], request.args.get("field", "").strip()[:40]
    size = int(current_app.config.get("REVIEW_PAGE_SIZE", 100))
    page = max(request.args.get("page", type=int) or 1, 1)
    experts, total = page_experts(q, field, page=page, per_page=size)
    return render_template(
        "reviews/experts.html",
        experts=experts,
        q=q,
        field=field,
        page=page,
        size=size,
        total=total,
        counts=pool_counts(),
    )


@bp.route("/experts/new", methods=["GET", "POST"])
@requires("reviews.manage")
def new_expert():
    """Add an expert (a new reviewer account, or an existing reviewer by e-mail)."""
    form = ExpertForm()
    if form.validate_on_submit():
        try:
            expert = ops.create_expert(form.values(), actor=current_user)
        except DomainError as err:
            status = show_error(form, err)
            return render_template("reviews/expert_form.html", form=form), status
        db.session.commit()
        flash(_("专家已加入专家库。"), "success")
        return redirect(url_for("reviews.edit_expert", expert_id=expert.id))
    return render_template("reviews/expert_form.html", form=form), 400 if form.errors else 200


@bp.route("/experts/<int:expert_id>", methods=["GET", "POST"])
@requires("reviews.manage")
def edit_expert(expert_id):
    """Edit an expert's pool record; see and add declared relations."""
    expert = _expert_or_404(expert_id)
    form = ExpertForm()
    if request.method == "GET":
        form.fill(expert)
    elif form.validate_on_submit():
        try:
            ops.update_expert(expert, form.values(), actor=current_user)
        except DomainError as err:
            status = show_error(form, err)
        else:
            db.session.commit()
            flash(_("专家信息已保存。"), "success")
            return redirect(url_for("reviews.edit_expert", expert_id=expert.id))
    status = 400 if form.errors else 200
    return render_template(
        "reviews/expert_form.html",
        form=form,
        expert=expert,
        relation_form=RelationForm(),
        relation_labels=RELATION_LABELS,
    ), status


@bp.route("/experts/<int:expert_id>/relations", methods=["POST"])
@requires("reviews.manage")
def add_relation(expert_id):
    """Record a relation the expert declared (relative, employment, directorship, collaboration)."""
    expert = _expert_or_404(expert_id)
    form = RelationForm()
    if not form.validate_on_submit():
        flash(_("请完整填写关联单位和关系类型。"), "danger")
        return redirect(url_for("reviews.edit_expert", expert_id=expert.id)), 303
    org = db.session.scalar(
        select(Organisation).where(Organisation.name == form.org_name.data.strip())
    )
    if org is None:
        flash(_("单位不存在，请先在单位管理中登记。"), "danger")
        return redirect(url_for("reviews.edit_expert", expert_id=expert.id)), 303
    ops.add_relation(
        expert,
        org.id,
        form.kind.data,
        actor=current_user,
        since=form.since.data,
        until=form.until.data,
        note=form.note.data or None,
    )
    db.session.commit()
    flash(_("关联关系已记录。"), "success")
    return redirect(url_for("reviews.edit_expert", expert_id=expert.id))


def _import_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "expert-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@bp.route("/experts/import", methods=["GET", "POST"])
@requires("reviews.manage")
def import_experts():
    """Upload an xlsx: preview every row with its problems; commit all or nothing."""
    form = ImportForm()
    token = request.form.get("token", "")
    if request.method == "POST" and token and request.form.get("commit"):
        if not _TOKEN.match(token) or not (_import_dir() / f"{token}.xlsx").exists():
            abort(404)
        path = _import_dir() / f"{token}.xlsx"
        try:
            created = ops.import_experts(io.BytesIO(path.read_bytes()), actor=current_user)
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "danger")
            for detail in err.details:
                flash(detail, "danger")
            return redirect(url_for("reviews.import_experts")), 303
        db.session.commit()
        path.unlink(missing_ok=True)
        flash(_("已导入 %(n)s 位专家。", n=len(created)), "success")
        return redirect(url_for("reviews.list_experts"))
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            rows = ops.parse_import(io.BytesIO(data))
        except DomainError as err:
            status = show_error(form, err)
            return render_template("reviews/import.html", form=form), status
        token = hashlib.sha256(data).hexdigest()
        (_import_dir() / f"{token}.xlsx").write_bytes(data)
        bad = sum(1 for r in rows if r.problems)
        return render_template("reviews/import.html", form=form, rows=rows, token=token, bad=bad)
    return render_template("reviews/import.html", form=form), 400 if form.errors else 200


@bp.route("/experts/export.xlsx")
@requires("reviews.manage")
def export_experts():
    """The pool as xlsx (the import sheet's columns first)."""
    fh = io.BytesIO()
    exports.pool_xlsx(fh, ops.search_experts(), user=current_user)
    return download(fh.getvalue(), "专家库.xlsx", XLSX_MIME, "expert", None, "expert-pool")
