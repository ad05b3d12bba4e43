/**
 * Table shapes for the generic conversion's tests (the "zoo"). Each is plain SQL a platform
 * team could have written; `app` is the unprivileged application role of the test database.
 */
export const APP_ROLE_SQL = (role: string) => `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN PASSWORD 'app-pw'; END IF;
END $$`;

/** billing.invoices: serial id PK without the partition column, enum, domain, numeric, jsonb, arrays, bytea, generated column, check, partial + expression indexes, outgoing FK, a stamping trigger, RLS, grants, a view and a materialized view, a comment. */
export const INVOICES_SQL = (app: string) => `
CREATE SCHEMA IF NOT EXISTS billing;
CREATE TYPE billing.invoice_state AS ENUM ('draft', 'open', 'paid', 'void');
CREATE DOMAIN billing.money_amount AS numeric(12,2) CHECK (VALUE >= 0);
CREATE TABLE billing.customers (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO billing.customers SELECT g, 'customer ' || g FROM generate_series(1, 20) g;
CREATE TABLE billing.invoices (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES billing.customers (id),
  number text COLLATE "C" NOT NULL,
  state billing.invoice_state NOT NULL DEFAULT 'draft',
  amount billing.money_amount NOT NULL DEFAULT 0,
  tax numeric(12,2) GENERATED ALWAYS AS (round(amount * 0.2, 2)) STORED,
  lines jsonb NOT NULL DEFAULT '[]',
  tags text[] NOT NULL DEFAULT '{}',
  pdf bytea,
  issued_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  writes integer NOT NULL DEFAULT 0,
  CONSTRAINT invoices_number_nonempty CHECK (number <> '')
) WITH (fillfactor = 90);
COMMENT ON TABLE billing.invoices IS 'one row per invoice';
COMMENT ON COLUMN billing.invoices.number IS 'human invoice number';
CREATE INDEX invoices_open_idx ON billing.invoices (customer_id) WHERE state = 'open';
CREATE INDEX invoices_lower_number_idx ON billing.invoices (lower(number));
CREATE INDEX invoices_issued_idx ON billing.invoices (issued_at);
CREATE FUNCTION billing.stamp() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN NEW.updated_at := clock_timestamp(); NEW.writes := OLD.writes + 1; RETURN NEW; END $f$;
CREATE TRIGGER invoices_stamp BEFORE UPDATE ON billing.invoices FOR EACH ROW EXECUTE FUNCTION billing.stamp();
ALTER TABLE billing.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_app ON billing.invoices TO ${app} USING (state <> 'void') WITH CHECK (amount >= 0);
GRANT USAGE ON SCHEMA billing TO ${app};
GRANT SELECT, INSERT, UPDATE, DELETE ON billing.invoices TO ${app};
GRANT SELECT ON billing.customers TO ${app};
GRANT USAGE ON SEQUENCE billing.invoices_id_seq TO ${app};
CREATE VIEW billing.open_invoices AS SELECT id, customer_id, amount FROM billing.invoices WHERE state = 'open';
CREATE MATERIALIZED VIEW billing.invoice_totals AS SELECT customer_id, count(*) AS n, sum(amount) AS total FROM billing.invoices GROUP BY customer_id;
GRANT SELECT ON billing.open_invoices TO ${app};
`;

/** More shapes of the zoo: a uuid key (day), an identity key (month), a composite key without the partition column on a date (year). */
export const ZOO: {
  name: string; table: string; column: string; interval: 'day' | 'week' | 'month' | 'year'; sql: (app: string) => string;
  /** Run during the sync by the app: a row whose partition the plan did not premake (kept pending by the sync; the run creates its partition outside the app's transaction). */
  future?: { sql: string; partition: string };
}[] = [
  {
    name: 'a uuid key, partitioned by day',
    table: 'zoo.sessions', column: 'started_at', interval: 'day',
    sql: (app) => `CREATE SCHEMA IF NOT EXISTS zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), started_at timestamptz NOT NULL, payload jsonb, flags boolean[] NOT NULL DEFAULT '{}', score double precision);
      INSERT INTO zoo.sessions (started_at, payload) SELECT now() - g * interval '5 hours', jsonb_build_object('g', g) FROM generate_series(1, 400) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.sessions TO ${app};`,
  },
  {
    name: 'an identity key, partitioned by month',
    table: 'zoo.events', column: 'at', interval: 'month',
    sql: (app) => `CREATE SCHEMA IF NOT EXISTS zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), kind varchar(12) NOT NULL, body text);
      CREATE INDEX events_kind_idx ON zoo.events (kind) WHERE body IS NOT NULL;
      INSERT INTO zoo.events (at, kind, body) SELECT now() - g * interval '9 hours', 'k' || (g % 5), 'b' || g FROM generate_series(1, 400) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.events TO ${app};`,
  },
  {
    name: 'a composite key without the partition column, on a date, partitioned by year',
    table: 'zoo.ledger', column: 'booked_on', interval: 'year',
    sql: (app) => `CREATE SCHEMA IF NOT EXISTS zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo.ledger (account int NOT NULL, entry bigint NOT NULL, booked_on date NOT NULL, amount numeric(14,4) NOT NULL, memo text, PRIMARY KEY (account, entry));
      INSERT INTO zoo.ledger SELECT g % 7, g, current_date - g * 2, g / 3.0, 'm' || g FROM generate_series(1, 400) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo.ledger TO ${app};`,
  },
  {
    name: 'a mixed-case table and column, partitioned by ISO week, with a write beyond the premade partitions',
    table: 'zoo.AuditLog', column: 'When', interval: 'week',
    sql: (app) => `CREATE SCHEMA IF NOT EXISTS zoo; GRANT USAGE ON SCHEMA zoo TO ${app};
      CREATE TABLE zoo."AuditLog" ("Id" bigserial PRIMARY KEY, "When" timestamp NOT NULL, "What" text NOT NULL, "Who" text);
      INSERT INTO zoo."AuditLog" ("When", "What") SELECT localtimestamp - g * interval '7 hours', 'w' || g FROM generate_series(1, 300) g;
      GRANT SELECT, INSERT, UPDATE, DELETE ON zoo."AuditLog" TO ${app}; GRANT USAGE ON SEQUENCE zoo."AuditLog_Id_seq" TO ${app};`,
    future: { sql: `INSERT INTO zoo."AuditLog" ("When", "What") VALUES ('2031-03-05 10:00', 'far ahead')`, partition: 'AuditLog_p2031w10' },
  },
];
