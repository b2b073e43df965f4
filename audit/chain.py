"""The audit log's canonical forms, shared by the triggers (migrations 0005/0010, frozen copies)
and `verify_audit`. Changing them breaks every existing checksum: don't; add a version instead.

    entry.checksum  = sha256(jsonb_build_array(id, action, table_name, record_id, before, after,
                             actor, actor_user_id, occurred_at in µs since the epoch, ip,
                             user_agent, metadata)::text)                       -- at insert
    seal (one per committed transaction that wrote entries):
    entries_digest  = sha256(concatenation of its entries' checksums in id order)
    content         = jsonb_build_array(seq, txn, first_id, last_id, entry_count, entries_digest)::text
    seal.checksum   = version 1 (unkeyed, seals written before migration 0010 or by a session
                      without the key): sha256(prev seal's checksum || content)
                      version 2 (keyed): HMAC-SHA256(AUDIT_CHAIN_KEY, prev seal's checksum || content)

All hashes are lowercase hex; the first seal's previous checksum is ''.

The key never reaches a table: each application connection carries it as the session setting
`acountee.audit_key` (sent in the connection's start-up options, acountee/db/audit_key.py), holding
the two HMAC pads (key XOR ipad, key XOR opad; 64 bytes each, hex), so PostgreSQL computes the
HMAC with its built-in sha256(). `verify_audit` checks keyed seals in Python with `hmac`, so a
superuser who replaces functions in the database cannot make a forged seal pass either.
"""

from __future__ import annotations

import hashlib
import hmac

from acountee.db.audit_key import key_bytes

SEAL_UNKEYED = 1
SEAL_KEYED = 2


def entry_digest_sql(alias: str) -> str:
    r = alias
    return (
        f"encode(sha256(convert_to(jsonb_build_array({r}.id, {r}.action, {r}.table_name, {r}.record_id,"
        f" {r}.before, {r}.after, {r}.actor, {r}.actor_user_id,"
        f" (extract(epoch FROM {r}.occurred_at) * 1000000)::bigint, {r}.ip, {r}.user_agent, {r}.metadata)::text,"
        f" 'UTF8')), 'hex')"
    )


def seal_checksum_sql(alias: str, prev: str) -> str:
    """Version 1 (unkeyed) seal checksum."""
    s = alias
    return (
        f"encode(sha256(convert_to({prev} || jsonb_build_array({s}.seq, {s}.txn, {s}.first_id, {s}.last_id,"
        f" {s}.entry_count, {s}.entries_digest)::text, 'UTF8')), 'hex')"
    )


def seal_content(*, seq: int, txn: int, first_id: int, last_id: int, entry_count: int, entries_digest: str) -> str:
    """`jsonb_build_array(seq, txn, first_id, last_id, entry_count, entries_digest)::text`, in Python
    (jsonb prints arrays as `[a, b, …]`; the digest is hex, so it needs no escaping)."""
    return f'[{int(seq)}, {int(txn)}, {int(first_id)}, {int(last_id)}, {int(entry_count)}, "{entries_digest}"]'


def keyed_checksum(key: str, message: str) -> str:
    """HMAC-SHA256 in Python; equal to what the seal function computes from the pads."""
    return hmac.new(key_bytes(key), message.encode("utf-8"), hashlib.sha256).hexdigest()


def configured_key() -> str:
    from django.conf import settings

    return getattr(settings, "AUDIT_CHAIN_KEY", "") or ""


# pg_advisory_xact_lock key serialising seals into the chain ("AUDIT").
CHAIN_LOCK_KEY = 280603412820
