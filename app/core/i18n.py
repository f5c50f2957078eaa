"""Language choice and display formats (Asia/Shanghai times, 元 amounts)."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

from app.core import clock, money


def select_locale() -> str:
    """The signed-in user's choice, then the session's, else Chinese."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # CLI, worker, tests
    if not has_request_context():
        # CLI commands, the worker and tests: messages raised there are read in Chinese.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if getattr(current_user, "is_authenticated", False):
        return current_user.locale
    chosen = session.get("locale")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    if request.accept_languages.best_match(["zh_CN", "zh", "en"]) == "en":
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["DISPLAY_TIMEZONE"]


def format_datetime_local(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as Beijing time."""
    return clock.local(value).strftime(fmt) if value else ""


def register_filters(app) -> None:
    """Jinja filters for amounts and times."""
    app.jinja_env.filters["yuan"] = money.format_yuan
    app.jinja_env.filters["wanyuan"] = money.format_wanyuan
    app.jinja_env.filters["localtime"] = format_datetime_local
