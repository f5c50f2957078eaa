"""The OpenAPI 3 document, assembled from each resource's declared schema."""

from __future__ import annotations

from app import __version__
from app.api.paging import MAX_ID, MAX_SEQ

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}

# name → (path, item schema properties, query parameters)
RESOURCES: dict[str, tuple[str, dict, list[dict]]] = {}


def resource(name: str, path: str, properties: dict, params: list[dict] | None = None) -> None:
    """Declare one list endpoint and the fields of its items."""
    RESOURCES[name] = (path, properties, params or [])


def _bounded(param: dict) -> dict:
    """An integer parameter with the upper bound the API enforces."""
    schema = param.get("schema", {})
    if schema.get("type") == "integer" and "maximum" not in schema:
        return {**param, "schema": {**schema, "maximum": MAX_ID}}
    return param


def _param(name: str, required: bool = False, maximum: int = MAX_ID) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": "integer", "minimum": 0, "maximum": maximum},
    }


resource(
    "audit_event",
    "/api/v1/audit/events",
    {
        "id": {"type": "integer"},
        "seq": {"type": "integer"},
        "occurred_at": {"type": "string"},
        "actor_id": NULLABLE_INT,
        "actor_role": NULLABLE_STR,
        "org_id": NULLABLE_INT,
        "ip": NULLABLE_STR,
        "user_agent": NULLABLE_STR,
        "request_id": NULLABLE_STR,
        "action": {"type": "string"},
        "entity_type": {"type": "string"},
        "entity_id": NULLABLE_STR,
        "before": {"type": ["object", "null"]},
        "after": {"type": ["object", "null"]},
        "reason": NULLABLE_STR,
        "prev_hash": {"type": "string"},
        "hash": {"type": "string"},
    },
    [_param("after_seq", maximum=MAX_SEQ)],
)


def spec() -> dict:
    """The whole document."""
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    }
    paths = {}
    for name, (path, properties, params) in RESOURCES.items():
        item = {"type": "object", "required": ["id"], "properties": properties}
        paths[path] = {
            "get": {
                "operationId": f"list_{name}",
                "security": [{"bearer": []}],
                "parameters": [
                    *(_bounded(p) for p in params),
                    _param("cursor"),
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "a page",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["items", "next"],
                                    "properties": {
                                        "items": {"type": "array", "items": item},
                                        "next": {"type": ["string", "null"]},
                                    },
                                }
                            }
                        },
                    },
                    "400": {
                        "description": "bad parameter",
                        "content": {"application/json": {"schema": error}},
                    },
                    "401": {
                        "description": "no or bad token",
                        "content": {"application/json": {"schema": error}},
                    },
                    "403": {
                        "description": "not an auditor",
                        "content": {"application/json": {"schema": error}},
                    },
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Grant system auditors' API", "version": __version__},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
