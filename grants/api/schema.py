"""The OpenAPI schema's shared parts: the error body, documented on every operation with the statuses it can have."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error: a stable machine code, a message translated for people, and the field at fault.",
    "properties": {
        "code": {"type": "string", "description": "Stable machine code, e.g. `insufficient_funds`, `required`."},
        "message": {"type": "string", "description": "Translated (Accept-Language; Simplified Chinese by default)."},
        "field": {"type": "string", "nullable": True,
                  "description": "The input at fault (dotted path for nested ones), or null."},
        "errors": {"type": "array", "description": "Every problem, when there are several.",
                   "items": {"type": "object", "properties": {
                       "code": {"type": "string"}, "message": {"type": "string"},
                       "field": {"type": "string", "nullable": True}},
                       "required": ["code", "message", "field"]}},
    },
    "required": ["code", "message", "field"],
}

DESCRIPTIONS = {
    "400": "Invalid input or a broken business rule.",
    "401": "No or wrong credentials.",
    "403": "Not allowed to do this (role, scope, separation of duties, conflict of interest).",
    "404": "Nothing there, or nothing the caller may see.",
    "409": "A conflict: the application changed meanwhile, or the fund lacks the money.",
    "415": "Unsupported content type of the request body.",
    "429": "Too many requests: wait and try again.",
}


def _error_codes(method: str) -> list[str]:
    # Every operation can meet bad input, missing credentials, a refusal and an unknown id or page.
    return ["400", "401", "403", "404", *(("409", "415") if method in ("post", "put", "patch") else ())]


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the `Error` component, and error responses on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = _error_codes(method)
            if operation.get("operationId", "").startswith("auth_token"):
                codes.append("429")
            for code in codes:
                operation["responses"].setdefault(code, {
                    "description": DESCRIPTIONS[code], "content": {"application/json": {"schema": ref}}})
    return result
