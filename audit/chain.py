"""The audit log's canonical forms, shared by the triggers (migration 0005, frozen copy) and
`verify_audit`. Changing them breaks every existing checksum: don't; add a version instead.

    entry.checksum  = sha256(jsonb_build_array(id, action, table_name, record_id, before, after,
                             actor, actor_user_id, occurred_at in µs since the epoch, ip,
                             user_agent, metadata)::text)                       -- at insert
    seal (one per committed transaction that wrote entries):
    entries_digest  = sha256(concatenation of its entries' checksums in id order)
    seal.checksum   = sha256(prev seal's checksum || jsonb_build_array(seq, txn, first_id,
                             last_id, entry_count, entries_digest)::text)       -- at commit

All hashes are lowercase hex; the first seal's previous checksum is ''.
"""

from __future__ import annotations


def entry_digest_sql(alias: str) -> str:
    r = alias
    return (
        f"encode(sha256(convert_to(jsonb_build_array({r}.id, {r}.action, {r}.table_name, {r}.record_id,"
        f" {r}.before, {r}.after, {r}.actor, {r}.actor_user_id,"
        f" (extract(epoch FROM {r}.occurred_at) * 1000000)::bigint, {r}.ip, {r}.user_agent, {r}.metadata)::text,"
        f" 'UTF8')), 'hex')"
    )


def seal_checksum_sql(alias: str, prev: str) -> str:
    s = alias
    return (
        f"encode(sha256(convert_to({prev} || jsonb_build_array({s}.seq, {s}.txn, {s}.first_id, {s}.last_id,"
        f" {s}.entry_count, {s}.entries_digest)::text, 'UTF8')), 'hex')"
    )


# pg_advisory_xact_lock key serialising seals into the chain ("AUDIT").
CHAIN_LOCK_KEY = 280603412820
