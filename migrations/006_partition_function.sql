-- 006_partition_function.sql: the month-partition helper as a SECURITY DEFINER function, and the
-- app role's DML on the records tables. Non-destructive and idempotent; re-applied after 002a
-- (the conversion plan), which redefines the helper.
--
-- create_monthly_partition(month, parent) replaces the helper of 002/002a:
--   * bounds in UTC whatever the caller's TimeZone: [YYYY-MM-01 00:00:00+00, next month 00:00+00)
--     of the date `month` as written (a date has no zone), so sessions with different TimeZone
--     settings create the same partitions: no gap, no overlap;
--   * SECURITY DEFINER, owned by the owner, with a fixed search_path: the app role (no CREATE
--     privilege) writes a record for a new month through it;
--   * for callers other than the owner (the app role): months from 2000-01 to 13 months after
--     today (UTC) only, so no client can create an unbounded number of tables;
--   * a table of the partition's name that is not a partition of `parent` (a month detached by
--     partition maintenance) is refused with a clear error, never a silent no-op;
--   * a concurrent creator is tolerated: the same name (duplicate_table), or an overlapping
--     partition (42P17, one made by the older helper in another TimeZone) that covers the whole
--     month, whose name is returned.

CREATE OR REPLACE FUNCTION create_monthly_partition(month date, parent text DEFAULT 'memory_records')
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $fn$
DECLARE
    first_day  date := make_date(extract(year FROM month)::int, extract(month FROM month)::int, 1);
    next_day   date := (make_date(extract(year FROM month)::int, extract(month FROM month)::int, 1) + interval '1 month')::date;
    part_name  text := format('memory_records_%s', to_char(month, 'YYYY_MM'));
    lo         timestamptz := (to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+00')::timestamptz;
    hi         timestamptz := (to_char(next_day, 'YYYY-MM-DD') || ' 00:00:00+00')::timestamptz;
    parent_oid oid := to_regclass(format('public.%I', parent));
    existing   oid;
    attached   oid;
    cover      record;
BEGIN
    IF parent_oid IS NULL OR (SELECT relkind FROM pg_class WHERE oid = parent_oid) <> 'p' THEN
        RAISE EXCEPTION 'create_monthly_partition: % is not a partitioned table', parent
            USING ERRCODE = 'wrong_object_type';
    END IF;
    -- Callers other than the owner (the app role) are held to the documented range; the owner
    -- (maintenance with its own clock, an operator) is not.
    IF NOT pg_has_role(session_user, (SELECT p.proowner FROM pg_proc p WHERE p.oid = 'create_monthly_partition(date, text)'::regprocedure), 'USAGE')
       AND (first_day < date '2000-01-01' OR first_day > (now() AT TIME ZONE 'UTC')::date + interval '13 months') THEN
        RAISE EXCEPTION 'create_monthly_partition: month % is outside 2000-01 .. 13 months from now', to_char(first_day, 'YYYY-MM')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'records carry createdAt from 2000-01-01 to one year ahead';
    END IF;
    existing := to_regclass(format('public.%I', part_name));
    IF existing IS NULL THEN
        BEGIN
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                           part_name, parent, lo, hi);
            RETURN part_name;
        EXCEPTION
            WHEN duplicate_table OR unique_violation THEN
                existing := to_regclass(format('public.%I', part_name)); -- a concurrent creator won
            WHEN invalid_object_definition THEN
                -- 42P17: overlaps a partition made with other bounds; fine if it holds the whole month.
                SELECT c.relname INTO cover
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = parent_oid
                   AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), $re$FROM \('([^']+)'\) TO \('([^']+)'\)$re$))[1]::timestamptz <= lo
                   AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), $re$FROM \('([^']+)'\) TO \('([^']+)'\)$re$))[2]::timestamptz >= hi;
                IF FOUND THEN
                    RETURN cover.relname;
                END IF;
                RAISE EXCEPTION 'create_monthly_partition: the month % [%, %) of % overlaps a partition with other bounds (made by an older helper in another TimeZone?)', to_char(first_day, 'YYYY-MM'), lo, hi, parent
                    USING ERRCODE = 'invalid_object_definition',
                          HINT = 'list the bounds: SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ''' || parent || '''::regclass';
        END;
    END IF;
    SELECT i.inhparent INTO attached FROM pg_inherits i WHERE i.inhrelid = existing;
    IF attached = parent_oid THEN
        RETURN part_name;
    ELSIF attached IS NULL THEN
        RAISE EXCEPTION 'create_monthly_partition: % exists but is not a partition of % (detached by partition maintenance?): rows of % cannot be written there', part_name, parent, to_char(first_day, 'YYYY-MM')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('reattach it (ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)) or rename it to archive it, then retry', parent, part_name, lo, hi);
    ELSE
        RAISE EXCEPTION 'create_monthly_partition: % is a partition of %, not of %', part_name, attached::regclass, parent
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END;
$fn$;

REVOKE ALL ON FUNCTION create_monthly_partition(date, text) FROM PUBLIC;

DO $grants$
DECLARE
    t text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lichen_app') THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION create_monthly_partition(date, text) TO lichen_app';
        FOREACH t IN ARRAY ARRAY['memory_records', 'memory_records_partitioned'] LOOP
            IF to_regclass(t) IS NOT NULL THEN
                EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO lichen_app', t);
            END IF;
        END LOOP;
    END IF;
END
$grants$;
