-- ============================================================================
-- SAFE PRODUCTION MIGRATION
-- 002_partitions.sql: partitioned memory_records (monthly, by created_at)
--
-- Non-destructive and idempotent:
--   * creates the helper create_monthly_partition(date);
--   * creates memory_records PARTITIONED BY RANGE (created_at) only when it is absent;
--   * pre-creates partitions for the current and the next two months;
--   * creates indexes with IF NOT EXISTS.
-- It never drops or rewrites a table and never deletes data.
--
-- If memory_records already exists as an ordinary (heap) table, this migration stops with an
-- error: a heap table cannot be converted in place. Follow the runbook's
-- "Heap-to-Partitioned Conversion Procedure" (002a_convert_to_partitioned.sql, or the
-- heapToPartitionedConversion workflow).
--
-- The primary key is (id, created_at): a partitioned table's unique constraints must include
-- the partition key, so the runbook's ON CONFLICT (id) cannot work here; use
-- ON CONFLICT (id, created_at).
-- ============================================================================

-- create_monthly_partition(month [, parent]): creates the partition of `parent` (default
-- memory_records) that holds the month containing `month`: [first day, first day of the next
-- month), named memory_records_YYYY_MM. Returns the partition's name. Safe to call any number of
-- times. The conversion procedure passes parent => 'memory_records_partitioned' for the shadow
-- table; its partitions keep their names when the swap renames the parent.
CREATE OR REPLACE FUNCTION create_monthly_partition(month date, parent text DEFAULT 'memory_records')
RETURNS text
LANGUAGE plpgsql
AS $fn$
DECLARE
    start_date date := date_trunc('month', month)::date;
    end_date   date := (date_trunc('month', month) + interval '1 month')::date;
    part_name  text := format('memory_records_%s', to_char(start_date, 'YYYY_MM'));
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
        part_name, parent, start_date, end_date);
    RETURN part_name;
END;
$fn$;

DO $migration$
DECLARE
    kind "char";
BEGIN
    SELECT c.relkind INTO kind
      FROM pg_class c
     WHERE c.oid = to_regclass('memory_records');

    IF kind = 'r' THEN
        RAISE EXCEPTION 'memory_records exists as a heap (non-partitioned) table; 002_partitions.sql cannot convert it'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Follow the runbook''s "Heap-to-Partitioned Conversion Procedure": apply 002a_convert_to_partitioned.sql or start the heapToPartitionedConversion workflow (cutover start conversion).';
    ELSIF kind IS NOT NULL AND kind <> 'p' THEN
        RAISE EXCEPTION 'memory_records exists but is not a table (relkind %)', kind
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Rename or remove the conflicting object, then re-run 002_partitions.sql.';
    END IF;
END
$migration$;

CREATE TABLE IF NOT EXISTS memory_records (
    id          uuid        NOT NULL,
    owner_id    text        NOT NULL,
    agent_id    text,
    kind        text        NOT NULL DEFAULT 'note',
    content     text        NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memory_records_pkey PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX IF NOT EXISTS memory_records_owner_created_idx ON memory_records (owner_id, created_at);
CREATE INDEX IF NOT EXISTS memory_records_created_idx ON memory_records (created_at);
CREATE INDEX IF NOT EXISTS memory_records_id_idx ON memory_records (id);

SELECT create_monthly_partition(now()::date);
SELECT create_monthly_partition((now() + interval '1 month')::date);
SELECT create_monthly_partition((now() + interval '2 months')::date);
