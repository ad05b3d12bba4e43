-- 007_instance_membership.sql: an operator can declare an app instance gone (see README "Control plane").
-- Non-destructive and idempotent.
--
--   cutover_instances.forgotten_at      when an operator declared the instance gone (forgetInstance);
--   cutover_instances.forgotten_by      who did;
--   cutover_instances.forgotten_reason  why.
-- The fleet of a target is every registered instance that has not stopped cleanly and is not
-- forgotten; a forgotten instance that heartbeats again (last_heartbeat > forgotten_at) is back
-- in the fleet. Forgetting gives up the records only that instance's memory holds.

ALTER TABLE cutover_instances ADD COLUMN IF NOT EXISTS forgotten_at timestamptz;
ALTER TABLE cutover_instances ADD COLUMN IF NOT EXISTS forgotten_by text;
ALTER TABLE cutover_instances ADD COLUMN IF NOT EXISTS forgotten_reason text;
