"""Language choice and display formats (Asia/Shanghai times, 元 amounts)."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

from app.core import clock, money


def select_locale() -> str:
    """The signed-in user's choice, then the session's, else Chinese."""
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
    """Jinja filters for amounts and times; the templates' ``_()`` (after Flask-Babel's)."""
    app.jinja_env.filters["yuan"] = money.format_yuan
    app.jinja_env.filters["wanyuan"] = money.format_wanyuan
    app.jinja_env.filters["localtime"] = format_datetime_local
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    # The same newstyle functions without the extension's hops through the template
    # context: its ``_`` calls ``gettext`` which calls the function, and inside a block
    # or a loop each hop first copies the context (a page has 20-90 ``_()``).
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)
    app.jinja_env.globals["ngettext"] = _template_ngettext


@pass_eval_context
def _template_gettext(eval_ctx, string: str, /, **variables) -> str:
    """Jinja's newstyle ``gettext``: translated, escaped when the template autoescapes,
    and always a format string (``%%`` is a percent sign)."""
    text = _translations().ugettext(string)
    if eval_ctx.autoescape:  # the catalogue's text is the template's own, as in Jinja
        text = Markup(text)  # noqa: S704  # nosec B704
    return text % variables


@pass_eval_context
def _template_ngettext(eval_ctx, singular: str, plural: str, num: int, /, **variables) -> str:
    """Jinja's newstyle ``ngettext`` (``num`` is among the variables)."""
    variables.setdefault("num", num)
    text = _translations().ungettext(singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704  # nosec B704
    return text % variables


def _translations():
    """Flask-Babel's translations of the request, found once per request and locale.

    A page calls ``_()`` some 200 times; Flask-Babel looks the context, the domain and
    the locale up again on each call (~10 µs, 1-2 ms a page). The result is kept beside
    Flask-Babel's own cached locale and used while that locale object is the same, so
    ``refresh()`` and ``force_locale()`` take effect exactly as before.
    """
    if not g:
        return get_translations()
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    kept = getattr(ctx, "kept_translations", None)
    if kept is not None and locale is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    ctx = g.get("_flask_babel")
    if ctx is not None:
        ctx.kept_translations = (getattr(ctx, "babel_locale", None), translations)
    return translations
