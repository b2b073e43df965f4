"""How the audit chain's key reaches PostgreSQL (docs/audit.md): each application connection carries the
session setting `acountee.audit_key` in its start-up options (acountee/db/backend), holding the two HMAC
pads of AUDIT_CHAIN_KEY (key XOR ipad, key XOR opad; 64 bytes each, hex), so the database computes the
seal's HMAC with its built-in sha256() and the key itself never reaches a table. The seal's forms are
the audit app's (audit/chain.py)."""

from __future__ import annotations

import hashlib

KEY_SETTING = "acountee.audit_key"
BLOCK = 64  # sha256's block size, as in RFC 2104


def key_bytes(key: str) -> bytes:
    """The HMAC key: the key's UTF-8 bytes, or their sha256 when longer than a block (RFC 2104)."""
    raw = key.encode("utf-8")
    return hashlib.sha256(raw).digest() if len(raw) > BLOCK else raw


def key_pads(key: str) -> str:
    """The session setting's value: hex(key XOR ipad) || hex(key XOR opad), 256 hex digits."""
    padded = key_bytes(key).ljust(BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in padded)
    outer = bytes(b ^ 0x5C for b in padded)
    return inner.hex() + outer.hex()
