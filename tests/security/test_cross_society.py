"""Nobody reaches another society's objects: for every route with an object id in its
URL, every verb, a user of another society, the co-builder of another society, a
reviewer who was not assigned, an evaluator with no engagement and a park company
get 403 or 404 — never the object, never a redirect that did something, never a 500.

The walk comes from ``app.url_map``, so a new route is covered the day it appears.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from tests.security import world as worlds
from tests.security.access_matrix import MATRIX, covered_rules, url_for_rule
from tests.security.clients import clients_for, post_with_token
from tests.security.world import SECRET_AWARD_TITLE, SECRET_DRAFT_TITLE, SECRET_TITLE

SECRETS = (SECRET_TITLE, SECRET_DRAFT_TITLE, SECRET_AWARD_TITLE)
# Routes whose object is public by design (a published call, a public notice that
# anyone may object to); the permission is PUBLIC and the matrix says so.
PUBLIC_OBJECTS = {
    "calls.show_call": "a published call's guide is public",
    "awards.show_notice": "the public notice (立项公示) is public by law",
    "awards.notice_pdf": "the public notice (立项公示) is public by law",
    "awards.file_objection": "anyone may object during the notice period",
    "accounts.reset_password": "a signed token, not an object id",
}


def _object_routes(app):
    for rule in covered_rules(app):
        if rule.endpoint == "static" or not rule.arguments:
            continue
        if rule.endpoint in PUBLIC_OBJECTS:
            continue
        yield rule


def _ids(world) -> dict:
    return {**world.ids, "draft_id": world.objects.draft_a.id, "reset_token": "x"}


def _sweep(app, clients: dict, ids: dict) -> list[str]:
    wrong = []
    for rule in _object_routes(app):
        path = url_for_rule(app, rule, MATRIX[rule.endpoint], ids)
        for verb in sorted(rule.methods & {"GET", "POST"}):
            for who, client in clients.items():
                if verb == "GET":
                    response = client.get(path)
                else:
                    response = post_with_token(client, path, {"reason": "x", "action": "accept"})
                body = response.get_data().decode("utf-8", "replace")
                leaked = [s for s in SECRETS if s in body]
                if response.status_code not in (403, 404) or leaked:
                    wrong.append(
                        f"{who:>22} {verb} {path} ({rule.endpoint}): {response.status_code}"
                        + (f" leaks {leaked}" if leaked else "")
                    )
                db.session.rollback()
    return wrong


def test_outsiders_get_403_or_404_on_every_object_route(app, session):
    world = worlds.build()
    session.commit()
    clients = clients_for(app, world, world.outsiders)
    clients.pop("anonymous")
    events = session.scalar(select(func.count(AuditEvent.seq)))
    wrong = _sweep(app, clients, _ids(world))
    assert not wrong, f"{len(wrong)} cross-society answers:\n" + "\n".join(wrong)
    # Nothing happened but refusals: every new event is a recorded permission denial.
    new = session.scalars(select(AuditEvent.action).where(AuditEvent.seq > events)).all()
    assert set(new) <= {"permission.denied"}, sorted(set(new))


def test_the_co_builder_never_sees_the_draft(app, session):
    world = worlds.build()
    session.commit()
    clients = clients_for(app, world, {"own_local_partner": world.users["local_partner"]})
    clients.pop("anonymous")
    ids = {**_ids(world), "app_id": world.objects.draft_a.id}
    wrong = [w for w in _sweep(app, clients, ids) if "/applications/" in w]
    assert not wrong, "\n".join(wrong)


def test_outsiders_lists_never_show_another_societys_objects(app, session):
    world = worlds.build()
    session.commit()
    clients = clients_for(app, world, world.outsiders)
    clients.pop("anonymous")
    leaks = []
    for rule in covered_rules(app):
        if rule.arguments or "GET" not in rule.methods:
            continue
        for who, client in clients.items():
            body = client.get(rule.rule).get_data(as_text=True)
            leaks += [f"{who} {rule.rule}: {s}" for s in SECRETS if s in body]
    assert not leaks, "\n".join(leaks)
