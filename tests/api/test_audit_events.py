"""The auditors' API: bearer tokens, cursor pages, JSON errors, the OpenAPI document."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts import operations as ops
from app.audit import trail
from app.audit.models import AuditEvent, AuditHead
from app.audit.verify_bundle import event_hash
from tests import factories


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _auditor_token(session) -> str:
    auditor = factories.user("auditor")
    _row, plain = ops.create_api_token(auditor, actor=None)
    session.commit()
    return plain


def test_tokens_are_required_and_checked(client, session):
    auditor = factories.user("auditor")
    row, plain = ops.create_api_token(auditor, actor=None)
    officer = factories.user("officer")
    _officer_row, officer_plain = ops.create_api_token(officer, actor=None)
    audit_admin = factories.user("audit_admin")
    _aa_row, audit_admin_plain = ops.create_api_token(audit_admin, actor=None)
    session.commit()
    path = "/api/v1/audit/events"
    for headers in ({}, _bearer("not-a-token"), {"Authorization": f"Token {plain}"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.json["error"]["code"] == "unauthorized"
    assert client.get(path, headers=_bearer(plain)).status_code == 200
    for other in (officer_plain, audit_admin_plain):
        forbidden = client.get(path, headers=_bearer(other))
        assert forbidden.status_code == 403
        assert forbidden.json["error"]["code"] == "forbidden"
    ops.revoke_api_token(row, actor=None)
    session.commit()
    assert client.get(path, headers=_bearer(plain)).status_code == 401
    ops.set_enabled(auditor, False, actor=factories.user("admin"))
    session.commit()
    assert client.get(path, headers=_bearer(plain)).status_code == 401


def test_pages_follow_the_cursor(client, session):
    token = _auditor_token(session)
    start = session.get(AuditHead, 1).seq
    for i in range(5):
        trail.record("test.page", "thing", i, after={"i": i})
    session.commit()
    response = client.get(f"/api/v1/audit/events?after_seq={start}&limit=2", headers=_bearer(token))
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"items", "next"}
    assert [item["seq"] for item in body["items"]] == [start + 1, start + 2]
    seen = list(body["items"])
    pages = 1
    while body["next"]:
        assert body["next"].startswith("/api/v1/audit/events?")
        assert "after_seq=" in body["next"] and "limit=2" in body["next"]
        body = client.get(body["next"], headers=_bearer(token)).json
        seen.extend(body["items"])
        pages += 1
    assert pages == 3
    assert [item["id"] for item in seen] == list(range(start + 1, start + 6))
    assert [item["after"] for item in seen] == [{"i": i} for i in range(5)]
    first = seen[0]
    assert first["occurred_at"].endswith("Z") and first["action"] == "test.page"
    hashed = {k: v for k, v in first.items() if k not in ("id", "prev_hash", "hash")}
    assert event_hash(first["prev_hash"], hashed) == first["hash"]
    for earlier, later in zip(seen, seen[1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]


def test_default_page_and_exact_last_page(client, session):
    token = _auditor_token(session)
    total = session.get(AuditHead, 1).seq
    body = client.get("/api/v1/audit/events", headers=_bearer(token)).json
    assert [item["id"] for item in body["items"]] == list(range(1, min(total, 100) + 1))
    assert (body["next"] is None) == (total <= 100)
    exact = client.get(
        f"/api/v1/audit/events?after_seq={total - 2}&limit=2", headers=_bearer(token)
    )
    assert [i["id"] for i in exact.json["items"]] == [total - 1, total]
    assert exact.json["next"] is None
    empty = client.get(f"/api/v1/audit/events?after_seq={total}", headers=_bearer(token))
    assert empty.json == {"items": [], "next": None}


def test_bad_parameters_are_json_400(client, session):
    token = _auditor_token(session)
    for query, name in (
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("limit=-1", "limit"),
        ("after_seq=abc", "after_seq"),
        ("cursor=x", "cursor"),
    ):
        response = client.get(f"/api/v1/audit/events?{query}", headers=_bearer(token))
        assert response.status_code == 400, query
        assert response.is_json
        assert response.json["error"]["code"] == "bad_request"
        assert name in response.json["error"]["message"]
    assert client.get("/api/v1/audit/events?limit=1000", headers=_bearer(token)).status_code == 200


def test_openapi_document_lists_the_trail(client, session):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    operation = spec["paths"]["/api/v1/audit/events"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"after_seq", "limit", "cursor"} <= names
    item = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert item["required"] == ["items", "next"]
    assert {"401", "403", "400"} <= set(operation["responses"])


def test_api_reads_write_no_audit_events(client, session):
    token = _auditor_token(session)
    before = session.get(AuditHead, 1).seq
    client.get("/api/v1/audit/events?limit=1", headers=_bearer(token))
    session.expire_all()
    assert session.get(AuditHead, 1).seq == before
    assert session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) == before
