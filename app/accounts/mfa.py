"""Optional TOTP second factor (RFC 6238) for department, finance and audit roles.

The secret is stored encrypted (Fernet, key derived from ``SECRET_KEY``) and
never enters an audit payload; a code is accepted once (the last used time step
is kept). ``MFA_REQUIRED_ROLES`` (set in production) makes the second factor
mandatory for those roles unless the user is ``mfa_exempt`` (the demo's
accounts). Recovery is the security administrator's reset, audited. Each
operation flushes, audits and never commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from flask_babel import gettext as _

from app.accounts.models import User
from app.accounts.permissions import can_manage_sessions
from app.audit import trail
from app.core import clock
from app.core.errors import NotAllowed, ValidationFailed
from app.core.permissions import register_permissions

# Roles whose work is sensitive enough to be offered (and in production required) a factor.
MFA_ROLES = ("officer", "approver", "finance", "auditor", "audit_admin", "admin", "security_admin")
register_permissions({"account.mfa": set(MFA_ROLES)})
MAX_TRIES = 5  # codes per password step; then the password again
PENDING_SECONDS = 300
ISSUER = "学会服务专项资金"
STEP = 30
DRIFT_STEPS = 1  # one step either side: clocks of phones drift


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"totp-secret-v1\n" + current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def _seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _open(sealed: str) -> str | None:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None  # SECRET_KEY changed: the security admin resets the factor


def offered(user) -> bool:
    """Whether the user holds a role for which the second factor is offered."""
    return bool(user.role_names & set(MFA_ROLES))


def required(user) -> bool:
    """Whether this user must use a second factor (config, unless exempt)."""
    needed = set(current_app.config.get("MFA_REQUIRED_ROLES") or ())
    return bool(user.role_names & needed) and not user.mfa_exempt


def new_secret() -> str:
    """A fresh base32 secret for enrolment (kept in the session until confirmed)."""
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads (shown as text)."""
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step ``code`` belongs to (within the allowed drift), or None."""
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now = clock.now()
    current = int(now.timestamp()) // STEP
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enable(user: User, secret: str, code: str, *, actor) -> None:
    """Turn the factor on after the user proves the authenticator shows ``code``.

    Raises ``NotAllowed`` (someone else's account, a role without the factor)
    and ``ValidationFailed`` (wrong code). Other sessions end. Audited as
    ``auth.mfa_enable`` (no secret).
    """
    if actor.id != user.id or not offered(user):
        raise NotAllowed(_("只有学会部、财务和审计等岗位的本人可以启用两步验证。"))
    step = _matching_step(secret, code)
    if step is None:
        raise ValidationFailed(_("验证码不正确，请核对手机时间后重试。"), field="code")
    user.totp_secret = _seal(secret)
    user.totp_last_step = step
    user.mfa_enabled = True
    user.session_version += 1
    trail.record("auth.mfa_enable", "user", user.id, actor=actor)


def disable(user: User, code: str, *, actor) -> None:
    """Turn one's own factor off with a current code, unless it is required."""
    if actor.id != user.id:
        raise NotAllowed(_("只能关闭自己的两步验证。"))
    if required(user):
        raise NotAllowed(_("您的岗位必须使用两步验证，不能关闭。"))
    if not user.mfa_enabled or not check(user, code):
        raise ValidationFailed(_("验证码不正确。"), field="code")
    _clear(user)
    trail.record("auth.mfa_disable", "user", user.id, actor=actor)


def check(user: User, code: str) -> bool:
    """Whether ``code`` is a current, unused code of ``user``; marks it used."""
    secret = _open(user.totp_secret) if user.totp_secret else None
    step = _matching_step(secret, code) if secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def verify_login(user: User, code: str) -> bool:
    """The second step of a login: a current, unused code. Failures count toward the
    lockout like bad passwords. Audited as ``auth.mfa_verified`` / ``auth.mfa_failed``."""
    now = clock.now()
    if user.locked_until and clock.as_utc(user.locked_until) > now:
        trail.record("auth.mfa_failed", "user", user.id, after={"reason": "locked"})
        return False
    if check(user, code):
        user.failed_logins = 0
        trail.record("auth.mfa_verified", "user", user.id, actor=user)
        return True
    user.failed_logins += 1
    reason = "bad_code"
    if user.failed_logins >= current_app.config["LOGIN_LOCKOUT_FAILURES"]:
        user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        reason = "locked_after_failures"
    trail.record("auth.mfa_failed", "user", user.id, after={"reason": reason})
    return False


def reset(target: User, *, actor, reason: str) -> None:
    """Recovery: the security administrator removes a user's factor (they enrol again).

    Raises ``NotAllowed`` (not a security admin, or their own account) and
    ``ValidationFailed`` without a reason. Ends the user's sessions. Audited as
    ``auth.mfa_reset`` with the reason.
    """
    decision = can_manage_sessions(actor, target)
    if not decision:
        raise NotAllowed(decision.reason)
    if target.id == actor.id:
        raise NotAllowed(_("不能重置自己的两步验证，请由另一位安全保密管理员处理。"))
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写理由。"), field="reason")
    was_enabled = target.mfa_enabled
    _clear(target)
    target.session_version += 1
    trail.record(
        "auth.mfa_reset",
        "user",
        target.id,
        actor=actor,
        before={"mfa_enabled": was_enabled},
        after={"mfa_enabled": False},
        reason=reason.strip(),
    )


def _clear(user: User) -> None:
    user.mfa_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
