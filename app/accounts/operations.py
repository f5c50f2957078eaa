"""Account operations: each flushes, audits, and never commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.accounts import credit_code
from app.accounts.models import ORG_KINDS, ApiToken, Organisation, User, UserRole
from app.accounts.permissions import (
    can_assign_roles,
    can_manage_sessions,
    can_manage_users,
    check_role_set,
)
from app.audit import trail
from app.core import clock
from app.core.errors import Conflict, DomainError, NotAllowed, ValidationFailed
from app.core.outbox import queue_mail
from app.core.permissions import ROLES
from app.extensions import db

_hasher = PasswordHasher()
# A hash of a random password: verifying against it for unknown users costs the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class LoginFailed(DomainError):
    status = 401


def _require(decision) -> None:
    if not decision:
        raise NotAllowed(decision.reason)


def check_password_policy(password: str, email: str = "") -> None:
    """Minimum length, letters and digits, not the e-mail address."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password or "") < minimum:
        raise ValidationFailed(_("密码至少需要 %(n)s 个字符。", n=minimum), field="password")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise ValidationFailed(_("密码必须同时包含字母和数字。"), field="password")
    if email and password.lower() == email.lower():
        raise ValidationFailed(_("密码不能与邮箱相同。"), field="password")


def hash_password(password: str) -> str:
    """Argon2id hash."""
    return _hasher.hash(password)


def create_organisation(
    name: str,
    kind: str,
    *,
    actor,
    credit_code_text: str | None = None,
    city_code: str | None = None,
    name_en: str | None = None,
    is_verified: bool = True,
) -> Organisation:
    """Create an organisation.

    Raises ``ValidationFailed`` for an unknown kind or an invalid unified social
    credit code, ``Conflict`` when the name or code is taken. Audited as ``org.create``.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写单位名称。"), field="name")
    if kind not in ORG_KINDS:
        raise ValidationFailed(_("单位类型无效。"), field="kind")
    code = credit_code.normalise(credit_code_text) if credit_code_text else None
    if code and not credit_code.is_valid(code):
        raise ValidationFailed(
            _("统一社会信用代码无效（应为18位且校验位正确）。"), field="credit_code"
        )
    if db.session.scalar(select(Organisation.id).where(Organisation.name == name)):
        raise Conflict(_("单位名称已存在。"), field="name")
    if code and db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise Conflict(_("统一社会信用代码已登记。"), field="credit_code")
    org = Organisation(
        name=name,
        kind=kind,
        credit_code=code,
        city_code=city_code,
        name_en=name_en,
        is_verified=is_verified,
    )
    db.session.add(org)
    db.session.flush()
    trail.record(
        "org.create",
        "organisation",
        org.id,
        actor=actor,
        after={"name": name, "kind": kind, "credit_code": code},
    )
    return org


def create_user(
    email: str,
    name: str,
    org_id: int,
    roles,
    *,
    actor,
    password: str | None = None,
    bootstrap: bool = False,
) -> User:
    """Create an account with its roles.

    ``bootstrap`` (the CLI) skips the actor's permission check. Raises
    ``ValidationFailed`` (bad e-mail, weak password, unknown role, 三员分立),
    ``Conflict`` (e-mail taken), ``NotAllowed``. Audited as ``user.create``.
    """
    email = (email or "").strip().lower()
    roles = sorted(set(roles))
    if not bootstrap:
        _require(can_manage_users(actor))
        _require(can_assign_roles(actor, None, roles))
    if not EMAIL_RE.match(email):
        raise ValidationFailed(_("邮箱格式不正确。"), field="email")
    if not (name or "").strip():
        raise ValidationFailed(_("请填写姓名。"), field="name")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValidationFailed(_("角色无效。"), field="roles")
    if problem := check_role_set(roles):
        raise ValidationFailed(problem, field="roles")
    if db.session.get(Organisation, org_id) is None:
        raise ValidationFailed(_("所属单位不存在。"), field="org_id")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(_("该邮箱已被使用。"), field="email")
    if password is not None:
        check_password_policy(password, email)
    user = User(
        email=email,
        name=name.strip(),
        org_id=org_id,
        password_hash=hash_password(password) if password else None,
        password_changed_at=clock.now() if password else None,
    )
    user.roles = [UserRole(role=r) for r in roles]
    db.session.add(user)
    db.session.flush()
    trail.record(
        "user.create", "user", user.id, actor=actor, after={"org_id": org_id, "roles": roles}
    )
    return user


def set_roles(user: User, roles, *, actor) -> None:
    """Replace a user's roles (security admin). Ends the user's sessions."""
    roles = sorted(set(roles))
    _require(can_assign_roles(actor, user, roles))
    if not roles or any(r not in ROLES for r in roles):
        raise ValidationFailed(_("角色无效。"), field="roles")
    if problem := check_role_set(roles):
        raise ValidationFailed(problem, field="roles")
    before = sorted(user.role_names)
    user.roles = [UserRole(role=r) for r in roles]
    user.session_version += 1
    db.session.flush()
    trail.record(
        "user.set_roles",
        "user",
        user.id,
        actor=actor,
        before={"roles": before},
        after={"roles": roles},
    )


def set_enabled(user: User, enabled: bool, *, actor, reason: str | None = None) -> None:
    """Disable (ending every session) or re-enable an account."""
    _require(can_manage_users(actor, user))
    if user.is_enabled == enabled:
        return
    user.is_enabled = enabled
    user.session_version += 1
    db.session.flush()
    trail.record(
        "user.enable" if enabled else "user.disable",
        "user",
        user.id,
        actor=actor,
        before={"is_enabled": not enabled},
        after={"is_enabled": enabled},
        reason=reason,
    )


def unlock(user: User, *, actor) -> None:
    """Clear a lockout after failed logins."""
    _require(can_manage_sessions(actor, user))
    user.failed_logins, user.locked_until = 0, None
    trail.record("user.unlock", "user", user.id, actor=actor)


def end_sessions(user: User, *, actor) -> None:
    """Force every session of ``user`` to log in again."""
    _require(can_manage_sessions(actor, user))
    user.session_version += 1
    trail.record("user.end_sessions", "user", user.id, actor=actor)


def authenticate(email: str, password: str) -> User:
    """Check credentials; returns the user or raises a generic ``LoginFailed``.

    Failures are audited (``auth.login_failed``) and, after the configured
    number in a row, lock the account for a while. Unknown e-mails cost the
    same time as known ones.
    """
    generic = LoginFailed(_("邮箱或密码不正确。"))
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
    if user is None or not user.password_hash:
        _verify(_DUMMY_HASH, password or "")
        trail.record("auth.login_failed", "user", None, after={"reason": "unknown_user"})
        raise generic
    now = clock.now()
    if user.locked_until and clock.as_utc(user.locked_until) > now:
        trail.record("auth.login_failed", "user", user.id, after={"reason": "locked"})
        raise generic
    if not _verify(user.password_hash, password or ""):
        user.failed_logins += 1
        reason = "bad_password"
        if user.failed_logins >= current_app.config["LOGIN_LOCKOUT_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            reason = "locked_after_failures"
        trail.record("auth.login_failed", "user", user.id, after={"reason": reason})
        raise generic
    if not user.is_active:
        trail.record("auth.login_failed", "user", user.id, after={"reason": "disabled"})
        raise generic
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    trail.record("auth.login", "user", user.id, actor=user)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def record_logout(user: User) -> None:
    """Audit a logout."""
    trail.record("auth.logout", "user", user.id, actor=user)


def record_session_expired(
    user: User, reason: str, *, signed_in_at: int, last_seen_at: int
) -> None:
    """Audit the sign-out of a session that was idle too long or lived too long
    (``reason`` "idle" or "lifetime"; the two times are Unix seconds)."""
    trail.record(
        "auth.session_expired",
        "user",
        user.id,
        actor=user,
        after={
            "reason": reason,
            "signed_in_at": clock.rfc3339(datetime.fromtimestamp(signed_in_at, UTC)),
            "last_seen_at": clock.rfc3339(datetime.fromtimestamp(last_seen_at, UTC)),
        },
    )


def change_password(user: User, old: str, new: str, *, actor) -> None:
    """Change one's own password; every other session ends."""
    if actor.id != user.id or not _verify(user.password_hash or "", old or ""):
        raise ValidationFailed(_("原密码不正确。"), field="old_password")
    check_password_policy(new, user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    user.session_version += 1
    trail.record("auth.password_change", "user", user.id, actor=actor)


class _ClockSigner(TimestampSigner):
    """Timestamps from the app's clock (itsdangerous reads time.time), so tests can move it."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt="password-reset", signer=_ClockSigner
    )


def _fingerprint(user: User) -> str:
    # Changes when the password does, so a used link can never be used again.
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """Mail a signed, single-use, expiring link; says nothing about unknown e-mails."""
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None
    if user is None or not user.is_active:
        return
    token = _reset_serializer().dumps({"u": user.id, "f": _fingerprint(user)})
    link = url_for("accounts.reset_password", token=token)
    queue_mail(
        user, _("重置密码"), _("请在一小时内打开以下链接重置密码；如非本人操作请忽略。"), link=link
    )
    trail.record("auth.password_reset_requested", "user", user.id)


def user_for_reset_token(token: str) -> User:
    """The user a reset link belongs to, or ``ValidationFailed`` if expired, used or forged."""
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except SignatureExpired as exc:
        raise ValidationFailed(_("重置链接已过期，请重新申请。")) from exc
    except BadSignature as exc:
        raise ValidationFailed(_("重置链接无效。")) from exc
    user = db.session.get(User, data.get("u"))
    if user is None or not user.is_active or data.get("f") != _fingerprint(user):
        raise ValidationFailed(_("重置链接已使用或无效，请重新申请。"))
    return user


def reset_password(token: str, new: str) -> User:
    """Set a new password from a reset link; the link stops working."""
    user = user_for_reset_token(token)
    check_password_policy(new, user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    user.session_version += 1
    user.failed_logins, user.locked_until = 0, None
    trail.record("auth.password_reset", "user", user.id, actor=user)
    return user


def set_locale(user: User, locale: str) -> None:
    """Remember the user's language."""
    if locale not in ("zh_CN", "en"):
        raise ValidationFailed(_("不支持的语言。"))
    user.locale = locale


def create_api_token(user: User, *, actor) -> tuple[ApiToken, str]:
    """A new bearer token for ``user``; returns the row and the token, shown once."""
    plain = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hashlib.sha256(plain.encode()).hexdigest())
    db.session.add(row)
    db.session.flush()
    trail.record("token.create", "api_token", row.id, actor=actor, after={"user_id": user.id})
    return row, plain


def revoke_api_token(row: ApiToken, *, actor) -> None:
    """Revoke a token; it answers 401 from then on."""
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        trail.record(
            "token.revoke", "api_token", row.id, actor=actor, after={"user_id": row.user_id}
        )


def user_for_token(plain: str) -> User | None:
    """The active user behind a bearer token, or ``None``."""
    digest = hashlib.sha256((plain or "").encode()).hexdigest()
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    return row.user


def erase_person(user: User, *, actor, reason: str) -> None:
    """Erase a person's personal data (name, e-mail, phone, password) and keep the chain valid.

    Audit payloads only ever hold the user's id, so every hash stays valid.
    Raises ``ValidationFailed`` without a reason; audited as ``person.erase``.
    """
    if not (reason or "").strip():
        raise ValidationFailed(_("请填写理由。"), field="reason")
    if user.erased_at is not None:
        return
    user.name = f"已删除用户{user.id}"
    user.email = f"erased-{user.id}@erased.invalid"
    user.phone = None
    user.password_hash = None
    user.is_enabled = False
    user.erased_at = clock.now()
    user.session_version += 1
    db.session.flush()
    trail.record("person.erase", "user", user.id, actor=actor, reason=reason.strip())
