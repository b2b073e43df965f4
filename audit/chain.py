"""The audit hash chain's canonical form, shared by the sealing trigger (migration 0003) and
`verify_audit`. Changing it breaks every existing checksum: don't, add a version instead.

    digest(entry)   = sha256(jsonb_build_array(id, chain_seq, action, table_name, record_id,
                             before, after, actor, actor_user_id, occurred_at in µs since epoch,
                             ip, user_agent, metadata)::text)
    checksum(entry) = sha256(prev_checksum || digest(entry))          (hex strings)

where `prev_checksum` is the checksum of the entry at chain_seq - 1 ('' for the first).
"""

from __future__ import annotations

# SQL over an `audit` row aliased `a`, with the chain position given as `{seq}`.
CONTENT_SQL = (
    "jsonb_build_array(a.id, {seq}, a.action, a.table_name, a.record_id, a.before, a.after, a.actor,"
    " a.actor_user_id, (extract(epoch FROM a.occurred_at) * 1000000)::bigint, a.ip, a.user_agent,"
    " a.metadata)::text"
)


def digest_sql(seq: str) -> str:
    return f"encode(sha256(convert_to({CONTENT_SQL.format(seq=seq)}, 'UTF8')), 'hex')"


def checksum_sql(prev: str, digest: str) -> str:
    return f"encode(sha256(convert_to({prev} || {digest}, 'UTF8')), 'hex')"


# pg_advisory_xact_lock key serialising the sealing of transactions into the chain.
CHAIN_LOCK_KEY = 0x4155444954  # "AUDIT"
