"""Login, logout, password reset, language, and the account administration pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, or_, select

from app.accounts import mfa
from app.accounts import operations as ops
from app.accounts.forms import (
    ORG_KIND_LABELS,
    ROLE_LABELS,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    OrganisationForm,
    PreferencesForm,
    ReasonForm,
    ResetPasswordForm,
    RolesForm,
    UserForm,
)
from app.accounts.models import Organisation, User
from app.accounts.permissions import can_manage_users
from app.core import clock
from app.core.errors import DomainError
from app.core.forms import page_args, page_of, show_error
from app.core.permissions import AUTHENTICATED, PUBLIC, requires
from app.extensions import db, limiter

bp = Blueprint("accounts", __name__)


def _login_account_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


def _safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect."""
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    # Browsers read "/\evil" as "//evil"; control characters are stripped before parsing.
    if "\\" in target or not target.isprintable():
        return url_for("home.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_login_account_key,
)
def login():
    """Sign in with e-mail and password."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = ops.authenticate(form.email.data, form.password.data)
        except ops.LoginFailed as err:
            db.session.commit()  # keep the audit event and the failure count
            flash(err.message, "danger")
            return render_template("accounts/login.html", form=form), 401
        db.session.commit()
        target = _safe_next(request.args.get("next"))
        if user.mfa_enabled:  # the password was the first step; the code comes next
            session["mfa_pending"] = {
                "user": user.id,
                "version": user.session_version,
                "next": target,
                "at": int(clock.now().timestamp()),
                "tries": 0,
            }
            return redirect(url_for("accounts.mfa_verify"))
        login_user(user)
        session["locale"] = user.locale
        if mfa.required(user):
            flash(_("您的岗位必须启用两步验证，请先完成设置。"), "warning")
            return redirect(url_for("accounts.mfa_setup"))
        return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@requires(AUTHENTICATED)
def logout():
    """Sign out."""
    ops.record_logout(current_user)
    db.session.commit()
    logout_user()
    flash(_("您已安全退出。"), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@requires(PUBLIC)
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    """Ask for a password reset link."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ops.request_password_reset(form.email.data)
        db.session.commit()
        flash(_("如果该邮箱已注册，重置链接已发送，请查收。"), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@requires(PUBLIC)
def reset_password(token):
    """Choose a new password from a reset link."""
    form = ResetPasswordForm()
    try:
        ops.user_for_reset_token(token)
    except DomainError as err:
        flash(err.message, "danger")
        return render_template("accounts/reset.html", form=None), 400
    if form.validate_on_submit():
        try:
            ops.reset_password(token, form.password.data)
        except DomainError as err:
            status = show_error(form, err)  # before rendering, so the message shows
            return render_template("accounts/reset.html", form=form), status
        db.session.commit()
        flash(_("密码已重置，请重新登录。"), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@requires(AUTHENTICATED)
def account():
    """One's own preferences: language and mail notifications."""
    form = PreferencesForm(obj=current_user)
    if form.validate_on_submit():
        ops.set_locale(current_user, form.locale.data)
        current_user.notify_by_mail = form.notify_by_mail.data
        db.session.commit()
        session["locale"] = current_user.locale
        flash(_("设置已保存。"), "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form, password_form=ChangePasswordForm())


@bp.route("/account/password", methods=["POST"])
@requires(AUTHENTICATED)
def change_password():
    """Change one's own password; other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ops.change_password(
                current_user, form.old_password.data, form.password.data, actor=current_user
            )
        except DomainError as err:
            status = show_error(form, err)
            return render_template(
                "accounts/account.html", form=PreferencesForm(obj=current_user), password_form=form
            ), status
        db.session.commit()
        # This session carries on with the new session version. The real object, not the
        # proxy: Flask-Login caches what it is given, and a cached proxy recurses into itself.
        # A new password is no new login: the session's absolute lifetime keeps its start.
        signed_in_at = session.get("auth_at")
        login_user(current_user._get_current_object())
        if signed_in_at is not None:
            session["auth_at"] = signed_in_at
        flash(_("密码已修改，其他设备上的登录已失效。"), "success")
        return redirect(url_for("accounts.account"))
    return render_template(
        "accounts/account.html", form=PreferencesForm(obj=current_user), password_form=form
    ), 400


@bp.route("/language", methods=["POST"])
@requires(PUBLIC)
def set_language():
    """Switch the interface language (a POST, so a link cannot switch it)."""
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LANGUAGES"]:
        return redirect(url_for("home.index")), 400
    session["locale"] = locale
    if current_user.is_authenticated:
        ops.set_locale(current_user, locale)
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/admin/users")
@requires("users.manage")
def list_users():
    """All accounts, searchable."""
    return _users_page((request.args.get("q") or "").strip(), page_args(request))


def _users_page(q: str, paging: tuple[int, int], refused: dict | None = None, status: int = 200):
    """The user list; ``refused`` = {"user_id", "field", "message", "value"} puts a
    refused row action's message beside its field (re-rendered with a 4xx)."""
    page, size = paging
    stmt = select(User).join(Organisation).order_by(User.id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(User.name.ilike(like), User.email.ilike(like), Organisation.name.ilike(like))
        )
    users, total = page_of(stmt, page, size)
    return render_template(
        "accounts/users.html",
        users=users,
        q=q,
        page=page,
        size=size,
        total=total,
        role_labels=ROLE_LABELS,
        reason_form=ReasonForm(),
        refused=refused,
    ), status


def _page_of(user: User) -> tuple[int, int]:
    """The page (of the unfiltered lists, ordered by id) that shows ``user``."""
    _page, size = page_args(request)
    before = db.session.scalar(select(func.count(User.id)).where(User.id < user.id))
    return before // size + 1, size


def _refused(user: User, err: DomainError, field: str, value) -> dict:
    db.session.rollback()
    for detail in err.details:
        flash(detail, "danger")
    return {"user_id": user.id, "field": field, "message": err.message, "value": value}


def _org_choices():
    return [
        (o.id, o.name) for o in db.session.scalars(select(Organisation).order_by(Organisation.name))
    ]


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires("users.manage")
def new_user():
    """Create an account."""
    form = UserForm()
    form.org_id.choices = _org_choices()
    if form.validate_on_submit():
        try:
            ops.create_user(
                form.email.data,
                form.name.data,
                form.org_id.data,
                form.roles.data,
                password=form.password.data or None,
                actor=current_user,
            )
        except DomainError as err:
            status = show_error(form, err)  # before rendering, so the message shows
            return render_template("accounts/user_form.html", form=form), status
        db.session.commit()
        flash(_("用户已创建。"), "success")
        return redirect(url_for("accounts.list_users"))
    return render_template("accounts/user_form.html", form=form), 400 if form.errors else 200


@bp.route("/admin/users/<int:user_id>/enabled", methods=["POST"])
@requires("users.manage")
def set_user_enabled(user_id):
    """Disable or re-enable an account."""
    user = db.get_or_404(User, user_id)
    form = ReasonForm()
    enable = request.form.get("enabled") == "1"
    if not form.validate_on_submit():
        message = "；".join(str(e) for e in form.reason.errors) or _("请求无效，请重试。")
        refused = {"user_id": user.id, "field": "enabled", "message": message, "value": ""}
        return _users_page("", _page_of(user), refused, 422)
    try:
        ops.set_enabled(user, enable, actor=current_user, reason=form.reason.data or None)
    except DomainError as err:
        refused = _refused(user, err, "enabled", "")
        return _users_page("", _page_of(user), refused, err.status if err.status >= 400 else 400)
    db.session.commit()
    flash(_("账号已启用。") if enable else _("账号已停用，其所有会话已结束。"), "success")
    return redirect(url_for("accounts.list_users"))


@bp.route("/admin/users/<int:user_id>/erase", methods=["POST"])
@requires("users.manage")
def erase_user(user_id):
    """Erase a person's personal data (the audit chain keeps only their id)."""
    user = db.get_or_404(User, user_id)
    decision = can_manage_users(current_user, user)
    if not decision:
        flash(decision.reason, "danger")
        return redirect(url_for("accounts.list_users")), 303
    reason = request.form.get("reason", "")
    try:
        ops.erase_person(user, actor=current_user, reason=reason)
    except DomainError as err:
        refused = _refused(user, err, "reason", reason)
        status = 422 if err.field else (err.status if err.status >= 400 else 400)
        return _users_page("", _page_of(user), refused, status)
    db.session.commit()
    flash(_("该用户的个人信息已删除，审计链仍然完整。"), "success")
    return redirect(url_for("accounts.list_users"))


@bp.route("/admin/orgs")
@requires("orgs.manage")
def list_orgs():
    """All organisations."""
    page, size = page_args(request)
    kind = request.args.get("kind") or None
    stmt = select(Organisation).order_by(Organisation.kind, Organisation.name)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    orgs, total = page_of(stmt, page, size)
    return render_template(
        "accounts/orgs.html",
        orgs=orgs,
        kind=kind,
        kind_labels=ORG_KIND_LABELS,
        page=page,
        size=size,
        total=total,
    )


@bp.route("/admin/orgs/new", methods=["GET", "POST"])
@requires("orgs.manage")
def new_org():
    """Register an organisation."""
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            ops.create_organisation(
                form.name.data,
                form.kind.data,
                actor=current_user,
                credit_code_text=form.credit_code.data or None,
                city_code=form.city_code.data or None,
                name_en=form.name_en.data or None,
            )
        except DomainError as err:
            status = show_error(form, err)  # before rendering, so the message shows
            return render_template("accounts/org_form.html", form=form), status
        db.session.commit()
        flash(_("单位已登记。"), "success")
        return redirect(url_for("accounts.list_orgs"))
    return render_template("accounts/org_form.html", form=form), 400 if form.errors else 200


@bp.route("/security/users")
@requires("security.manage")
def security_users():
    """Roles, lockouts and sessions of every account."""
    return _security_page(page_args(request))


def _security_page(paging: tuple[int, int], refused: dict | None = None, status: int = 200):
    """The roles page; ``refused`` puts a refused role change beside its row's select."""
    page, size = paging
    total = db.session.scalar(select(func.count(User.id)))
    users = db.session.scalars(
        select(User).order_by(User.id).limit(size).offset((page - 1) * size)
    ).all()
    return render_template(
        "accounts/security.html",
        users=users,
        role_labels=ROLE_LABELS,
        page=page,
        size=size,
        total=total,
        form=RolesForm(),
        refused=refused,
    ), status


@bp.route("/security/users/<int:user_id>/roles", methods=["POST"])
@requires("security.manage")
def set_user_roles(user_id):
    """Replace a user's roles."""
    user = db.get_or_404(User, user_id)
    form = RolesForm()
    chosen = request.form.getlist("roles")
    if not form.validate_on_submit():
        refused = {
            "user_id": user.id,
            "field": "roles",
            "message": _("请至少选择一个角色。"),
            "value": chosen,
        }
        return _security_page(_page_of(user), refused, 422)
    try:
        ops.set_roles(user, form.roles.data, actor=current_user)
    except DomainError as err:
        refused = _refused(user, err, "roles", chosen)
        status = 422 if err.field else (err.status if err.status >= 400 else 400)
        return _security_page(_page_of(user), refused, status)
    db.session.commit()
    flash(_("角色已更新。"), "success")
    return redirect(url_for("accounts.security_users"))


@bp.route("/security/users/<int:user_id>/unlock", methods=["POST"])
@requires("security.manage")
def unlock_user(user_id):
    """Clear a lockout."""
    user = db.get_or_404(User, user_id)
    ops.unlock(user, actor=current_user)  # CSRF is checked globally
    db.session.commit()
    flash(_("账号已解除锁定。"), "success")
    return redirect(url_for("accounts.security_users"))


@bp.route("/security/users/<int:user_id>/sessions", methods=["POST"])
@requires("security.manage")
def end_user_sessions(user_id):
    """End every session of a user."""
    user = db.get_or_404(User, user_id)
    ops.end_sessions(user, actor=current_user)
    db.session.commit()
    flash(_("该用户的所有会话已结束。"), "success")
    return redirect(url_for("accounts.security_users"))


from app.accounts import mfa_views as _mfa_views  # noqa: E402, F401  (routes join bp)
