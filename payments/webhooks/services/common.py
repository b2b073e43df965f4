"""What the webhook services share: the NOTIFY channel that wakes the worker, and the signature."""

from __future__ import annotations

import hashlib
import hmac

# PostgreSQL NOTIFY channel: the event writer notifies it in the change's transaction, so a LISTENing worker
# wakes at commit (never on rollback).
WAKE_CHANNEL = "acountee_webhooks"


def signature_header(*, secret: str, body: bytes, timestamp: int, previous_secret: str = "") -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the Stripe scheme, docs/webhooks.md). During a secret
    rotation's overlap, `previous_secret` adds a second `v1=` signed with the old secret (the new one first):
    a receiver accepts the request when any `v1` matches the secret it knows."""
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    for key in (secret, previous_secret):
        if key:
            parts.append("v1=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest())
    return ",".join(parts)
