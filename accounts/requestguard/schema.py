"""drf-spectacular post-processing hook (after acountee.api.schema.add_error_responses):
declares the `Idempotency-Key` header and its 409/422 answers on every API write it covers, and the
`Idempotent-Replayed` header its replays carry (any stored answer below 500: idempotency.replay)."""

from __future__ import annotations

from typing import Any

from accounts.requestguard.idempotency import MAX_KEY_LENGTH, REPLAY_MARKER
from accounts.requestguard.middleware import applies_to

HEADER_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes the write safe to retry: a retry with the same key and the same request gets the first "
        f"answer back (marked `{REPLAY_MARKER}: true`) without a second effect, for 24 hours "
        "(IDEMPOTENCY_KEY_TTL_HOURS). Scoped per user. 1-255 visible ASCII characters, e.g. a UUID. An answer "
        "that shows a secret once (`Cache-Control: no-store`) is not kept: its retry gets 409 "
        "IDEMPOTENCY_SECRET_NOT_REPLAYED with the first answer's status and the id of what it created."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
}
IN_PROGRESS = " IDEMPOTENCY_KEY_IN_PROGRESS: the first request with this Idempotency-Key is still running."
REUSED = "IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was already used for a different request."
ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
REPLAYED_HEADER = {
    "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key "
    "(the write did not run again).",
    "schema": {"type": "string", "enum": ["true"]},
}


def add_idempotency_header(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or not applies_to(method, path):
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == HEADER_PARAMETER["name"] for p in parameters):
                parameters.append(dict(HEADER_PARAMETER))
            responses = operation.setdefault("responses", {})
            conflict = responses.setdefault("409", {"description": "Conflicts with the current state."})
            conflict.setdefault("content", ERROR_REF)
            if IN_PROGRESS not in conflict.get("description", ""):
                conflict["description"] = conflict.get("description", "") + IN_PROGRESS
            responses.setdefault("422", {"description": REUSED, "content": ERROR_REF})
            for code, response in responses.items():
                if code[:1] in ("2", "3", "4") and code != "422":  # any answer the guard stores may come back replayed
                    response.setdefault("headers", {})[REPLAY_MARKER] = REPLAYED_HEADER
    return result


# --- rate limits (accounts.requestguard.ratelimit) ---------------------------------------------------------------
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Limit": {
        "description": "Requests allowed per window to this caller (API token, session user or anonymous IP); "
        "draft-ietf-httpapi-ratelimit-headers-06. Absent when the caller has no limit.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the current window (0: the next one is refused with 429 RATE_LIMITED).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the current window ends and the quota is whole again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Policy": {
        "description": "The quota policy: `<limit>;w=<window seconds>`, e.g. `600;w=60`.",
        "schema": {"type": "string", "pattern": "^[0-9]+;w=[0-9]+$", "example": "600;w=60"},
    },
}
RATE_LIMITED = "RATE_LIMITED: past this caller's rate limit; retry after Retry-After seconds (docs/api-guard.md)."


def add_rate_limit_headers(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """The RateLimit-* headers on every answer of every operation (as components, referenced), and the 429
    RATE_LIMITED answer with its Retry-After. After acountee.api.schema.add_constraints."""
    components = result.setdefault("components", {}).setdefault("headers", {})
    components.update(RATE_LIMIT_HEADERS)
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete", "head"} or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            limited = responses.setdefault("429", {"description": RATE_LIMITED})
            if RATE_LIMITED not in limited["description"]:
                limited["description"] = f"{limited['description']} Or {RATE_LIMITED}"
            limited.setdefault("content", ERROR_REF)
            limited.setdefault("headers", {}).setdefault(
                "Retry-After",
                {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 1}},
            )
            for response in responses.values():
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("headers", {}).update(refs)
    return result
