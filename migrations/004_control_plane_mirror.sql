-- 004_control_plane_mirror.sql: the control row can name a mirror table (see README "Control plane").
-- Non-destructive and idempotent.
--
--   cutover_control.mirror_table   NULL, or a table of the memory_records shape in the same
--                                  database. With persistence 'postgres' every app instance then
--                                  writes each change to the primary table first and to this
--                                  table second (the app's dual-write), counting a failure in
--                                  dual_write_failures_total (failing the request when fail_fast).
--                                  The heap-to-partitioned conversion uses it with sync
--                                  "app-dual-write": memory_records_partitioned before the swap,
--                                  memory_records_old after it.

ALTER TABLE cutover_control ADD COLUMN IF NOT EXISTS mirror_table text;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'cutover_control_mirror_table_check') THEN
        ALTER TABLE cutover_control ADD CONSTRAINT cutover_control_mirror_table_check
            CHECK (mirror_table IS NULL OR (persistence = 'postgres' AND mirror_table ~ '^[a-z_][a-z0-9_]{0,62}$'));
    END IF;
END
$$;
