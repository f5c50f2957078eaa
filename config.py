"""Configuration classes; secrets come from the environment only."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET = "dev-only-not-secret"  # noqa: S105 - refused in production


def _database_url(default: str | None) -> str | None:
    """Accept plain postgresql:// and route it to psycopg 3."""
    url = os.environ.get("DATABASE_URL", default)
    if url and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url and url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{BASE_DIR / 'instance' / 'grants.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "files"))
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
    MAX_CONTENT_LENGTH = MAX_UPLOAD_BYTES + 1024 * 1024
    AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY", str(BASE_DIR / "instance" / "keys"))
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    DISPLAY_TIMEZONE = "Asia/Shanghai"
    # Holidays (YYYY-MM-DD) and make-up working days on weekends (调休), for working-day rules.
    HOLIDAYS: tuple[str, ...] = ()
    EXTRA_WORKDAYS: tuple[str, ...] = ()
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Behind a reverse proxy: 1 trusts its X-Forwarded-For/-Proto/-Host (docs/deployment.md).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_IP = "30 per minute"
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 5 minutes"
    LOGIN_LOCKOUT_FAILURES = 5
    LOGIN_LOCKOUT_MINUTES = 15
    PASSWORD_MIN_LENGTH = 10
    PASSWORD_RESET_MAX_AGE = 3600
    # Roles that must use the TOTP second factor (app/accounts/mfa.py); none by default.
    MFA_REQUIRED_ROLES: tuple[str, ...] = ()
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "noreply@grants.example.cn")
    MAIL_PRINT = False
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    HSTS = False
    PREFERRED_URL_SCHEME = "http"


class DevelopmentConfig(Config):
    MAIL_PRINT = True


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = True
    MAIL_PRINT = False
    RATELIMIT_ENABLED = True
    PASSWORD_MIN_LENGTH = 10


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True
    PREFERRED_URL_SCHEME = "https"
    MFA_REQUIRED_ROLES = (
        "officer",
        "approver",
        "finance",
        "auditor",
        "audit_admin",
        "admin",
        "security_admin",
    )
    SQLALCHEMY_DATABASE_URI = _database_url(None)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def validate(config: dict) -> None:
    """Refuse to start with settings that are unsafe in production."""
    if config.get("ENV_NAME") == "production":
        if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET):
            raise RuntimeError("SECRET_KEY must be set in the environment in production")
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            raise RuntimeError("DATABASE_URL must be set in production")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        raise RuntimeError("No database configured (DATABASE_URL)")
