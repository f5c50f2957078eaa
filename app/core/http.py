"""Request hooks: request id and audit context, deny-by-default permissions,
security headers, and error pages in the user's language."""

from __future__ import annotations

import re

from flask import (
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, logout_user, user_logged_in
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.accounts import operations as accounts
from app.audit import context, trail
from app.core import clock
from app.core.errors import DomainError
from app.core.permissions import has_permission
from app.extensions import db

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def open_request() -> None:
    """Give the request an id and the audit writer its who and where."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else context.new_request_id()
    g.audit_token = context.set_context(
        context.AuditContext(
            ip=request.remote_addr,
            user_agent=(request.user_agent.string or "")[:400],
            request_id=g.request_id,
        )
    )


def close_request(_exc=None) -> None:
    """Drop the request's audit context so nothing leaks into the next one."""
    token = g.pop("audit_token", None)
    if token is not None:
        context.reset(token)


def reject_nul_bytes():
    """A NUL byte is never valid text (PostgreSQL cannot even store it): refuse the request."""
    values = (*request.args.values(), *request.form.values())
    if any("\x00" in value for value in values):
        return error_response(400, _("请求中含有无效字符。"))
    return None


def check_permission():
    """Deny by default: a view without a declared permission is refused."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    needed = getattr(view, "permission", None)
    if request.blueprint == "api":
        return None  # the API authenticates by bearer token in its own hook
    end_expired_session()  # an expired session goes on as anonymous: public pages still show
    user = current_user
    if user.is_authenticated:
        context.update(actor_id=user.id, org_id=user.org_id, actor_role=user.primary_role)
        # Settle the request's language now, while the user is loaded: the first message
        # translated after a commit (the flash before a redirect) would otherwise reload
        # the expired user and their roles just to read their language (two queries).
        get_locale()
    if needed is None:
        # A route nobody declared is a bug: refuse it outright, signed in or not.
        return deny_and_audit("undeclared")
    if has_permission(user, needed):
        return None
    if not user.is_authenticated:
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    return deny_and_audit(needed)


@user_logged_in.connect
def _stamp_login(_sender, user=None, **_extra) -> None:
    """A new login starts both session clocks (absolute lifetime and idle time)."""
    now = int(clock.now().timestamp())
    session["auth_at"] = session["seen_at"] = now


def end_expired_session() -> None:
    """ASVS V7.3: sign out a session idle for ``SESSION_IDLE_MINUTES`` or older than
    ``SESSION_LIFETIME_HOURS`` since its login, whatever the page; audited as
    ``auth.session_expired``, with the reason flashed. The request goes on as anonymous:
    a public page shows (with the message), any other sends to the login page.

    A signed-in session without stamps (issued before they existed) is stamped now;
    a live one has its last activity noted, in steps of a minute: the cookie is then
    signed and sent again once a minute rather than with every response (a session
    may therefore end up to a minute before its full idle time).
    """
    if not current_user.is_authenticated:
        return
    now = int(clock.now().timestamp())
    auth_at, seen_at = session.get("auth_at"), session.get("seen_at")
    if not isinstance(auth_at, int) or not isinstance(seen_at, int):
        session["auth_at"] = session["seen_at"] = now
        return
    config = current_app.config
    if now - auth_at >= config["SESSION_LIFETIME_HOURS"] * 3600:
        reason = "lifetime"
        message = _(
            "登录已超过 %(h)s 小时，为保障账户安全，请重新登录。",
            h=config["SESSION_LIFETIME_HOURS"],
        )
    elif now - seen_at >= config["SESSION_IDLE_MINUTES"] * 60:
        reason = "idle"
        message = _(
            "您已超过 %(m)s 分钟未操作，登录已失效，请重新登录。",
            m=config["SESSION_IDLE_MINUTES"],
        )
    else:
        if now - seen_at >= 60:
            session["seen_at"] = now
        return
    user = current_user._get_current_object()
    db.session.rollback()
    accounts.record_session_expired(user, reason, signed_in_at=auth_at, last_seen_at=seen_at)
    db.session.commit()
    logout_user()
    session.pop("auth_at", None)
    session.pop("seen_at", None)
    flash(message, "warning")


def deny_and_audit(needed: str):
    """Record the refusal in its own transaction and answer 403."""
    db.session.rollback()
    trail.record(
        "permission.denied",
        "route",
        request.endpoint,
        after={"permission": needed, "method": request.method, "path": request.path[:200]},
    )
    db.session.commit()
    return error_response(403, _("您没有访问此页面的权限。"))


def security_headers(response):
    """Headers every response carries."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_app.config.get("HSTS"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if getattr(g, "request_id", None):
        response.headers["X-Request-ID"] = g.request_id
    if request.endpoint != "static":
        # Forced, not defaulted: send_file sets "no-cache", which lets attachments be stored.
        response.headers["Cache-Control"] = "no-store"
    return response


def error_response(status: int, message: str):
    """An error page (or JSON for the API) in the user's language."""
    if wants_json():
        codes = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "too_large",
            422: "invalid",
            429: "rate_limited",
        }
        return jsonify(error={"code": codes.get(status, "error"), "message": message}), status
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app) -> None:
    """Turn refusals into clear 4xx pages; a 500 is logged as the bug it is."""
    messages = {
        400: lambda: _("请求无效。"),
        401: lambda: _("请先登录。"),
        403: lambda: _("您没有访问此页面的权限。"),
        404: lambda: _("页面不存在，或您无权查看。"),
        405: lambda: _("不支持此请求方式。"),
        409: lambda: _("操作冲突，请刷新后重试。"),
        413: lambda: _("上传的内容过大。"),
        429: lambda: _("操作过于频繁，请稍后再试。"),
        500: lambda: _("系统内部错误，已记录。请稍后重试。"),
    }

    @app.errorhandler(CSRFError)
    def _csrf(_err):
        db.session.rollback()
        return error_response(400, _("表单已过期或缺少安全令牌，请刷新页面后重试。"))

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        db.session.rollback()
        return error_response(err.status, err.message)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        db.session.rollback()
        text = messages.get(err.code, lambda: err.description)()
        if err.code == 429:
            text = messages[429]()
        return error_response(err.code or 500, text)

    @app.errorhandler(Exception)
    def _bug(err: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        if app.config.get("TESTING") and app.config.get("PROPAGATE_BUGS", True):
            raise err
        return error_response(500, messages[500]())
