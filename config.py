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
    # Sessions (ASVS V7.3): signed out after this many minutes without a request, and
    # this many hours after signing in whatever the activity (app/core/http.py).
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", 30))
    SESSION_LIFETIME_HOURS = int(os.environ.get("SESSION_LIFETIME_HOURS", 12))
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
    # --- expert review (app/reviews) ---
    # Conflicts: employment or directorship at an applicant's organisation within this
    # many years, and collaboration within this many years of its end, exclude an expert.
    REVIEW_EMPLOYMENT_YEARS = int(os.environ.get("REVIEW_EMPLOYMENT_YEARS", 3))
    REVIEW_COLLABORATION_YEARS = int(os.environ.get("REVIEW_COLLABORATION_YEARS", 3))
    # Draw: ranked reserve experts kept per application (replace a decline or recusal).
    REVIEW_RESERVE_SIZE = int(os.environ.get("REVIEW_RESERVE_SIZE", 10))
    # Draw: solved inline up to this many (application, candidate expert) pairs,
    # above it as a background job with progress.
    REVIEW_DRAW_INLINE_MAX = int(os.environ.get("REVIEW_DRAW_INLINE_MAX", 50_000))
    # Expert credit: an average rating (100-point scale) below this flags the expert.
    REVIEW_CREDIT_FLAG_BELOW = int(os.environ.get("REVIEW_CREDIT_FLAG_BELOW", 60))
    # 专家咨询费 per reviewed application, in fen: senior title / others.
    REVIEW_FEE_SENIOR_FEN = int(os.environ.get("REVIEW_FEE_SENIOR_FEN", 50_000))
    REVIEW_FEE_OTHER_FEN = int(os.environ.get("REVIEW_FEE_OTHER_FEN", 30_000))
    # Panel review (会议评审): at most this many members from one organisation; the panel
    # day fee in fen by title (senior / others); a half day pays this % of a day.
    REVIEW_PANEL_MAX_PER_ORG = int(os.environ.get("REVIEW_PANEL_MAX_PER_ORG", 2))
    # Exports with more rows than this are generated as a background job, not inline.
    EXPORT_INLINE_MAX_ROWS = int(os.environ.get("EXPORT_INLINE_MAX_ROWS", 20000))
    REVIEW_PANEL_DAY_SENIOR_FEN = int(os.environ.get("REVIEW_PANEL_DAY_SENIOR_FEN", 200_000))
    REVIEW_PANEL_DAY_OTHER_FEN = int(os.environ.get("REVIEW_PANEL_DAY_OTHER_FEN", 120_000))
    REVIEW_PANEL_HALF_DAY_PCT = int(os.environ.get("REVIEW_PANEL_HALF_DAY_PCT", 60))
    # Rows per page on the draw page's assignment list and the ranking table.
    REVIEW_PAGE_SIZE = int(os.environ.get("REVIEW_PAGE_SIZE", 100))
    # --- projects (app/projects) ---
    # 结题报告: the closing report is due this many days after the project's planned end
    # (DOMAIN.md 12, "within 60 days of the end"); the tick flags it overdue afterwards.
    CLOSING_REPORT_DAYS = int(os.environ.get("CLOSING_REPORT_DAYS", 60))


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
