"""Bearer-token authentication, the OpenAPI spec, and the audit trail endpoint."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select

from app.accounts.operations import user_for_token
from app.api.openapi import spec
from app.api.paging import MAX_SEQ, BadParameter, int_param, page
from app.audit.models import AuditEvent
from app.audit.trail import event_payload
from app.core.errors import DomainError
from app.core.http import error_response
from app.core.permissions import PUBLIC, has_permission, requires
from app.extensions import limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _token_key() -> str:
    header = request.headers.get("Authorization", "")
    return "token:" + hashlib.sha256(header.encode()).hexdigest()


@bp.before_request
def authenticate():
    """401 without or with a bad token; 403 for a token whose user is not an auditor."""
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        return error_response(401, "missing, unknown or revoked bearer token")
    if not user.has_role("auditor"):
        return error_response(403, "this token's user is not an auditor")
    # Deny by default here too: an API view must declare its permission, and the user hold it.
    if request.endpoint is None:
        return None  # routing answers 404
    needed = getattr(current_app.view_functions.get(request.endpoint), "permission", None)
    if needed is None or not has_permission(user, needed):
        return error_response(403, "this token's user may not read this resource")
    g.api_user = user
    return None


@bp.errorhandler(DomainError)
def _domain_error(err: DomainError):
    return error_response(err.status, err.message)


limiter.limit("600 per minute", key_func=_token_key)(bp)


@bp.route("/openapi.json")
@requires(PUBLIC)
def openapi():
    """The OpenAPI 3 description of this API."""
    return jsonify(spec())


def event_item(row) -> dict:
    """An audit event as the bundle and the API carry it."""
    item = event_payload(row)
    item.update(id=row.seq, prev_hash=row.prev_hash, hash=row.hash)
    return item


@bp.route("/audit/events")
@requires("audit.read")
def audit_events():
    """The chain, paged by sequence number."""
    after = int_param("after_seq", maximum=MAX_SEQ)
    table = AuditEvent.__table__
    stmt = select(table)
    if after is not None:
        stmt = stmt.where(table.c.seq > after)
    return jsonify(page(stmt, table.c.seq, event_item))


__all__ = ["bp", "BadParameter"]
