-- 003_control_plane.sql: the orchestrator's control plane (see README "Control plane").
-- Non-destructive and idempotent.
--
--   cutover_control          one row per target table: the persistence mode every app instance
--                            must apply, and its epoch (bumped on each change).
--   cutover_instances        one row per app instance: its heartbeat and the epoch it applied.
--   cutover_runs             one row per orchestrator run; a partial unique index allows only one
--                            active run per target.
--   memory_record_tombstones deleted ids, so a late back-fill cannot bring a deleted record back.
--   cutover_database_marker  marks a database as production (the runner refuses _dev.sql there).

CREATE TABLE IF NOT EXISTS cutover_control (
    target             text        PRIMARY KEY,
    persistence        text        NOT NULL CHECK (persistence IN ('memory', 'dual-write', 'postgres')),
    dual_write_primary text        NOT NULL DEFAULT 'memory' CHECK (dual_write_primary IN ('memory', 'postgres')),
    fail_fast          boolean     NOT NULL DEFAULT false,
    dual_write_enabled boolean     NOT NULL DEFAULT true,
    epoch              bigint      NOT NULL DEFAULT 1,
    changed_by         text        NOT NULL DEFAULT 'bootstrap',
    reason             text        NOT NULL DEFAULT '',
    changed_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS cutover_instances (
    instance_id      text        PRIMARY KEY,
    target           text        NOT NULL,
    admin_url        text,
    applied_epoch    bigint      NOT NULL DEFAULT 0,
    applied_mode     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    started_at       timestamptz NOT NULL DEFAULT now(),
    last_heartbeat   timestamptz NOT NULL DEFAULT now(),
    stopped_at       timestamptz
);
CREATE INDEX IF NOT EXISTS cutover_instances_target_idx ON cutover_instances (target, last_heartbeat);

CREATE TABLE IF NOT EXISTS cutover_runs (
    run_id       text        PRIMARY KEY,
    workflow_id  text        NOT NULL,
    target       text        NOT NULL,
    kind         text        NOT NULL,
    status       text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'rolled_back', 'aborted', 'failed')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS cutover_runs_one_active_per_target
    ON cutover_runs (target) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS memory_record_tombstones (
    id          uuid        PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    deleted_at  timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS cutover_database_marker (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    environment  text        NOT NULL CHECK (environment IN ('production', 'staging', 'development')),
    marked_at    timestamptz NOT NULL DEFAULT now()
);
