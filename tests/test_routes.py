"""Every route declares its permission; an undeclared one is refused."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.permissions import AUTHENTICATED, PERMISSIONS, PUBLIC, requires
from app.extensions import db
from tests import factories
from tests.conftest import login, make_app


def test_every_route_declares_a_permission(app):
    missing = []
    unknown = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "permission", None)
        if permission is None:
            missing.append(f"{rule.endpoint} {rule.rule}")
        elif permission not in (PUBLIC, AUTHENTICATED) and permission not in PERMISSIONS:
            unknown.append(f"{rule.endpoint} {rule.rule} ({permission})")
    assert not missing, "routes without @requires:\n" + "\n".join(sorted(missing))
    assert not unknown, "routes with unknown permissions:\n" + "\n".join(sorted(unknown))


def test_undeclared_route_is_denied_for_everyone(databases, tmp_path):
    application = make_app(databases.new_url(), tmp_path / "files")

    @application.route("/undeclared")
    def undeclared():
        return "should never be served"

    @application.route("/api/v1/undeclared")
    def api_undeclared():
        return "should never be served"

    @application.route("/declared")
    @requires(AUTHENTICATED)
    def declared():
        return "served"

    try:
        with application.app_context():
            user = factories.user("officer")
            db.session.commit()
            client = application.test_client()
            anonymous = client.get("/undeclared")
            assert anonymous.status_code == 403
            assert "should never be served" not in anonymous.get_data(as_text=True)
            assert "您没有访问此页面的权限" in anonymous.get_data(as_text=True)
            login(client, user)
            assert client.get("/declared").get_data(as_text=True) == "served"
            signed_in = client.get("/undeclared")
            assert signed_in.status_code == 403
            denials = db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "permission.denied")
            ).all()
            assert [(e.entity_id, e.after["permission"]) for e in denials] == [
                ("undeclared", "undeclared"),
                ("undeclared", "undeclared"),
            ]
            assert denials[1].actor_id == user.id
            db.session.remove()
    finally:
        with application.app_context():
            db.engine.dispose()
