"""Seals keyed with AUDIT_CHAIN_KEY (HMAC-SHA256), a secret that is not in the database.

Before, anyone with SQL access and the triggers off could rewrite entries and recompute every
seal with plain sha256: the chain looked intact. Now a seal is
`HMAC-SHA256(key, prev checksum || content)` (audit/chain.py), computed by PostgreSQL from the
session setting `acountee.audit_key` that every application connection carries (the HMAC pads,
never the key in a table). `audit_seals.version` says which rule a seal follows: the existing
seals stay version 1 (sha256) and still verify; new ones are version 2. A session without the
key (psql) still seals, unkeyed, so nothing is ever left unsealed; `verify_audit` reports
unkeyed seals that no keyed seal follows (docs/audit.md).

The migration ends with one audit entry, `audit_key_enabled`, so its transaction writes the first
keyed seal: the chain head is keyed from here on.

Reversible: going back restores 0006's sha256-only sealing and drops the column (keyed seals
written meanwhile then no longer verify: do not go back on a live log).
"""

from django.db import migrations, models

FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_chain_hmac(message text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    pads text := current_setting('acountee.audit_key', true);
BEGIN
    IF pads IS NULL OR pads = '' THEN
        RETURN NULL;
    END IF;
    IF length(pads) <> 256 THEN
        RAISE EXCEPTION 'acountee.audit_key must hold the two HMAC pads (256 hex digits)';
    END IF;
    RETURN encode(sha256(decode(substr(pads, 129, 128), 'hex')
                         || sha256(decode(substr(pads, 1, 128), 'hex') || convert_to(message, 'UTF8'))), 'hex');
END
$$;

CREATE OR REPLACE FUNCTION audit_seal_transaction() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    me bigint := pg_current_xact_id()::text::bigint;
    first_entry bigint := COALESCE(NULLIF(current_setting('acountee.audit_first_id', true), '')::bigint, 0);
    f bigint; l bigint; n integer; d text;
    head_seq bigint; head_sum text; content text; keyed text;
BEGIN
    EXECUTE format(
        'SELECT min(a.id), max(a.id), count(*),'
        ' encode(sha256(convert_to(string_agg(a.checksum, '''' ORDER BY a.id), ''UTF8'')), ''hex'')'
        ' FROM audit a WHERE a.id BETWEEN %s AND %s AND a.txn = %s',
        first_entry, currval('audit_id_seq'::regclass), me)
      INTO f, l, n, d;
    IF n = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(280603412820);
    SELECT s.seq, s.checksum INTO head_seq, head_sum FROM audit_seals s ORDER BY s.seq DESC LIMIT 1;
    head_seq := COALESCE(head_seq, 0) + 1;
    head_sum := COALESCE(head_sum, '');
    content := jsonb_build_array(head_seq, me, f, l, n, d)::text;
    keyed := audit_chain_hmac(head_sum || content);
    INSERT INTO audit_seals (seq, txn, first_id, last_id, entry_count, entries_digest, prev_checksum, checksum,
                             sealed_at, version)
    VALUES (head_seq, me, f, l, n, d, head_sum,
            COALESCE(keyed, encode(sha256(convert_to(head_sum || content, 'UTF8')), 'hex')), clock_timestamp(),
            CASE WHEN keyed IS NULL THEN 1 ELSE 2 END);
END
$$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION audit_seal_transaction() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    me bigint := pg_current_xact_id()::text::bigint;
    first_entry bigint := COALESCE(NULLIF(current_setting('acountee.audit_first_id', true), '')::bigint, 0);
    f bigint; l bigint; n integer; d text;
    head_seq bigint; head_sum text; content text;
BEGIN
    EXECUTE format(
        'SELECT min(a.id), max(a.id), count(*),'
        ' encode(sha256(convert_to(string_agg(a.checksum, '''' ORDER BY a.id), ''UTF8'')), ''hex'')'
        ' FROM audit a WHERE a.id BETWEEN %s AND %s AND a.txn = %s',
        first_entry, currval('audit_id_seq'::regclass), me)
      INTO f, l, n, d;
    IF n = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(280603412820);
    SELECT s.seq, s.checksum INTO head_seq, head_sum FROM audit_seals s ORDER BY s.seq DESC LIMIT 1;
    head_seq := COALESCE(head_seq, 0) + 1;
    head_sum := COALESCE(head_sum, '');
    content := jsonb_build_array(head_seq, me, f, l, n, d)::text;
    INSERT INTO audit_seals (seq, txn, first_id, last_id, entry_count, entries_digest, prev_checksum, checksum,
                             sealed_at)
    VALUES (head_seq, me, f, l, n, d, head_sum,
            encode(sha256(convert_to(head_sum || content, 'UTF8')), 'hex'), clock_timestamp());
END
$$;
DROP FUNCTION IF EXISTS audit_chain_hmac(text);
"""

# The first keyed seal: this entry's transaction is sealed at the migration's commit.
MARK = """
INSERT INTO audit (action, table_name, record_id, actor, user_agent, metadata, checksum)
VALUES ('audit_key_enabled', 'audit_seals', '',
        COALESCE(NULLIF(current_setting('acountee.actor', true), ''), 'system:migrate'), '',
        jsonb_build_object('keyed', current_setting('acountee.audit_key', true) IS NOT NULL
                                    AND current_setting('acountee.audit_key', true) <> ''), '')
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_security_events_payment_controls")]

    operations = [
        migrations.AddField(
            model_name="auditseal",
            name="version",
            field=models.SmallIntegerField(default=1, verbose_name="checksum version"),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunSQL(MARK, migrations.RunSQL.noop),
    ]
