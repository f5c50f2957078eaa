"""Cursor pages in the one shape every list answers with."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

from app.core.errors import DomainError
from app.extensions import db

MAX_LIMIT, DEFAULT_LIMIT = 1000, 100


class BadParameter(DomainError):
    status = 400

    def __init__(self, name: str, message: str):
        super().__init__(message, field=name)


MAX_ID = 2**31 - 1  # ids are INTEGER columns; larger values cannot exist and would overflow
MAX_SEQ = 10**18 - 1  # audit sequence numbers are BIGINT


def int_param(
    name: str, *, required: bool = False, minimum: int = 0, maximum: int = MAX_ID
) -> int | None:
    """An integer query parameter, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise BadParameter(name, f"parameter '{name}' is required")
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not minimum <= int(raw) <= maximum:
        raise BadParameter(
            name, f"parameter '{name}' must be an integer from {minimum} to {maximum}"
        )
    return int(raw)


def page(stmt, key_column, serialise, *, extra: dict | None = None) -> dict:
    """``{"items": [...], "next": path | null}`` ordered by ``key_column`` ascending.

    ``?limit=`` (1..1000, default 100) and ``?cursor=`` (the last key seen).
    """
    limit = int_param("limit", minimum=1) or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise BadParameter("limit", f"parameter 'limit' must be at most {MAX_LIMIT}")
    cursor = int_param("cursor")
    if cursor is not None:
        stmt = stmt.where(key_column > cursor)
    rows = db.session.execute(stmt.order_by(key_column).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [serialise(row) for row in rows]
    next_path = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = items[-1]["id"]
        next_path = f"{request.path}?{urlencode(args)}"
    return {"items": items, "next": next_path, **(extra or {})}
