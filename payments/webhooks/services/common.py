"""What the webhook services share: the NOTIFY channel that wakes the worker, and the signature."""

from __future__ import annotations

import hashlib
import hmac

# PostgreSQL NOTIFY channel: the event writer notifies it in the change's transaction, so a LISTENing worker
# wakes at commit (never on rollback).
WAKE_CHANNEL = "acountee_webhooks"


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the Stripe scheme, docs/webhooks.md)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
