"""Seal after every other deferred check of the transaction, not during them.

`SET CONSTRAINTS ALL IMMEDIATE` inside a trigger that already runs at commit does not fire
the events the commit has already claimed, so foreign-key checks queued after the first
audit row still ran *after* the chain lock was taken, and could wait on a row lock held by a
transaction waiting for that chain lock: a deadlock (tests/audit/test_chain.py).

Now the first `audit_seal` firing of a transaction only inserts a row into
`audit_seal_queue`, whose own deferred trigger is queued behind every event already pending;
PostgreSQL fires it in the next pass at commit, when all foreign-key checks of the
transaction are done. That trigger takes the lock, seals, and deletes its queue row. Holding
the lock, the transaction waits for nothing else.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE IF NOT EXISTS audit_seal_queue (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);

CREATE OR REPLACE FUNCTION audit_seal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <= COALESCE(NULLIF(current_setting('acountee.audit_sealed_upto', true), '')::bigint, 0)
       OR current_setting('acountee.audit_seal_requested', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('acountee.audit_seal_requested', 'on', true);
    INSERT INTO audit_seal_queue DEFAULT VALUES;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION audit_seal_final() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    upto bigint;
BEGIN
    DELETE FROM audit_seal_queue WHERE id = NEW.id;
    upto := audit_seal_pending();
    PERFORM set_config('acountee.audit_sealed_upto',
        GREATEST(upto, COALESCE(NULLIF(current_setting('acountee.audit_sealed_upto', true), '')::bigint, 0))::text,
        true);
    PERFORM set_config('acountee.audit_seal_requested', 'off', true);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS audit_seal_final ON audit_seal_queue;
CREATE CONSTRAINT TRIGGER audit_seal_final AFTER INSERT ON audit_seal_queue
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_seal_final();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_seal_final ON audit_seal_queue;
DROP FUNCTION IF EXISTS audit_seal_final();
DROP TABLE IF EXISTS audit_seal_queue;
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
    SET CONSTRAINTS ALL IMMEDIATE;
    upto := audit_seal_pending();
    PERFORM set_config('acountee.audit_sealed_upto', GREATEST(upto, NEW.id)::text, true);
    PERFORM set_config('acountee.audit_sealing', 'off', true);
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_and_hash_chain")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
