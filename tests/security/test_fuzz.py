"""Hypothesis-generated input to every form and every API parameter: no 5xx, and the
audit chain and the ledger invariants hold afterwards.

A few examples per route in ``make test``; ``make soak`` (SOAK=1) sends 10,000+.
In testing an unhandled error propagates (PROPAGATE_BUGS), so a 500 fails loudly.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.audit.verify import verify_all
from app.core.permissions import AUTHENTICATED, PUBLIC, ROLES, roles_for
from app.extensions import db, limiter
from tests.conftest import ON_POSTGRES, make_app
from tests.security import world as worlds
from tests.security.access_matrix import MATRIX, covered_rules, url_for_rule
from tests.security.clients import clients_for
from tests.security.test_access_matrix import _ids
from tests.security.world import ANONYMOUS

SOAK = bool(os.environ.get("SOAK"))
PER_ROUTE = 120 if SOAK else 3
# Ending the session or switching language would only stop the walk, not find bugs.
SKIP = {"accounts.logout"}
COMMON_FIELDS = [
    "title", "name", "reason", "amount", "action", "kind", "code", "email", "password",
    "version", "seed", "fund_id", "year", "q", "note", "comment", "locale", "next",
]  # fmt: skip
_NAME = re.compile(r'name="([A-Za-z0-9_\-\[\].]+)"')

text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),  # control characters
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "NaN",
            "1,000.005",
            "１２３．４５",
            "99999999999999999999999",
            "¥1,0,0",
            "-0.01",
            "9" * 400,
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "../../etc/passwd",
            "\u202e",
            "\x00",
            "2026-02-30",
            "null",
            "[]",
            "{}",
        ]
    ),  # fmt: skip
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.just("x" * 100_000),
)


def _holder(clients, permission):
    if permission == PUBLIC:
        return clients[ANONYMOUS]
    holders = set(ROLES) if permission == AUTHENTICATED else roles_for(permission)
    return clients[next(r for r in ROLES if r in holders)]


def _field_names(client, path: str) -> list[str]:
    page = client.get(path)
    names = set(_NAME.findall(page.get_data(as_text=True))) if page.status_code == 200 else set()
    return sorted((names | set(COMMON_FIELDS)) - {"csrf_token"})


def _api_fuzzer(fuzz, path, names, client, token, sent):
    @fuzz
    @given(st.dictionaries(st.sampled_from(names), text, max_size=4))
    def hit(query):
        headers = {"Authorization": f"Bearer {token}"}
        base, _, fixed = path.partition("?")
        fixed = dict(p.split("=", 1) for p in fixed.split("&") if p)
        response = client.get(base, query_string={**fixed, **query}, headers=headers)
        sent[0] += 1
        assert response.status_code < 500, (path, query)
        db.session.rollback()

    return hit


def _form_fuzzer(fuzz, path, names, client, token, sent):
    @fuzz
    @given(st.dictionaries(st.sampled_from(names), text, max_size=len(names)))
    def post(form):
        response = client.post(path, data={**form, "csrf_token": token})
        sent[0] += 1
        assert response.status_code < 500, (path, form)
        db.session.rollback()

    return post


@pytest.fixture
def fuzz_app(request, databases, tmp_path):
    """The app and session to fuzz. Usually the test's rolled-back session; in the
    PostgreSQL soak a database of its own with real commits instead: 10,000 requests
    as savepoints of one outer transaction would each leave a lock held to its end
    and exhaust ``max_locks_per_transaction``."""
    if not (SOAK and ON_POSTGRES):
        yield request.getfixturevalue("app"), request.getfixturevalue("session")
        return
    application = make_app(databases.new_url(), tmp_path / "files")
    with application.app_context():
        limiter.reset()
        try:
            yield application, db.session
        finally:
            db.session.remove()
            db.engine.dispose()


def test_fuzz_every_form_and_api_parameter(fuzz_app):
    app, session = fuzz_app
    world = worlds.build()
    session.commit()
    ids = _ids(app, world)
    clients = clients_for(app, world)
    tokens = {}
    for client in clients.values():
        page = client.get("/login").get_data(as_text=True)
        tokens[id(client)] = re.search(r'name="csrf_token" [^>]*value="([^"]+)"', page).group(1)
    sent = [0]
    fuzz = settings(
        max_examples=PER_ROUTE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    for rule in covered_rules(app):
        if rule.endpoint in SKIP or rule.endpoint == "static":
            continue
        path = url_for_rule(app, rule, MATRIX[rule.endpoint], ids)
        if rule.endpoint.startswith("api."):
            names = ["limit", "after", "after_seq", "call", "project", "cursor", "state"]

            _api_fuzzer(fuzz, path, names, clients[ANONYMOUS], world.tokens["auditor"], sent)()
            continue
        if "POST" not in rule.methods:
            continue
        permission = getattr(app.view_functions[rule.endpoint], "permission", None)
        client = _holder(clients, permission)
        names = _field_names(client, path) if "GET" in rule.methods else list(COMMON_FIELDS)

        _form_fuzzer(fuzz, path, names, client, tokens[id(client)], sent)()
    print(f"\nfuzz: {sent[0]} requests")
    assert sent[0] >= (10_000 if SOAK else 200), sent[0]
    fault, _last, _head = verify_all()
    assert fault is None, str(fault)
