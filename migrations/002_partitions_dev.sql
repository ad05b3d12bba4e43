-- ============================================================================
-- DEV-ONLY MIGRATION — DESTRUCTIVE
-- 002_partitions_dev.sql: drops memory_records (CASCADE) and recreates it partitioned.
--
-- WILL DELETE ALL DATA in memory_records. Irreversible without a backup.
-- MUST NOT run on production with existing data: the migration runner refuses this file against
-- a database marked production (cutover_database_marker) or whose memory_records holds rows,
-- and the CI gates exempt only files ending in _dev.sql from the destructive-SQL blocker.
--
-- Creates: the partitioned table, all indexes, the helper function and six months of
-- partitions (the current month and the next five).
-- ============================================================================

DROP TABLE IF EXISTS memory_records CASCADE;

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

CREATE TABLE memory_records (
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

CREATE INDEX memory_records_owner_created_idx ON memory_records (owner_id, created_at);
CREATE INDEX memory_records_created_idx ON memory_records (created_at);
CREATE INDEX memory_records_id_idx ON memory_records (id);

SELECT create_monthly_partition((now() + make_interval(months => m))::date)
  FROM generate_series(0, 5) AS m;
