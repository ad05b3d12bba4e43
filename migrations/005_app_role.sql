-- 005_app_role.sql: the least-privilege application role, on the control-plane tables.
-- Non-destructive and idempotent. See README "Roles".
--
-- Role layout:
--   owner role   whoever applies migrations (the database owner, e.g. lichen_owner). It owns every
--                table and function; the worker connects as it (DDL: partitions, conversion, swap,
--                maintenance).
--   lichen_app   a NOLOGIN group role; each app instance logs in as a member of it. DML only:
--                here on the tables the app uses of the control plane, in 006 on the records
--                tables. It creates no table: a month's partition is made by the SECURITY
--                DEFINER create_monthly_partition (006), owned by the owner.
--
-- The role is cluster-wide: CREATE ROLE needs CREATEROLE, so an operator may create it
-- beforehand; two databases migrating at once may race to create it (tolerated).

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lichen_app') THEN
        BEGIN
            CREATE ROLE lichen_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database's migration created it first
        END;
    END IF;
END
$roles$;

GRANT SELECT ON cutover_control TO lichen_app;
GRANT SELECT, INSERT, UPDATE ON cutover_instances TO lichen_app;
GRANT SELECT, INSERT ON memory_record_tombstones TO lichen_app;
