"""Find the transaction's entries with a plan made for its actual first id.

Inside PL/pgSQL, `WHERE id >= first_entry` is planned for an unknown value (a third of the
table): a sequential scan of the whole log at every commit (~100 ms at 300k entries,
bench/audit.py). EXECUTE with the values inlined gets an index range scan over the few
entries of this transaction.
"""

from django.db import migrations

FORWARD = """
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
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION audit_seal_transaction() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    me bigint := pg_current_xact_id()::text::bigint;
    first_entry bigint := COALESCE(NULLIF(current_setting('acountee.audit_first_id', true), '')::bigint, 0);
    f bigint; l bigint; n integer; d text;
    head_seq bigint; head_sum text; content text;
BEGIN
    SELECT min(a.id), max(a.id), count(*),
           encode(sha256(convert_to(string_agg(a.checksum, '' ORDER BY a.id), 'UTF8')), 'hex')
      INTO f, l, n, d
      FROM audit a WHERE a.id >= first_entry AND a.txn = me;
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
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_seal_per_transaction")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
