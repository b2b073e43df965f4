"""`audit` becomes a table partitioned by RANGE (occurred_at), one partition per UTC month, plus a
DEFAULT partition (docs/adr/0010-audit-log-partitioned-by-month.md).

What changes, and what does not:

- Rows are moved as they are (same id, content, checksum, txn): the seals in `audit_seals` still
  cover them and `verify_audit` gives the same answer before and after.
- The database's primary key is (id, occurred_at): a partitioned table's unique constraints must
  contain the partition key. Ids still come from one sequence, `audit_id_seq` (a plain sequence
  now: PostgreSQL 15 allows no identity column on a partitioned table), whose position carries
  over. Django keeps `id` as the model's primary key (its state is untouched).
- The indexes (the model's and any other app's, e.g. the reports' partial index), the triggers
  (checksum at insert, append-only, no TRUNCATE) and the grants are recreated on the partitioned
  table; row triggers and indexes are inherited by every partition, now and later. TRUNCATE
  triggers and grants are not inherited by PostgreSQL: `audit_guard_partition()` adds them to
  each partition (the runtime role gets on a partition exactly what it has on `audit`).
- Sealing prunes to the transaction's month (SEAL_PRUNED below): the seal's query no longer plans
  over every partition at each commit.
- Partitions are created ahead: `audit_ensure_partitions(months_ahead)` (SECURITY DEFINER, so the
  notification worker, connected as the runtime role, can call it; it only ever creates the
  current month .. +months_ahead, at most 36) — see docs/audit.md "Partitions".

Reversible while nothing is archived: going back moves the rows into a plain table again.
"""

from django.db import migrations

from acountee.db.migration_ops import unbounded

COLUMNS = (
    "id, action, table_name, record_id, before, after, actor, actor_user_id, occurred_at, ip, user_agent, "
    "metadata, checksum, txn"
)

FUNCTIONS = rf"""
CREATE OR REPLACE FUNCTION audit_partition_name(month date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT 'audit_y' || to_char(month, 'YYYY') || 'm' || to_char(month, 'MM') $$;

-- What PostgreSQL does not inherit from the partitioned table: the TRUNCATE guard and the grants.
CREATE OR REPLACE FUNCTION audit_guard_partition(part regclass) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    g record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = part AND tgname = 'audit_no_truncate') THEN
        EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()', part);
    END IF;
    -- Grants: exactly the parent's (default privileges may have granted more at creation).
    FOR g IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = part AND a.grantee <> c.relowner LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', part,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
    END LOOP;
    FOR g IN SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = 'audit'::regclass AND a.grantee <> c.relowner LOOP
        EXECUTE format('GRANT %s ON %s TO %s', g.privilege_type, part,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
    END LOOP;
END
$$;

-- One month's partition (bounds in UTC). Refuses nothing: returns NULL when it exists, is
-- archived, or when rows of that month already sit in the default partition (they stay there:
-- see docs/audit.md).
CREATE OR REPLACE FUNCTION audit_create_partition(month date) RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    m date := date_trunc('month', month)::date;
    name text := audit_partition_name(date_trunc('month', month)::date);
    lo text := to_char(date_trunc('month', month), 'YYYY-MM-DD') || ' 00:00:00+00';
    hi text := to_char(date_trunc('month', month) + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
    stray bigint;
BEGIN
    IF to_regclass('public.' || name) IS NOT NULL OR EXISTS (SELECT 1 FROM audit_archives WHERE audit_archives.month = m) THEN
        RETURN NULL;
    END IF;
    IF to_regclass('public.audit_default') IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM audit_default WHERE occurred_at >= %L AND occurred_at < %L', lo, hi)
          INTO stray;
        IF stray > 0 THEN
            RAISE WARNING 'audit: % entries of % are in audit_default; partition % not created', stray, m, name;
            RETURN NULL;
        END IF;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF audit FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
    PERFORM audit_guard_partition(name::regclass);
    RETURN name;
END
$$;
REVOKE ALL ON FUNCTION audit_create_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_guard_partition(regclass) FROM PUBLIC;

-- Rows that went to the default partition (their month had no partition) move to their month's
-- partition, created now; the default is detached meanwhile (PostgreSQL refuses a partition whose
-- rows sit in the default). Rows keep id, content, checksum and txn: the seals still match. The
-- owner runs it (`manage.py audit_partitions --absorb-default`), in a maintenance window: it
-- holds an ACCESS EXCLUSIVE lock on `audit` for the move. Months archived stay in the default.
CREATE OR REPLACE FUNCTION audit_absorb_default() RETURNS SETOF text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    m date;
    name text;
BEGIN
    ALTER TABLE audit DETACH PARTITION audit_default;
    ALTER TABLE audit_default RENAME TO audit_default_absorbing;
    FOR m IN SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date
               FROM audit_default_absorbing ORDER BY 1 LOOP
        name := audit_create_partition(m);
        CONTINUE WHEN name IS NULL;
        EXECUTE format('ALTER TABLE %I DISABLE TRIGGER audit_entry_before_insert', name);
        EXECUTE format('INSERT INTO %I ({COLUMNS}) SELECT {COLUMNS} FROM audit_default_absorbing'
                       ' WHERE date_trunc(''month'', occurred_at AT TIME ZONE ''UTC'')::date = %L', name, m);
        EXECUTE format('ALTER TABLE %I ENABLE TRIGGER audit_entry_before_insert', name);
        DELETE FROM audit_default_absorbing WHERE date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date = m;
        RETURN NEXT name;
    END LOOP;
    ALTER TABLE audit_default_absorbing RENAME TO audit_default;
    ALTER TABLE audit ATTACH PARTITION audit_default DEFAULT;
END
$$;
REVOKE ALL ON FUNCTION audit_absorb_default() FROM PUBLIC;

-- The current UTC month and the next `months_ahead` (0..36). SECURITY DEFINER: runs as the
-- tables' owner, so the runtime role (notification worker) may call it; it can do nothing else.
CREATE OR REPLACE FUNCTION audit_ensure_partitions(months_ahead integer DEFAULT 3) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    made text;
BEGIN
    IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 36 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 36';
    END IF;
    FOR i IN 0..months_ahead LOOP
        made := audit_create_partition((m + make_interval(months => i))::date);
        IF made IS NOT NULL THEN
            RETURN NEXT made;
        END IF;
    END LOOP;
END
$$;
"""

SEAL_PRUNED = r"""
-- Sealing finds the transaction's entries by id range and txn; on a partitioned table that is
-- one index probe per partition and, worse, planning over every partition at each commit
-- (bench/audit.py: ~0.3 s at 125 partitions under load). The transaction's entries are written
-- with clock_timestamp() (row triggers, the column default), so a time window around the
-- transaction prunes to its month's partition. An entry inserted with an explicit time outside
-- that window (a backdated semantic entry, a test) flags the transaction: it is sealed with the
-- unpruned query, as before.
CREATE OR REPLACE FUNCTION audit_entry_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.checksum := encode(sha256(convert_to(jsonb_build_array(NEW.id, NEW.action, NEW.table_name, NEW.record_id,
        NEW.before, NEW.after, NEW.actor, NEW.actor_user_id, (extract(epoch FROM NEW.occurred_at) * 1000000)::bigint,
        NEW.ip, NEW.user_agent, NEW.metadata)::text, 'UTF8')), 'hex');
    IF NEW.occurred_at < transaction_timestamp() - interval '1 hour'
       OR NEW.occurred_at > clock_timestamp() + interval '1 hour' THEN
        PERFORM set_config('acountee.audit_seal_any_time', 'on', true);
    END IF;
    IF current_setting('acountee.audit_seal_requested', true) IS DISTINCT FROM 'on' THEN
        PERFORM audit_request_seal(NEW.id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION audit_seal_transaction() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    me bigint := pg_current_xact_id()::text::bigint;
    first_entry bigint := COALESCE(NULLIF(current_setting('acountee.audit_first_id', true), '')::bigint, 0);
    window_sql text := '';
    f bigint; l bigint; n integer; d text;
    head_seq bigint; head_sum text; content text; keyed text;
BEGIN
    IF current_setting('acountee.audit_seal_any_time', true) IS DISTINCT FROM 'on' THEN
        window_sql := format(' AND a.occurred_at >= %L::timestamptz AND a.occurred_at <= %L::timestamptz',
                             transaction_timestamp() - interval '1 hour', clock_timestamp() + interval '1 hour');
    END IF;
    EXECUTE format(
        'SELECT min(a.id), max(a.id), count(*),'
        ' encode(sha256(convert_to(string_agg(a.checksum, '''' ORDER BY a.id), ''UTF8'')), ''hex'')'
        ' FROM audit a WHERE a.id BETWEEN %s AND %s AND a.txn = %s',
        first_entry, currval('audit_id_seq'::regclass), me) || window_sql
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

# 0010's sealing and 0005's insert trigger, restored when going back.
SEAL_UNPRUNED = r"""
CREATE OR REPLACE FUNCTION audit_entry_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.checksum := encode(sha256(convert_to(jsonb_build_array(NEW.id, NEW.action, NEW.table_name, NEW.record_id,
        NEW.before, NEW.after, NEW.actor, NEW.actor_user_id, (extract(epoch FROM NEW.occurred_at) * 1000000)::bigint,
        NEW.ip, NEW.user_agent, NEW.metadata)::text, 'UTF8')), 'hex');
    IF current_setting('acountee.audit_seal_requested', true) IS DISTINCT FROM 'on' THEN
        PERFORM audit_request_seal(NEW.id);
    END IF;
    RETURN NEW;
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

FORWARD = rf"""
LOCK TABLE audit IN ACCESS EXCLUSIVE MODE;
CREATE TEMP TABLE audit_migration_indexes ON COMMIT DROP AS
    SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'audit'::regclass AND NOT indisprimary;
CREATE TEMP TABLE audit_migration_grants ON COMMIT DROP AS
    SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = 'audit'::regclass AND a.grantee <> c.relowner;

ALTER TABLE audit RENAME TO audit_unpartitioned;
ALTER TABLE audit_unpartitioned RENAME CONSTRAINT audit_pkey TO audit_unpartitioned_pkey;
CREATE SEQUENCE audit_entry_id_seq_new;
SELECT setval('audit_entry_id_seq_new', last_value, is_called) FROM audit_id_seq;

CREATE TABLE audit (
    id bigint NOT NULL DEFAULT nextval('audit_entry_id_seq_new'),
    action varchar(64) NOT NULL,
    table_name varchar(128) NOT NULL,
    record_id varchar(64) NOT NULL,
    before jsonb,
    after jsonb,
    actor varchar(255) NOT NULL,
    actor_user_id bigint,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ip inet,
    user_agent text NOT NULL,
    metadata jsonb NOT NULL,
    checksum varchar(64) NOT NULL,
    txn bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    CONSTRAINT audit_pkey PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

DO $$
DECLARE
    g record;
    first_month date;
BEGIN
    FOR g IN SELECT * FROM audit_migration_grants LOOP
        EXECUTE format('GRANT %s ON audit TO %s', g.privilege_type,
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END);
    END LOOP;
    SELECT date_trunc('month', min(occurred_at) AT TIME ZONE 'UTC')::date INTO first_month FROM audit_unpartitioned;
    first_month := COALESCE(first_month, date_trunc('month', now() AT TIME ZONE 'UTC')::date);
    WHILE first_month < date_trunc('month', now() AT TIME ZONE 'UTC')::date LOOP
        PERFORM audit_create_partition(first_month);
        first_month := (first_month + interval '1 month')::date;
    END LOOP;
END
$$;
SELECT audit_ensure_partitions(3);
CREATE TABLE audit_default PARTITION OF audit DEFAULT;
SELECT audit_guard_partition('audit_default'::regclass);

INSERT INTO audit ({COLUMNS}) SELECT {COLUMNS} FROM audit_unpartitioned;
DROP TABLE audit_unpartitioned;
ALTER SEQUENCE audit_entry_id_seq_new RENAME TO audit_id_seq;
ALTER SEQUENCE audit_id_seq OWNED BY audit.id;

DO $$
DECLARE
    i record;
BEGIN
    FOR i IN SELECT def FROM audit_migration_indexes LOOP
        EXECUTE i.def;
    END LOOP;
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entry_before_insert BEFORE INSERT ON audit
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION audit_entry_before_insert();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
ANALYZE audit;
-- Plans cached by this session's functions named the old table and sequence.
DISCARD PLANS;
"""

BACKWARD = rf"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_archives) THEN
        RAISE EXCEPTION 'audit months are archived (audit_archives): their rows are not in the database any more';
    END IF;
END
$$;
LOCK TABLE audit IN ACCESS EXCLUSIVE MODE;
CREATE TEMP TABLE audit_migration_indexes ON COMMIT DROP AS
    SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') AS def FROM pg_index i
     WHERE i.indrelid = 'audit'::regclass AND NOT i.indisprimary;
CREATE TEMP TABLE audit_migration_grants ON COMMIT DROP AS
    SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = 'audit'::regclass AND a.grantee <> c.relowner;
ALTER TABLE audit RENAME TO audit_partitioned;
ALTER TABLE audit_partitioned RENAME CONSTRAINT audit_pkey TO audit_partitioned_pkey;
CREATE TABLE audit (
    id bigint GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME audit_entry_id_seq_old) PRIMARY KEY,
    action varchar(64) NOT NULL,
    table_name varchar(128) NOT NULL,
    record_id varchar(64) NOT NULL,
    before jsonb,
    after jsonb,
    actor varchar(255) NOT NULL,
    actor_user_id bigint,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ip inet,
    user_agent text NOT NULL,
    metadata jsonb NOT NULL,
    checksum varchar(64) NOT NULL,
    txn bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)
);
SELECT setval('audit_entry_id_seq_old', last_value, is_called) FROM audit_id_seq;
INSERT INTO audit ({COLUMNS}) OVERRIDING SYSTEM VALUE SELECT {COLUMNS} FROM audit_partitioned;
DROP TABLE audit_partitioned;
ALTER SEQUENCE audit_entry_id_seq_old RENAME TO audit_id_seq;
DO $$
DECLARE
    i record;
BEGIN
    FOR i IN SELECT def FROM audit_migration_indexes LOOP
        EXECUTE i.def;
    END LOOP;
    FOR i IN SELECT * FROM audit_migration_grants LOOP
        EXECUTE format('GRANT %s ON audit TO %s', i.privilege_type,
                       CASE WHEN i.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(i.grantee::regrole::text) END);
    END LOOP;
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entry_before_insert BEFORE INSERT ON audit
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION audit_entry_before_insert();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
DROP FUNCTION IF EXISTS audit_ensure_partitions(integer);
DROP FUNCTION IF EXISTS audit_absorb_default();
DROP FUNCTION IF EXISTS audit_create_partition(date);
DROP FUNCTION IF EXISTS audit_guard_partition(regclass);
DROP FUNCTION IF EXISTS audit_partition_name(date);
DISCARD PLANS;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0011_checkpoints_and_archives")]

    # Copies the whole log into the partitions: minutes on a large one, past the requests' statement timeout.
    operations = unbounded(migrations.RunSQL(FUNCTIONS + FORWARD + SEAL_PRUNED, SEAL_UNPRUNED + BACKWARD))
