-- 008_app_role_runs.sql: the one question the app role may ask of the run registry.
-- Non-destructive and idempotent.
--
-- Self-fencing (src/memory-layer/lease.ts, instance-control.ts) asks, on every heartbeat,
-- whether a run is active for the instance's target. The app role may not read cutover_runs
-- (005: least privilege), and without an answer the lease is never renewed with it, so an
-- instance connected as lichen_app would behave as in plain Phase 2 (serving through a freeze
-- instead of fencing itself). cutover_run_active answers that question and nothing else:
-- SECURITY DEFINER, owned by the owner, with a fixed search_path, executable by lichen_app.

CREATE OR REPLACE FUNCTION cutover_run_active(p_target text) RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
    SELECT EXISTS (SELECT 1 FROM public.cutover_runs WHERE target = p_target AND status = 'active')
$fn$;

REVOKE ALL ON FUNCTION cutover_run_active(text) FROM PUBLIC;

DO $grants$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lichen_app') THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION cutover_run_active(text) TO lichen_app';
    END IF;
END
$grants$;
