"""Browser security: CSRF on every POST, no state change on GET, headers on every
response, secure cookies in production, no open redirect, no stored XSS."""

from __future__ import annotations

import io
from urllib.parse import urljoin, urlsplit

import pytest

from app import create_app
from app.accounts import operations as accounts
from app.applications import operations as apps
from app.audit.verify import verify_chain
from app.core.permissions import AUTHENTICATED, PUBLIC, ROLES, roles_for
from app.extensions import db
from tests import factories
from tests.conftest import csrf_token, login
from tests.security import state
from tests.security import world as worlds
from tests.security.access_matrix import MATRIX, covered_rules, url_for_rule
from tests.security.clients import clients_for
from tests.security.world import ANONYMOUS

CSRF_MESSAGE = "表单已过期或缺少安全令牌"
# GET endpoints that write exactly one ``export.download`` event when they answer 200.
AUDITED_DOWNLOADS = {
    "awards.notice_pdf",
    "audit.download",
    "audit.fetch_bundle",
    "awards.agreement_pdf",
    "awards.allocation",
    "awards.letter_pdf",
    "dashboard.export_xlsx",
    "eligibility.application_pdf",
    "eligibility.eligibility_sheet",
    "eligibility.summary_sheet",
    "evaluation.download_file",
    "evaluation.report_pdf",
    "ledger.download_transfers",
    "projects.download",
    "projects.download_attachment",
    "projects.download_voucher",
    "reviews.draw_record",
    "reviews.export_experts",
    "reviews.fees_xlsx",
    "reviews.ranking_xlsx",
    "reviews.scores_csv",
    "reviews.scores_xlsx",
}

# GET endpoints serving a stored file: exactly one ``file.download`` event on a 200
# (app.core.files.send_stored).
FILE_DOWNLOADS = {"applications.download_file", "societies.certificate", "stations.download_file"}


def _ids(app, world) -> dict:
    from tests.security.test_access_matrix import _ids as matrix_ids

    return matrix_ids(app, world)


def _holder_client(clients, permission: str):
    """A client of a role that holds ``permission`` (so only CSRF can refuse it)."""
    if permission == PUBLIC:
        return ANONYMOUS, clients[ANONYMOUS]
    holders = set(ROLES) if permission == AUTHENTICATED else roles_for(permission)
    role = next(r for r in ROLES if r in holders)
    return role, clients[role]


# --- CSRF -----------------------------------------------------------------------------


def test_every_post_route_refuses_a_missing_or_forged_csrf_token(app, session):
    world = worlds.build()
    session.commit()
    ids = _ids(app, world)
    clients = clients_for(app, world)
    counts, seq = state.row_counts(), state.last_seq()
    wrong, walked = [], 0
    foreign = csrf_token(app.test_client())  # valid, but for another session
    for rule in covered_rules(app):
        if "POST" not in rule.methods or rule.endpoint.startswith("api."):
            continue
        permission = getattr(app.view_functions[rule.endpoint], "permission", None)
        who, client = _holder_client(clients, permission)
        path = url_for_rule(app, rule, MATRIX[rule.endpoint], ids)
        for token in (None, "forged", foreign):
            data = {"reason": "x", "name": "x", "title": "x", "action": "accept"}
            if token:
                data["csrf_token"] = token
            response = client.post(path, data=data)
            walked += 1
            if response.status_code != 400 or CSRF_MESSAGE not in response.get_data(as_text=True):
                wrong.append(f"{who} POST {path} token={token!r}: {response.status_code}")
            db.session.rollback()
    assert walked > 100
    assert not wrong, "\n".join(wrong)
    assert state.changed(counts, state.row_counts()) == {}
    assert state.actions_after(seq) == []


# --- no state change on GET -----------------------------------------------------------


@pytest.mark.parametrize("roles", [("officer", "admin", "auditor"), ("finance", "approver")])
def test_get_changes_nothing_but_permitted_audit_events(app, session, roles):
    world = worlds.build()
    from tests.security.test_access_matrix import _run_bundle

    _run_bundle(world)
    session.commit()
    ids = _ids(app, world)
    clients = clients_for(app, world, {r: world.users[r] for r in roles})
    wrong = []
    for rule in covered_rules(app):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = url_for_rule(app, rule, MATRIX[rule.endpoint], ids)
        for role in roles:
            counts, seq = state.row_counts(), state.last_seq()
            response = clients[role].get(path)
            db.session.rollback()
            status = response.status_code
            allowed = [[]]
            if status == 403:
                allowed.append(["permission.denied"])
            if status == 200 and rule.endpoint in AUDITED_DOWNLOADS:
                allowed = [["export.download"]]
            if status == 200 and rule.endpoint in FILE_DOWNLOADS:
                allowed = [["file.download"]]
            got = state.actions_after(seq)
            moved = state.changed(counts, state.row_counts())
            if got not in allowed or moved or status >= 500:
                wrong.append(f"{role} GET {path}: {status} events={got} rows={moved}")
    assert not wrong, "\n".join(wrong)
    fault, _last, _head = verify_chain()
    assert fault is None, str(fault)


# --- headers and cookies --------------------------------------------------------------


def _check_headers(response, where: str, *, hsts: bool) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    assert headers.get("Cache-Control") == "no-store", where
    if hsts:
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000"), where
    else:
        assert "Strict-Transport-Security" not in headers, where


def test_security_headers_on_every_response(app, session):
    world = worlds.build()
    session.commit()
    ids = _ids(app, world)
    clients = clients_for(app, world, {r: world.users[r] for r in ("officer", "applicant")})
    for rule in covered_rules(app):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = url_for_rule(app, rule, MATRIX[rule.endpoint], ids)
        for who, client in clients.items():
            _check_headers(client.get(path), f"{who} {path}", hsts=False)
            db.session.rollback()
    for extra in ("/no-such-page", "/api/v1/calls", "/api/v1/nothing"):
        _check_headers(clients[ANONYMOUS].get(extra), extra, hsts=False)
    _check_headers(clients[ANONYMOUS].post("/login", data={}), "POST /login", hsts=False)


@pytest.fixture
def production(databases, tmp_path):
    """A production-configured app on a migrated database of its own."""
    import flask_migrate

    url = databases.new_url()
    prod = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "p" * 40,
            "SQLALCHEMY_DATABASE_URI": url,
            "UPLOAD_DIR": str(tmp_path / "files"),
            "AUDIT_SIGNING_KEY": str(tmp_path / "keys"),
        }
    )
    with prod.app_context():
        flask_migrate.upgrade()
    yield prod
    with prod.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_headers_hsts_and_cookie_flags(production):
    with production.app_context():
        user = factories.user("applicant")
        db.session.commit()
        email = user.email
        db.session.remove()
    client = production.test_client()
    base = "https://grants.example.cn"
    for rule in production.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods or rule.endpoint == "static":
            continue
        _check_headers(client.get(rule.rule, base_url=base), rule.rule, hsts=True)
    page = client.get("/login", base_url=base).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post(
        "/login",
        data={"email": email, "password": factories.PASSWORD, "csrf_token": token},
        base_url=base,
        headers={"Referer": f"{base}/login"},  # HTTPS: Flask-WTF checks the referrer too
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    _check_headers(answer, "login", hsts=True)
    cookies = answer.headers.getlist("Set-Cookie")
    assert any(c.startswith("session=") for c in cookies)
    for cookie in cookies:
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"secure", "httponly", "samesite"} <= flags, cookie
        assert "samesite=lax" in cookie.lower(), cookie


# --- open redirects -------------------------------------------------------------------

EVIL = [
    "http://evil.example",
    "https://evil.example/x",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "///evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/%2F%2Fevil.example",
    "\t//evil.example",
]


@pytest.mark.parametrize("target", EVIL)
def test_login_next_never_redirects_off_site(app, session, target):
    user = factories.user("applicant")
    session.commit()
    client = app.test_client()
    answer = client.post(
        "/login",
        query_string={"next": target},
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert answer.status_code == 302
    _assert_stays_on_site(target, answer.headers["Location"])
    switch = client.post(
        "/language", data={"locale": "zh_CN", "next": target, "csrf_token": csrf_token(client)}
    )
    _assert_stays_on_site(target, switch.headers["Location"])


def _assert_stays_on_site(target: str, location: str) -> None:
    """Resolve ``location`` as a browser does (a backslash is a slash) and stay on site."""
    site = "https://grants.example.cn/"
    resolved = urlsplit(urljoin(site, location.replace("\\", "/")))
    assert (resolved.scheme, resolved.netloc) == ("https", "grants.example.cn"), (target, location)
    assert location.startswith("/") and not location.startswith("//"), (target, location)


def test_login_next_keeps_a_local_path(app, session):
    user = factories.user("applicant")
    session.commit()
    client = app.test_client()
    answer = client.post(
        "/login?next=/applications%3Fpage%3D2",
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert answer.headers["Location"] == "/applications?page=2"


# --- stored XSS -----------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOAD = SCRIPT + IMG


def _assert_escaped(body: str, where: str) -> None:
    assert SCRIPT not in body, where
    assert "<img src=x onerror" not in body, where


def test_stored_xss_is_rendered_escaped(app, session):
    officer = factories.user("officer", name="经办" + PAYLOAD)
    admin = factories.user("admin")
    auditor = factories.user("auditor")
    society = factories.org("society", name="学会" + PAYLOAD)
    applicant = factories.user("applicant", organisation=society, name="申报人" + PAYLOAD)
    the_call = factories.call(officer=officer, title="批次" + PAYLOAD)
    team = [{"name": PAYLOAD, "title": PAYLOAD, "organisation": PAYLOAD, "role": PAYLOAD}]
    row = factories.submitted(
        the_call,
        applicant,
        title="标题" + PAYLOAD,
        summary="摘要" + PAYLOAD,
        objectives=PAYLOAD,
        team=team,
        chief_expert={"name": PAYLOAD, "title": PAYLOAD, "organisation": PAYLOAD},
    )
    apps.endorse_application(
        row,
        io.BytesIO(factories.PDF_BYTES),
        "sealed.pdf",
        actor=factories.society_admin_of(society),
    )
    apps.check_application(row, "return", actor=officer, reason="理由" + PAYLOAD)
    expert = factories.expert(officer, name="专家" + PAYLOAD)
    accounts.set_enabled(
        factories.user("enterprise", name=PAYLOAD), False, actor=admin, reason=PAYLOAD
    )
    session.commit()
    pages = {
        officer: [
            "/applications",
            f"/applications/{row.id}",
            "/calls",
            f"/calls/{the_call.id}",
            "/calls/manage",
            "/admin/orgs",
            "/reviews/experts",
            f"/reviews/experts/{expert.id}",
            "/societies",
        ],
        admin: ["/admin/users", "/admin/orgs"],
        auditor: ["/audit/events", f"/applications/{row.id}"],
        applicant: [f"/applications/{row.id}", f"/applications/{row.id}/edit", "/", "/account"],
    }
    seen_escaped = 0
    for user, paths in pages.items():
        client = app.test_client()
        login(client, user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            body = response.get_data(as_text=True)
            _assert_escaped(body, path)
            seen_escaped += "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert seen_escaped >= 12  # the payload was really there, escaped
