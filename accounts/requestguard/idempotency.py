"""Idempotency keys for API writes (docs/api-guard.md).

A write that carries `Idempotency-Key` is first *claimed*: one committed INSERT, so a
concurrent retry in another process sees it and gets 409. The request then runs; its
response is stored on the row (or the claim released, for answers a retry should not get
back) and replayed to every identical retry until the key expires.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeGuard

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from accounts.requestguard.errors import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    IdempotentSecretNotReplayed,
    InvalidIdempotencyKey,
)
from accounts.requestguard.models import IdempotencyKey
from acountee.api.exception_handler import error_body

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255
# Bodies at most this large are replayed; a bigger (or streamed) answer releases the key.
MAX_STORED_RESPONSE_BYTES = 1024 * 1024
# Answers that depend on credentials or on time: released, so a corrected retry runs again.
RELEASED_STATUSES = {401, 403, 408, 429}
REPLAYED_HEADERS = ("Content-Type", "Content-Language", "Content-Disposition", "Location", "Allow")
REPLAY_MARKER = "Idempotent-Replayed"
SPOOL_IN_MEMORY = 1024 * 1024
CHUNK = 64 * 1024


def validate_key(raw: str) -> str:
    """1-255 visible ASCII characters (UUIDs, ULIDs, base64…): no spaces, controls or NUL."""
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or any(not 0x21 <= ord(ch) <= 0x7E for ch in raw):
        raise InvalidIdempotencyKey()
    return raw


def ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS)


def max_fingerprinted_body() -> int:
    # The largest body any endpoint accepts, plus room for multipart framing; anything longer
    # is refused by the endpoint itself, so it runs without the key.
    return max(settings.FILE_MAX_SIZE, settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024 * 1024


# --- request fingerprint -----------------------------------------------------------------------


def request_fingerprint(request: HttpRequest) -> str | None:
    """SHA-256 of method, path, query, media type and body; None when the body cannot be
    fingerprinted (too large, or cut off), in which case the request runs without the key.

    The body is read once into a spooled temporary file (memory stays bounded) and handed back
    to the request as its input stream, so the view, its upload handlers included, reads it
    as if nobody had. Multipart boundaries are random per send, so they are normalised: a
    retried upload of the same form has the same fingerprint."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_fingerprinted_body() or getattr(request, "_read_started", False):
        return None
    content_type = request.META.get("CONTENT_TYPE", "")
    media_type, _sep, params = content_type.partition(";")
    digest = hashlib.sha256()
    for part in (request.method or "", request.path_info, request.META.get("QUERY_STRING", ""), media_type.strip()):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\x00")
    boundary = _boundary(params) if media_type.strip().lower() == "multipart/form-data" else b""

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - handed to the request
    received = 0
    normaliser = _BoundaryNormaliser(digest, boundary)
    try:
        while received < length:
            chunk = request.read(min(CHUNK, length - received))
            if not chunk:
                break
            received += len(chunk)
            spool.write(chunk)
            normaliser.feed(chunk)
    except OSError:  # the client went away mid-body
        pass
    normaliser.close()
    spool.seek(0)
    # Django's WSGIRequest reads its body through `_stream`; give it the spooled copy. These private
    # attributes are not in django-stubs (nor is our own spool), hence the ignores.
    request._stream = LimitedStream(spool, received)  # type: ignore[assignment,arg-type]
    request._read_started = False  # type: ignore[attr-defined]
    request._acountee_body_spool = spool  # type: ignore[attr-defined]  # closed by release_body() after the response
    if received < length:
        return None  # a cut-off body is refused by the endpoint; never remember it
    return digest.hexdigest()


def release_body(request: HttpRequest) -> None:
    """Closes the spooled copy of the body (its temporary file, if it spilled to disk)."""
    spool = getattr(request, "_acountee_body_spool", None)
    if spool is not None:
        spool.close()


def _boundary(params: str) -> bytes:
    for param in params.split(";"):
        name, _sep, value = param.strip().partition("=")
        if name.strip().lower() == "boundary" and value:
            return value.strip().strip('"').encode("latin-1", "replace")
    return b""


class _BoundaryNormaliser:
    """Feeds the digest with the body, every occurrence of the boundary replaced by a fixed
    marker, across chunk edges (the last len(boundary)-1 bytes wait for the next chunk)."""

    def __init__(self, digest: Any, boundary: bytes):
        self.digest, self.boundary, self.pending = digest, boundary, b""

    def feed(self, chunk: bytes) -> None:
        if not self.boundary:
            self.digest.update(chunk)
            return
        data = self.pending + chunk
        safe = len(data) - (len(self.boundary) - 1)  # a match starting before this ends inside data
        start = 0
        while (found := data.find(self.boundary, start)) != -1 and found < safe:
            self.digest.update(data[start:found] + b"\x00BOUNDARY\x00")
            start = found + len(self.boundary)
        cut = max(start, safe)
        self.digest.update(data[start:cut])
        self.pending = data[cut:]

    def close(self) -> None:
        self.digest.update(self.pending)
        self.pending = b""


# --- claim, store, release ---------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The caller owns the key: run the request, then `idempotency_finish`."""

    id: int


def idempotency_claim(*, user: Any, key: str, fingerprint: str, method: str, path: str) -> Claim | IdempotencyKey:
    """Claims `key` for this request (committed at once), or returns the stored row to replay.

    Raises IdempotencyKeyReused (422) for a different request under the same key and
    IdempotencyKeyInProgress (409) while the first request still runs. An expired key, or a
    claim older than IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS (its process died), is taken over."""
    now = timezone.now()
    for _attempt in range(3):  # the row can vanish between the two steps (released): try again
        with connection.cursor() as cursor:
            # Autocommit: this INSERT is its own transaction, visible to other connections at once.
            cursor.execute(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, method, path, created_at, response_headers)"
                " VALUES (%s, %s, %s, %s, %s, %s, '{}') ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
                [user.pk, key, fingerprint, method, path, now],
            )
            row = cursor.fetchone()
        if row is not None:
            return Claim(id=row[0])
        with transaction.atomic():
            existing = IdempotencyKey.objects.select_for_update().filter(user_id=user.pk, key=key).first()
            if existing is None:
                continue
            expired = existing.created_at <= now - ttl()
            abandoned = existing.status_code is None and existing.created_at <= now - claim_timeout()
            if expired or abandoned:
                IdempotencyKey.objects.filter(pk=existing.pk).update(
                    fingerprint=fingerprint,
                    method=method,
                    path=path,
                    created_at=now,
                    completed_at=None,
                    status_code=None,
                    response_body=None,
                    response_headers={},
                )
                return Claim(id=existing.pk)
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if existing.status_code is None:
            raise IdempotencyKeyInProgress()
        return existing
    raise IdempotencyKeyInProgress()


def idempotency_finish(*, claim: Claim, response: HttpResponseBase | None) -> None:
    """Stores the answer for replay, or releases the key when a retry should run again:
    server errors (5xx, 503 included), answers with Retry-After, credential/time-dependent
    answers, streamed or large bodies. A failure here (database gone) leaves the claim to
    expire after the claim timeout."""
    try:
        if response is not None and carries_secret(response):
            response = withheld(response)
        if not _storable(response):
            IdempotencyKey.objects.filter(pk=claim.id).delete()
            return
        headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
        IdempotencyKey.objects.filter(pk=claim.id).update(
            status_code=response.status_code,
            response_body=bytes(response.content),
            response_headers=headers,
            completed_at=timezone.now(),
        )
    except DatabaseError:
        logger.warning("idempotency key %s: could not store or release the response", claim.id, exc_info=True)


def carries_secret(response: HttpResponseBase) -> bool:
    """An answer marked `Cache-Control: no-store` holds a credential shown once (a service account's token, a
    webhook's signing secret): its body is never written to the keys table, where it would outlive the
    hashed or encrypted copy for IDEMPOTENCY_KEY_TTL_HOURS."""
    return "no-store" in (response.get("Cache-Control") or "")


def withheld(response: HttpResponseBase) -> HttpResponse:
    """What is stored for a secret-bearing answer: the write is done (a retry must not repeat it), so a retry
    gets 409 IDEMPOTENCY_SECRET_NOT_REPLAYED naming the status the first answer had, the `id` of what it
    created or changed (when its body had one), and its `Location`."""
    details: dict[str, Any] = {"status": response.status_code, "id": None}
    try:
        body = json.loads(response.content) if isinstance(response, HttpResponse) else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("id"), int):
        details["id"] = body["id"]
    error = IdempotentSecretNotReplayed(details=details)
    stored = HttpResponse(
        json.dumps(error_body(error.code, error.message, error.details)),
        status=error.status_code,
        content_type="application/json",
    )
    if response.has_header("Location"):
        stored["Location"] = response["Location"]
    return stored


def _storable(response: HttpResponseBase | None) -> TypeGuard[HttpResponse]:
    return (
        isinstance(response, HttpResponse)  # not a streamed or file response
        and response.status_code < 500
        and response.status_code not in RELEASED_STATUSES
        # "Try again" answers (409 BUSY / CONFLICT_RETRY from a locked or deadlocked row,
        # docs/operations.md) are not the request's outcome: a retry with the key must run.
        and not response.has_header("Retry-After")
        and len(response.content) <= MAX_STORED_RESPONSE_BYTES
    )


def replay(stored: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(stored.response_body or b""), status=stored.status_code)
    for name, value in stored.response_headers.items():
        response[name] = value
    response[REPLAY_MARKER] = "true"
    return response


def idempotency_keys_purge(*, now: Any = None) -> int:
    """Deletes expired keys (operator command `purge_request_guard`). Returns how many."""
    cutoff = (now or timezone.now()) - ttl()
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted
