"""Bind extensions, hooks, blueprints and commands to an app."""

from __future__ import annotations

from flask import Flask
from flask_login import AnonymousUserMixin


class Anonymous(AnonymousUserMixin):
    role_names: set = set()
    primary_role = None
    locale = "zh_CN"
    org_id = None
    id = None

    def has_role(self, *_roles) -> bool:
        return False


def setup(app: Flask) -> None:
    """Everything create_app does after loading the config."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app.accounts.loading import load_session_user
    from app.core import http, i18n
    from app.core.database import (
        configure_engine,
        end_read_only_transaction,
        install_length_guard,
        install_write_counter,
    )
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate

    if app.config.get("TRUSTED_PROXIES"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = "basic"

    login_manager.user_loader(load_session_user)  # one query: user, org, roles, unread count
    install_write_counter()

    with app.app_context():
        configure_engine(db.engine)
    install_length_guard()

    app.before_request(http.open_request)
    app.before_request(http.reject_nul_bytes)
    app.before_request(http.check_permission)
    app.after_request(http.security_headers)
    app.teardown_request(http.close_request)
    app.teardown_request(end_read_only_transaction)  # before the session's removal
    http.register_error_handlers(app)
    i18n.register_filters(app)
    _register_blueprints(app)
    _register_commands(app)
    _register_template_globals(app)


def _register_blueprints(app: Flask) -> None:
    from app.accounts.views import bp as accounts_bp
    from app.api import awards as _api_awards  # noqa: F401  (its routes join the api bp)
    from app.api import calls as _api_calls  # noqa: F401  (its routes join the api bp)
    from app.api import evaluations as _api_evaluations  # noqa: F401  (its routes join the api bp)
    from app.api import ledger as _api_ledger  # noqa: F401  (its routes join the api bp)
    from app.api import projects as _api_projects  # noqa: F401  (its routes join the api bp)
    from app.api import reviews as _api_reviews  # noqa: F401  (its routes join the api bp)
    from app.api import stations as _api_stations  # noqa: F401  (its routes join the api bp)
    from app.api.views import bp as api_bp
    from app.applications.check_views import bp as eligibility_bp
    from app.applications.views import bp as applications_bp
    from app.audit.views import bp as audit_bp
    from app.awards.views import bp as awards_bp
    from app.calls.society_views import bp as societies_bp
    from app.calls.views import bp as calls_bp
    from app.dashboard.views import bp as dashboard_bp
    from app.evaluation.views import bp as evaluation_bp
    from app.home.views import bp as home_bp
    from app.ledger.views import bp as ledger_bp
    from app.projects.views import bp as projects_bp
    from app.reviews.views import bp as reviews_bp
    from app.stations.views import bp as stations_bp

    blueprints = (
        home_bp,
        accounts_bp,
        audit_bp,
        ledger_bp,
        api_bp,
        calls_bp,
        societies_bp,
        applications_bp,
        eligibility_bp,
        reviews_bp,
        awards_bp,
        projects_bp,
        evaluation_bp,
        dashboard_bp,
        stations_bp,
    )
    for bp in blueprints:
        app.register_blueprint(bp)


def _register_commands(app: Flask) -> None:
    from app.accounts.cli import people_cli, tokens_cli, users_cli
    from app.audit.cli import audit_cli, export_cli
    from app.awards.cli import awards_cli
    from app.core.cli import (
        backup_command,
        files_cli,
        outbox_cli,
        restore_command,
        tick_command,
        worker_command,
    )
    from app.demo import demo_command
    from app.projects.cli import reminders_cli
    from app.reviews.cli import review_cli, rubric_cli

    for command in (
        users_cli,
        tokens_cli,
        people_cli,
        audit_cli,
        export_cli,
        files_cli,
        outbox_cli,
        tick_command,
        worker_command,
        backup_command,
        restore_command,
        demo_command,
        review_cli,
        rubric_cli,
        reminders_cli,
        awards_cli,
    ):
        app.cli.add_command(command)


def _register_template_globals(app: Flask) -> None:
    from flask_babel import get_locale

    from app.accounts.loading import unread_badge
    from app.core.permissions import has_permission
    from app.home.header import header_menu
    from app.home.navigation import navigation_for

    app.jinja_env.globals.update(
        has_permission=has_permission,
        navigation_for=navigation_for,
        get_locale=get_locale,
        unread_badge=unread_badge,
        header_menu=header_menu,
    )
