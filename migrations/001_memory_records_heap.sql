-- 001: Phase 2 memory_records as an ordinary (heap) table.
--
-- This is the starting point of the runbook's "Heap-to-Partitioned Conversion Procedure".
-- Installations that never had Phase 2 data in Postgres skip it and run 002_partitions.sql.
-- Idempotent: re-running changes nothing.

CREATE TABLE IF NOT EXISTS memory_records (
    id          uuid        NOT NULL,
    owner_id    text        NOT NULL,
    agent_id    text,
    kind        text        NOT NULL DEFAULT 'note',
    content     text        NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memory_records_pkey PRIMARY KEY (id),
    -- Lets writers use ON CONFLICT (id, created_at) against the heap table and the partitioned
    -- table alike (a partitioned table's unique keys must include created_at).
    CONSTRAINT memory_records_id_created_key UNIQUE (id, created_at)
);

CREATE INDEX IF NOT EXISTS memory_records_owner_created_idx ON memory_records (owner_id, created_at);
CREATE INDEX IF NOT EXISTS memory_records_created_idx ON memory_records (created_at);
