-- ============================================================================
-- 002a_convert_to_partitioned.sql: step 2 of the runbook's
-- "Heap-to-Partitioned Conversion Procedure".
--
-- Creates memory_records_partitioned — the partitioned shadow of the heap memory_records, with
-- the same columns, a primary key of (id, created_at) and the same indexes — plus the helper
-- function and partitions for the current and next two months. Non-destructive and idempotent.
--
-- It does not copy data or swap tables: the heapToPartitionedConversion workflow (or an operator
-- following the runbook) creates a partition for every month present in the heap table, keeps
-- the shadow in sync, copies, verifies parity and swaps with a short lock_timeout.
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

CREATE TABLE IF NOT EXISTS memory_records_partitioned (
    id          uuid        NOT NULL,
    owner_id    text        NOT NULL,
    agent_id    text,
    kind        text        NOT NULL DEFAULT 'note',
    content     text        NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memory_records_partitioned_pkey PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX IF NOT EXISTS memory_records_partitioned_owner_created_idx ON memory_records_partitioned (owner_id, created_at);
CREATE INDEX IF NOT EXISTS memory_records_partitioned_created_idx ON memory_records_partitioned (created_at);
CREATE INDEX IF NOT EXISTS memory_records_partitioned_id_idx ON memory_records_partitioned (id);

SELECT create_monthly_partition((now() + make_interval(months => m))::date, 'memory_records_partitioned')
  FROM generate_series(0, 2) AS m;
