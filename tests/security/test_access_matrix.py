"""Every endpoint × every role (and anonymous) gets exactly what the matrix declares."""

from __future__ import annotations

from app.extensions import db
from tests.security import world as worlds
from tests.security.access_matrix import MATRIX, OK, SKIP, covered_rules, expected, url_for_rule
from tests.security.clients import clients_for, outcome, post_with_token
from tests.security.world import ANONYMOUS, IDENTITIES


def test_every_endpoint_has_an_entry(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - SKIP
    missing = sorted(endpoints - set(MATRIX))
    stale = sorted(set(MATRIX) - endpoints)
    assert not missing, (
        "endpoints without an entry in tests/security/access_matrix.py MATRIX "
        "(declare how to reach them and any object rule that narrows their permission):\n  "
        + "\n  ".join(missing)
    )
    assert not stale, "MATRIX entries for endpoints that no longer exist:\n  " + "\n  ".join(stale)


def _ids(app, world) -> dict:
    from app.accounts import operations as accounts

    with app.test_request_context():
        token = accounts._reset_serializer().dumps(
            {
                "u": world.users["enterprise"].id,
                "f": accounts._fingerprint(world.users["enterprise"]),
            }
        )
    return {**world.ids, "draft_id": world.objects.draft_a.id, "reset_token": token}


def _run_bundle(world) -> None:
    """Build the auditor's bundle so that fetching it is exercised, not a 404."""
    from app.audit import signing
    from app.core import clock, jobs

    if not (signing.key_dir() / signing.PRIVATE_NAME).exists():
        signing.generate(signing.key_dir())
    job = world.objects.job
    job.result = jobs.HANDLERS[job.kind](job, lambda *a, **k: None)
    job.state, job.finished_at = "done", clock.now()


def test_access_matrix(app, session):
    world = worlds.build()
    _run_bundle(world)
    session.commit()
    ids = _ids(app, world)
    clients = clients_for(app, world)
    wrong = []
    for rule in covered_rules(app):
        if rule.endpoint in SKIP:
            continue
        route = MATRIX[rule.endpoint]
        path = url_for_rule(app, rule, route, ids)
        method = "GET" if "GET" in rule.methods else "POST"
        for identity in IDENTITIES:
            want = expected(app, rule.endpoint, identity)
            client = clients[identity]
            if method == "POST":
                if want == OK:
                    continue  # holders' effects: module tests and the CSRF walk
                response = post_with_token(client, path)
            elif rule.endpoint.startswith("api."):
                token = world.tokens.get(identity)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = clients[ANONYMOUS].get(path, headers=headers)
            else:
                response = client.get(path)
            got = outcome(response)
            if got != want:
                wrong.append(
                    f"{identity:>15} {method} {path} ({rule.endpoint}): expected {want}, got {got}"
                )
            db.session.rollback()  # nothing a request left uncommitted leaks into the next
    assert not wrong, f"{len(wrong)} outcomes differ from the matrix:\n" + "\n".join(wrong)
