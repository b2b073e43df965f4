"""Excluded columns (file content) are blanked before the row becomes JSON.

Before, the trigger converted the whole row to JSON and dropped the excluded keys after:
for a 100 MB file that meant a 200 MB hex string per upload (seconds of CPU, and a hard
failure past PostgreSQL's 256 MB string limit). Nothing else changes.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    excluded text[] := string_to_array(NULLIF(TG_ARGV[0], ''), ',');
    old_row jsonb;
    new_row jsonb;
    blanks jsonb;
    entry_id bigint;
    v_record text;
    v_actor text;
    v_user bigint;
    v_ip inet;
    v_agent text;
    v_at timestamptz;
BEGIN
    IF excluded IS NULL THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN old_row := to_jsonb(OLD); END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN new_row := to_jsonb(NEW); END IF;
    ELSE
        -- Blank the excluded columns *before* turning the row into JSON: converting a 100 MB
        -- bytea first (to drop it afterwards) costs seconds and fails past ~128 MB.
        SELECT jsonb_object_agg(c, NULL) INTO blanks FROM unnest(excluded) AS c;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            old_row := to_jsonb(jsonb_populate_record(OLD, blanks)) - excluded;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            new_row := to_jsonb(jsonb_populate_record(NEW, blanks)) - excluded;
        END IF;
    END IF;
    -- An update that changes nothing is not a change.
    IF TG_OP = 'UPDATE' AND old_row IS NOT DISTINCT FROM new_row THEN
        RETURN NULL;
    END IF;
    entry_id := nextval('audit_id_seq'::regclass);
    v_record := COALESCE(new_row->>'id', old_row->>'id', '');
    v_actor := COALESCE(NULLIF(current_setting('acountee.actor', true), ''), 'unknown');
    v_user := NULLIF(current_setting('acountee.actor_user_id', true), '')::bigint;
    v_ip := NULLIF(current_setting('acountee.ip', true), '')::inet;
    v_agent := COALESCE(current_setting('acountee.user_agent', true), '');
    v_at := clock_timestamp();
    INSERT INTO audit (id, action, table_name, record_id, before, after, actor, actor_user_id,
                       ip, user_agent, metadata, checksum, occurred_at)
    VALUES (entry_id, TG_OP, TG_TABLE_NAME, v_record, old_row, new_row, v_actor, v_user, v_ip, v_agent,
            '{}'::jsonb,
            encode(sha256(convert_to(jsonb_build_array(entry_id, TG_OP, TG_TABLE_NAME, v_record, old_row,
                new_row, v_actor, v_user, (extract(epoch FROM v_at) * 1000000)::bigint, v_ip, v_agent,
                '{}'::jsonb)::text, 'UTF8')), 'hex'),
            v_at);
    IF current_setting('acountee.audit_seal_requested', true) IS DISTINCT FROM 'on' THEN
        PERFORM audit_request_seal(entry_id);
    END IF;
    RETURN NULL;
END
$$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    excluded text[] := string_to_array(NULLIF(TG_ARGV[0], ''), ',');
    old_row jsonb;
    new_row jsonb;
    entry_id bigint;
    v_record text;
    v_actor text;
    v_user bigint;
    v_ip inet;
    v_agent text;
    v_at timestamptz;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN new_row := to_jsonb(NEW); END IF;
    IF excluded IS NOT NULL THEN
        old_row := old_row - excluded;
        new_row := new_row - excluded;
    END IF;
    -- An update that changes nothing is not a change.
    IF TG_OP = 'UPDATE' AND old_row IS NOT DISTINCT FROM new_row THEN
        RETURN NULL;
    END IF;
    entry_id := nextval('audit_id_seq'::regclass);
    v_record := COALESCE(new_row->>'id', old_row->>'id', '');
    v_actor := COALESCE(NULLIF(current_setting('acountee.actor', true), ''), 'unknown');
    v_user := NULLIF(current_setting('acountee.actor_user_id', true), '')::bigint;
    v_ip := NULLIF(current_setting('acountee.ip', true), '')::inet;
    v_agent := COALESCE(current_setting('acountee.user_agent', true), '');
    v_at := clock_timestamp();
    INSERT INTO audit (id, action, table_name, record_id, before, after, actor, actor_user_id,
                       ip, user_agent, metadata, checksum, occurred_at)
    VALUES (entry_id, TG_OP, TG_TABLE_NAME, v_record, old_row, new_row, v_actor, v_user, v_ip, v_agent,
            '{}'::jsonb,
            encode(sha256(convert_to(jsonb_build_array(entry_id, TG_OP, TG_TABLE_NAME, v_record, old_row,
                new_row, v_actor, v_user, (extract(epoch FROM v_at) * 1000000)::bigint, v_ip, v_agent,
                '{}'::jsonb)::text, 'UTF8')), 'hex'),
            v_at);
    IF current_setting('acountee.audit_seal_requested', true) IS DISTINCT FROM 'on' THEN
        PERFORM audit_request_seal(entry_id);
    END IF;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_seal_with_custom_plan")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
