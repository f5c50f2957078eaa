"""Society self-registration, officers' verification, and a society's own staff."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from app.accounts.models import Organisation
from app.calls import societies as ops
from app.calls.forms import SocietyRegistrationForm, StaffForm
from app.core import imports
from app.core.errors import DomainError
from app.core.files import send_stored
from app.core.forms import page_args, page_of, show_error
from app.core.permissions import PUBLIC, requires
from app.extensions import db, limiter
from app.home import navigation

bp = Blueprint("societies", __name__)
navigation.add("societies.list_societies", _l("学会注册审核"), "societies.verify")
navigation.add("societies.staff", _l("本学会账号"), "societies.staff")


@bp.route("/register/society", methods=["GET", "POST"])
@requires(PUBLIC)
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """A provincial society registers itself (verified later by an officer)."""
    form = SocietyRegistrationForm()
    if form.validate_on_submit():
        upload = form.certificate.data
        try:
            ops.register_society(
                name=form.name.data,
                credit_code_text=form.credit_code.data,
                contact_name=form.contact_name.data,
                email=form.email.data,
                password=form.password.data,
                certificate=upload.stream if upload else None,
                certificate_name=upload.filename if upload else "",
            )
        except DomainError as err:
            db.session.rollback()
            status = show_error(form, err)  # before rendering: it puts the error on the field
            return render_template("calls/register.html", form=form), status
        db.session.commit()
        flash(_("注册已提交，学会部审核通过后即可申报。现在可以登录。"), "success")
        return redirect(url_for("accounts.login"))
    return render_template("calls/register.html", form=form), 400 if form.errors else 200


@bp.route("/societies")
@requires("societies.verify")
def list_societies():
    """Societies, unverified ones first; paged, searchable by name or credit code."""
    q = (request.args.get("q") or "").strip()
    page, size = page_args(request)
    stmt = select(Organisation).where(Organisation.kind.in_(("society", "local_government")))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Organisation.name.ilike(like), Organisation.credit_code.ilike(like)))
    orgs, total = page_of(
        stmt.order_by(Organisation.is_verified, Organisation.id.desc()), page, size
    )
    return render_template(
        "calls/societies.html", orgs=orgs, q=q, page=page, size=size, total=total
    )


@bp.route("/societies/<int:org_id>/verify", methods=["POST"])
@requires("societies.verify")
def verify(org_id):
    """Confirm a self-registered society."""
    org = db.get_or_404(Organisation, org_id)
    ops.verify_society(org, actor=current_user)
    db.session.commit()
    flash(_("已审核通过：%(name)s", name=org.name), "success")
    return redirect(url_for("societies.list_societies"))


@bp.route("/societies/<int:org_id>/certificate")
@requires("societies.verify")
def certificate(org_id):
    """Download the registration certificate a society uploaded."""
    org = db.get_or_404(Organisation, org_id)
    row = ops.certificate_of(org)
    if row is None:
        abort(404)
    return send_stored(row, actor=current_user, society_id=org.id, document="certificate")


@bp.route("/society/staff", methods=["GET", "POST"])
@requires("societies.staff")
def staff():
    """The society's own accounts; create applicant accounts."""
    form = StaffForm()
    status = 200
    if form.validate_on_submit():
        try:
            ops.create_staff(
                current_user.org,
                email=form.email.data,
                name=form.name.data,
                password=form.password.data,
                actor=current_user,
            )
        except DomainError as err:
            db.session.rollback()
            status = show_error(form, err)
        else:
            db.session.commit()
            flash(_("账号已创建。"), "success")
            return redirect(url_for("societies.staff"))
    elif form.errors:
        status = 400
    users = ops.staff_of(current_user.org)
    return render_template("calls/staff.html", form=form, users=users), status


@bp.route("/societies/import", methods=["GET", "POST"])
@requires("societies.verify")
def import_societies():
    """Officers import the society registry from xlsx: preview, then all rows or none."""
    return imports.import_page(
        "societies",
        title=_("批量导入学会"),
        columns=ops.SOCIETY_COLUMNS,
        preview=lambda stream: ops.preview_societies(stream, actor=current_user),
        run=lambda stream: ops.import_societies(stream, actor=current_user),
        done=lambda created: _("已导入 %(n)s 个学会。", n=len(created)),
        done_url=url_for("societies.list_societies"),
        template=lambda: (ops.society_template(), "学会导入模板.xlsx"),
    )
