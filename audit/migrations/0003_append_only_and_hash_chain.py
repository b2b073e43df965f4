"""Append-only `audit` and `security_events`, and the commit-time hash chain over `audit`.

Why sealing happens at commit: the row trigger cannot take the chain's lock itself (held
until commit, it would deadlock against row locks the business transaction takes later).
Instead rows are inserted with an empty checksum and a DEFERRABLE INITIALLY DEFERRED
constraint trigger seals them when the transaction commits: it first makes every other
deferred constraint (foreign-key checks) run, then takes one advisory lock, reads the chain
head and chains this transaction's rows after it in id order. Only the first firing per
transaction works; the others return at once, so a bulk insert pays for one seal.

The canonical form is `audit/chain.py`'s (copied here, frozen).
"""

from django.db import migrations

DIGEST = (
    "encode(sha256(convert_to(jsonb_build_array(a.id, {seq}, a.action, a.table_name, a.record_id,"
    " a.before, a.after, a.actor, a.actor_user_id, (extract(epoch FROM a.occurred_at) * 1000000)::bigint,"
    " a.ip, a.user_agent, a.metadata)::text, 'UTF8')), 'hex')"
)

FORWARD = f"""
CREATE INDEX IF NOT EXISTS audit_unsealed_idx ON audit (id) WHERE checksum = '';

CREATE OR REPLACE FUNCTION audit_seal_pending() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_sum text;
    ids bigint[];
    digests text[];
    prevs text[];
    sums text[];
    prev text;
    n integer;
BEGIN
    PERFORM pg_advisory_xact_lock(280603412820);
    SELECT chain_seq, checksum INTO head_seq, head_sum
      FROM audit WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1;
    head_seq := COALESCE(head_seq, 0);
    head_sum := COALESCE(head_sum, '');
    SELECT array_agg(s.id ORDER BY s.id), array_agg(s.d ORDER BY s.id) INTO ids, digests
      FROM (SELECT a.id, {DIGEST.format(seq="head_seq + row_number() OVER (ORDER BY a.id)")} AS d
              FROM audit a WHERE a.checksum = '') s;
    n := COALESCE(array_length(ids, 1), 0);
    IF n = 0 THEN
        RETURN 0;
    END IF;
    prevs := array_fill(''::text, ARRAY[n]);
    sums := array_fill(''::text, ARRAY[n]);
    prev := head_sum;
    FOR i IN 1..n LOOP
        prevs[i] := prev;
        prev := encode(sha256(convert_to(prev || digests[i], 'UTF8')), 'hex');
        sums[i] := prev;
    END LOOP;
    UPDATE audit a SET chain_seq = head_seq + u.ord, prev_checksum = u.prev, checksum = u.sum
      FROM unnest(ids, prevs, sums) WITH ORDINALITY AS u(id, prev, sum, ord)
     WHERE a.id = u.id;
    RETURN ids[n];
END
$$;

CREATE OR REPLACE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    upto bigint;
BEGIN
    IF NEW.id <= COALESCE(NULLIF(current_setting('acountee.audit_sealed_upto', true), '')::bigint, 0)
       OR current_setting('acountee.audit_sealing', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('acountee.audit_sealing', 'on', true);
    -- Run every other pending deferred check now, before holding the chain lock: nothing
    -- is waited for while the lock is held, so sealing cannot take part in a deadlock.
    SET CONSTRAINTS ALL IMMEDIATE;
    upto := audit_seal_pending();
    PERFORM set_config('acountee.audit_sealed_upto', GREATEST(upto, NEW.id)::text, true);
    PERFORM set_config('acountee.audit_sealing', 'off', true);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS audit_seal ON audit;
CREATE CONSTRAINT TRIGGER audit_seal AFTER INSERT ON audit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_seal();

CREATE OR REPLACE FUNCTION audit_entry_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The one permitted update: sealing an entry (empty checksum -> its chain checksum).
    IF TG_OP = 'UPDATE' AND OLD.checksum = '' AND OLD.chain_seq IS NULL
       AND NEW.checksum <> '' AND NEW.chain_seq IS NOT NULL
       AND (OLD.id, OLD.action, OLD.table_name, OLD.record_id, OLD.before, OLD.after, OLD.actor,
            OLD.actor_user_id, OLD.occurred_at, OLD.ip, OLD.user_agent, OLD.metadata)
           IS NOT DISTINCT FROM
           (NEW.id, NEW.action, NEW.table_name, NEW.record_id, NEW.before, NEW.after, NEW.actor,
            NEW.actor_user_id, NEW.occurred_at, NEW.ip, NEW.user_agent, NEW.metadata) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS audit_append_only ON audit;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_entry_guard();
DROP TRIGGER IF EXISTS audit_no_truncate ON audit;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

DROP TRIGGER IF EXISTS security_events_append_only ON security_events;
CREATE TRIGGER security_events_append_only BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS security_events_no_truncate ON security_events;
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Entries written before this migration join the chain now.
SELECT audit_seal_pending();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS security_events_no_truncate ON security_events;
DROP TRIGGER IF EXISTS security_events_append_only ON security_events;
DROP TRIGGER IF EXISTS audit_no_truncate ON audit;
DROP TRIGGER IF EXISTS audit_append_only ON audit;
DROP TRIGGER IF EXISTS audit_seal ON audit;
DROP FUNCTION IF EXISTS audit_append_only();
DROP FUNCTION IF EXISTS audit_entry_guard();
DROP FUNCTION IF EXISTS audit_seal();
DROP FUNCTION IF EXISTS audit_seal_pending();
DROP INDEX IF EXISTS audit_unsealed_idx;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_security_events_and_chain")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
