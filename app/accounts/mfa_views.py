"""The second factor's pages: the login's second step, enrolment, turning it off,
and the security administrator's reset (recovery). Routes join the accounts blueprint."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from app.accounts import mfa
from app.accounts.forms import MfaCodeForm, ReasonForm
from app.accounts.models import User
from app.accounts.views import bp
from app.core import clock
from app.core.errors import DomainError, ValidationFailed
from app.core.http import error_response
from app.core.permissions import PUBLIC, requires
from app.extensions import db, limiter


@bp.route("/login/mfa", methods=["GET", "POST"])
@requires(PUBLIC)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
def mfa_verify():
    """The second step of a login: the code from the authenticator app."""
    pending = session.get("mfa_pending") or {}
    user = db.session.get(User, pending["user"]) if pending.get("user") else None
    fresh = clock.now().timestamp() - pending.get("at", 0) < mfa.PENDING_SECONDS
    if not (user and fresh and user.is_active and user.mfa_enabled) or (
        user.session_version != pending.get("version")
    ):
        session.pop("mfa_pending", None)
        flash(_("请重新输入邮箱和密码。"), "warning")
        return redirect(url_for("accounts.login"))
    form = MfaCodeForm()
    if form.validate_on_submit():
        if mfa.verify_login(user, form.code.data):
            db.session.commit()
            session.pop("mfa_pending", None)
            login_user(user)
            session["locale"] = user.locale
            return redirect(pending["next"])
        db.session.commit()  # keep the audit event and the failure count
        pending["tries"] = pending.get("tries", 0) + 1
        if pending["tries"] >= mfa.MAX_TRIES:
            session.pop("mfa_pending", None)
            flash(_("验证码错误次数过多，请重新登录。"), "danger")
            return redirect(url_for("accounts.login"))
        session["mfa_pending"] = pending
        flash(_("验证码不正确。"), "danger")
        return render_template("accounts/mfa_verify.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/mfa_verify.html", form=form), status


_ENROLMENT_ENDPOINTS = {
    "accounts.mfa_setup",
    "accounts.mfa_enable",
    "accounts.logout",
    "accounts.set_language",
    "accounts.login",
    "accounts.mfa_verify",
    "static",
}


@bp.before_app_request
def require_mfa_enrolment():
    """Where the second factor is required, an account without it may only enrol."""
    if request.endpoint in _ENROLMENT_ENDPOINTS or request.blueprint == "api":
        return None
    user = current_user
    if user.is_authenticated and not user.mfa_enabled and mfa.required(user):
        if request.method == "GET":
            return redirect(url_for("accounts.mfa_setup"))
        return error_response(403, _("您的岗位必须启用两步验证，请先完成设置。"))
    return None


@bp.route("/account/mfa")
@requires("account.mfa")
def mfa_setup():
    """Enrol in (or see) the TOTP second factor: the secret and otpauth URI as text."""
    secret = uri = None
    if not current_user.mfa_enabled:
        secret = session.get("mfa_secret") or mfa.new_secret()
        session["mfa_secret"] = secret
        uri = mfa.provisioning_uri(current_user, secret)
    return render_template(
        "accounts/mfa_setup.html",
        form=MfaCodeForm(),
        secret=secret,
        uri=uri,
        required=mfa.required(current_user),
    )


@bp.route("/account/mfa", methods=["POST"])
@requires("account.mfa")
def mfa_enable():
    """Confirm enrolment with a first code; other sessions end."""
    form = MfaCodeForm()
    secret = session.get("mfa_secret")
    if not (form.validate_on_submit() and secret):
        flash(_("请输入验证器显示的6位验证码。"), "danger")
        return redirect(url_for("accounts.mfa_setup")), 303
    try:
        mfa.enable(current_user, secret, form.code.data, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("accounts.mfa_setup")), 303
    db.session.commit()
    session.pop("mfa_secret", None)
    login_user(current_user._get_current_object())  # this session carries on
    flash(_("两步验证已启用。"), "success")
    return redirect(url_for("accounts.mfa_setup"))


@bp.route("/account/mfa/disable", methods=["POST"])
@requires("account.mfa")
def mfa_disable():
    """Turn one's own second factor off (not where it is required)."""
    form = MfaCodeForm()
    try:
        if not form.validate_on_submit():
            raise ValidationFailed(_("请输入验证器显示的6位验证码。"))
        mfa.disable(current_user, form.code.data, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("accounts.mfa_setup")), 303
    db.session.commit()
    flash(_("两步验证已关闭。"), "success")
    return redirect(url_for("accounts.mfa_setup"))


@bp.route("/security/users/<int:user_id>/mfa", methods=["POST"])
@requires("security.manage")
def reset_user_mfa(user_id):
    """Recovery: remove a user's second factor so they can enrol again (audited)."""
    user = db.get_or_404(User, user_id)
    form = ReasonForm()
    try:
        form.validate_on_submit()
        mfa.reset(user, actor=current_user, reason=form.reason.data or "")
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "danger")
        return redirect(url_for("accounts.security_users")), 303
    db.session.commit()
    flash(_("已重置该用户的两步验证，其所有会话已结束。"), "success")
    return redirect(url_for("accounts.security_users"))
