"""Organisations, users, their roles, and API tokens."""

from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.permissions import ROLES
from app.extensions import db

ORG_KINDS = (
    "department",
    "society",
    "local_government",
    "evaluation_agency",
    "finance",
    "audit",
    "enterprise",
    "expert_org",
)
ROLE_ORDER = {role: i for i, role in enumerate(ROLES)}


class Organisation(db.Model):
    """A society, government, agency, department, company or an expert's employer."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    city_code: Mapped[str | None] = mapped_column(String(6))
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    credit_status: Mapped[str] = mapped_column(String(16), default="good", server_default="good")
    banned_until: Mapped[date | None] = mapped_column(Date)
    ban_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)

    __table_args__ = (
        CheckConstraint(f"kind IN {ORG_KINDS}", name="kind_valid"),
        CheckConstraint(
            "credit_status IN ('good', 'warning', 'banned')", name="credit_status_valid"
        ),
        CheckConstraint(
            "(banned_until IS NULL) OR (ban_reason IS NOT NULL)", name="ban_has_reason"
        ),
    )

    def is_banned(self, on: date | None = None) -> bool:
        """Whether a ban is in force on ``on`` (today by default)."""
        return self.banned_until is not None and (on or clock.today()) <= self.banned_until


class User(UserMixin, db.Model):
    """A person who logs in. Never deleted: disabled, or erased of personal data."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN", server_default="zh_CN")
    notify_by_mail: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Bumped to end every other session (password change, disabling, forced logout).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    # TOTP second factor (app/accounts/mfa.py): the secret is stored encrypted, never audited.
    totp_secret: Mapped[str | None] = mapped_column(String(300))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code is used only once
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    mfa_exempt: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    org: Mapped[Organisation] = relationship(lazy="joined")
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("locale IN ('zh_CN', 'en')", name="locale_valid"),
        CheckConstraint("NOT mfa_enabled OR totp_secret IS NOT NULL", name="mfa_has_secret"),
    )

    def get_id(self) -> str:
        """Flask-Login id carrying the session version, so old sessions stop working."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login's name
        return self.is_enabled and self.erased_at is None

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    @property
    def primary_role(self) -> str | None:
        """The role shown and recorded when the acting role is not otherwise known."""
        names = sorted(self.role_names, key=ROLE_ORDER.get)
        return names[0] if names else None

    def has_role(self, *roles: str) -> bool:
        """Whether the user holds any of ``roles``."""
        return bool(self.role_names & set(roles))


class UserRole(db.Model):
    """One role held by one user."""

    __tablename__ = "user_role"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="roles")

    __table_args__ = (
        db.UniqueConstraint("user_id", "role", name="uq_user_role_user_id_role"),
        CheckConstraint(f"role IN {ROLES}", name="role_valid"),
    )


class ApiToken(db.Model):
    """A bearer token for the auditors' API; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")
