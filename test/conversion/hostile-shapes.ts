/**
 * The hostile-schema corpus: table shapes nobody here wrote, each as plain SQL a team could
 * have written (`app` is the unprivileged application role). A case either converts online
 * under the generic load with the row-image oracle at zero, or the plan refuses it with the
 * blocker named (`blocker`) before anything changes.
 */
import type { TableName } from '../../src/conversion/choice/names';
import type { SqlOp } from '../../src/loadgen/sql/row-log';

export interface HostileCase {
  name: string;
  table: TableName;
  column: string;
  interval: 'day' | 'week' | 'month' | 'year';
  sql: (app: string) => string;
  /** The plan must refuse it with this blocker code, naming `object`; nothing runs. */
  blocker?: { code: string; object: string; mentions: string[] };
  /** The load's mix (default: insert 4, update 4, delete 2). */
  mix?: Record<SqlOp, number>;
  /** Refusals the application gets on the heap too (by the table's own rules), matched by message; any other refusal fails the case. */
  refusalsExpected?: RegExp;
  /** A query run after the conversion returning one row {ok: boolean}: what else must hold. */
  after?: string;
  /** The load must have moved rows across partitions (the partition column's UTC day changed) by the end of the copy. */
  moves?: boolean;
  /** Days back the load's timestamps spread over (default 20: inside the data's range, whose partitions the plan makes). */
  spreadDays?: number;
}

const schema = (app: string, s = 'hostile') => `CREATE SCHEMA IF NOT EXISTS ${s}; GRANT USAGE ON SCHEMA ${s} TO ${app};`;
const grant = (app: string, t: string) => `GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO ${app};`;

export const HOSTILE: HostileCase[] = [
  {
    // Finding 3: the sync's DO UPDATE SET set the ALWAYS identity column: every app UPDATE failed with 428C9.
    name: 'an identity GENERATED ALWAYS column that is not the key',
    table: { schema: 'hostile', name: 'tickets' }, column: 'opened_at', interval: 'month',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.tickets (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), seq bigint GENERATED ALWAYS AS IDENTITY, opened_at timestamptz NOT NULL, title text NOT NULL);
      INSERT INTO hostile.tickets (opened_at, title) SELECT now() - g * interval '3 hours', 't' || g FROM generate_series(1, 300) g;
      ${grant(app, 'hostile.tickets')}`,
    // The identity continued where it stopped: the application's inserts after the swap drew no value twice.
    after: `SELECT count(*) = count(DISTINCT seq) AND count(*) > 0 AS ok FROM hostile.tickets`,
  },
  {
    // Finding 4: routing runs before BEFORE triggers on a partitioned table: the trigger's value comes too late (23514 after the swap).
    name: 'a BEFORE INSERT trigger that fills the partition column (a plan blocker)',
    table: { schema: 'hostile', name: 'readings' }, column: 'taken_at', interval: 'day',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.readings (id bigserial PRIMARY KEY, taken_at timestamptz, value int NOT NULL);
      CREATE FUNCTION hostile.readings_stamp() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN IF NEW.taken_at IS NULL THEN NEW.taken_at := clock_timestamp(); END IF; RETURN NEW; END $f$;
      CREATE TRIGGER readings_fill BEFORE INSERT ON hostile.readings FOR EACH ROW EXECUTE FUNCTION hostile.readings_stamp();
      INSERT INTO hostile.readings (value) SELECT g FROM generate_series(1, 50) g;
      ${grant(app, 'hostile.readings')} GRANT USAGE ON SEQUENCE hostile.readings_id_seq TO ${app};`,
    blocker: { code: 'before-trigger-writes-partition-column', object: 'readings_fill', mentions: ['hostile.readings_stamp', 'taken_at'] },
  },
  {
    // Finding 8: the shadow carried the NOT VALID check from the start: the copy failed every batch (23514) for ever.
    name: 'a NOT VALID check with old rows that violate it',
    table: { schema: 'hostile', name: 'payments' }, column: 'paid_at', interval: 'month',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.payments (id bigint PRIMARY KEY, paid_at timestamptz NOT NULL, amount numeric(12,2) NOT NULL, note text);
      INSERT INTO hostile.payments SELECT g, now() - g * interval '4 hours', CASE WHEN g % 10 = 0 THEN -g ELSE g END, 'n' || g FROM generate_series(1, 300) g;
      ALTER TABLE hostile.payments ADD CONSTRAINT payments_amount_positive CHECK (amount >= 0) NOT VALID;
      ${grant(app, 'hostile.payments')}`,
    // An update of an old violating row fails on the heap as well (a CHECK is checked on every new row image).
    refusalsExpected: /payments_amount_positive/,
  },
  {
    name: 'quoted mixed-case names with spaces and reserved words in a non-public schema',
    table: { schema: 'SalesEU', name: 'Order Events' }, column: 'Order Date', interval: 'month',
    sql: (app) => `CREATE SCHEMA "SalesEU"; GRANT USAGE ON SCHEMA "SalesEU" TO ${app};
      CREATE TABLE "SalesEU"."Order Events" ("Event Id" bigint PRIMARY KEY, "Order Date" timestamptz NOT NULL, "select" text, "from" int, "User" text NOT NULL DEFAULT 'x');
      CREATE INDEX "Order Events by user" ON "SalesEU"."Order Events" ("User", "select");
      INSERT INTO "SalesEU"."Order Events" SELECT g, now() - g * interval '5 hours', 's' || g, g, 'u' || (g % 7) FROM generate_series(1, 300) g;
      ${grant(app, '"SalesEU"."Order Events"')}`,
  },
  {
    name: 'no primary key but a unique not-null key',
    table: { schema: 'hostile', name: 'devices' }, column: 'seen_at', interval: 'week',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.devices (serial_no text NOT NULL, seen_at timestamptz NOT NULL, label text, CONSTRAINT devices_serial_key UNIQUE (serial_no));
      INSERT INTO hostile.devices SELECT 'sn-' || g, now() - g * interval '6 hours', 'l' || g FROM generate_series(1, 300) g;
      ${grant(app, 'hostile.devices')}`,
  },
  {
    name: 'a composite key without the partition column',
    table: { schema: 'hostile', name: 'stock' }, column: 'moved_on', interval: 'month',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.stock (warehouse int NOT NULL, sku text NOT NULL, moved_on date NOT NULL, qty int NOT NULL, PRIMARY KEY (warehouse, sku));
      INSERT INTO hostile.stock SELECT g % 5, 'sku-' || g, current_date - (g % 90), g FROM generate_series(1, 300) g;
      ${grant(app, 'hostile.stock')}`,
  },
  {
    name: 'TOAST-sized jsonb and arrays',
    table: { schema: 'hostile', name: 'documents' }, column: 'created_at', interval: 'month',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.documents (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, body jsonb NOT NULL, words text[] NOT NULL, blob bytea);
      INSERT INTO hostile.documents SELECT g, now() - g * interval '7 hours',
        (SELECT jsonb_agg(jsonb_build_object('i', i, 'pad', md5((g * i)::text))) FROM generate_series(1, 400) i),
        ARRAY(SELECT md5((g + i)::text) FROM generate_series(1, 600) i), decode(repeat(md5(g::text), 200), 'hex')
        FROM generate_series(1, 120) g;
      ${grant(app, 'hostile.documents')}`,
  },
  {
    // Review of issue 22: the ORMs' timestamp columns carry a precision (Prisma's DateTime is timestamp(3), Rails' timestamp(6)); the plan refused them as "not timestamptz, timestamp or date".
    name: 'an ORM table partitioned on a timestamp(3) column (Prisma), a timestamptz(6) beside it (Rails)',
    table: { schema: 'hostile', name: 'Session' }, column: 'createdAt', interval: 'week',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile."Session" (id text PRIMARY KEY, "userId" text NOT NULL, "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "expiresAt" timestamptz(6) NOT NULL);
      INSERT INTO hostile."Session" SELECT 'c' || md5(g::text), 'u' || g % 17, localtimestamp - g * interval '97 minutes', now() + g * interval '1 hour' FROM generate_series(1, 300) g;
      ${grant(app, 'hostile."Session"')}`,
  },
  {
    // Review of issue 22: a deferred constraint trigger (validation at commit), moved by the swap as the user's triggers are.
    name: 'a deferrable constraint trigger',
    table: { schema: 'hostile', name: 'ledger' }, column: 'booked_at', interval: 'month',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.ledger (id bigserial PRIMARY KEY, booked_at timestamptz NOT NULL, amount numeric(12,2) NOT NULL);
      CREATE FUNCTION hostile.ledger_check() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN IF NEW.amount < -1000000000 THEN RAISE EXCEPTION 'too small'; END IF; RETURN NULL; END $f$;
      CREATE CONSTRAINT TRIGGER ledger_checked AFTER INSERT OR UPDATE ON hostile.ledger DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hostile.ledger_check();
      INSERT INTO hostile.ledger (booked_at, amount) SELECT now() - g * interval '3 hours', g FROM generate_series(1, 300) g;
      ${grant(app, 'hostile.ledger')} GRANT USAGE ON SEQUENCE hostile.ledger_id_seq TO ${app};`,
    after: `SELECT count(*) = 1 AS ok FROM pg_trigger WHERE tgrelid = 'hostile.ledger'::regclass AND tgname = 'ledger_checked' AND tgconstraint <> 0 AND tgdeferrable`,
  },
  {
    name: 'rows in 1999 and two years ahead',
    table: { schema: 'hostile', name: 'archive' }, column: 'happened_at', interval: 'year',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.archive (id bigint PRIMARY KEY, happened_at timestamp NOT NULL, what text NOT NULL);
      INSERT INTO hostile.archive SELECT g, timestamp '1999-03-01' + g * interval '1 day', 'old ' || g FROM generate_series(1, 100) g;
      INSERT INTO hostile.archive SELECT 1000 + g, localtimestamp + interval '2 years' - g * interval '1 day', 'ahead ' || g FROM generate_series(1, 100) g;
      INSERT INTO hostile.archive SELECT 2000 + g, localtimestamp - g * interval '1 day', 'now ' || g FROM generate_series(1, 100) g;
      ${grant(app, 'hostile.archive')}`,
  },
  {
    name: 'an UPDATE load that moves rows across partitions during the copy',
    table: { schema: 'hostile', name: 'moves' }, column: 'due_at', interval: 'day',
    sql: (app) => `${schema(app)}
      CREATE TABLE hostile.moves (id bigint PRIMARY KEY, due_at timestamptz NOT NULL, state text NOT NULL);
      INSERT INTO hostile.moves SELECT g, now() - (g % 30) * interval '1 day' - g * interval '1 minute', 's' || g FROM generate_series(1, 600) g;
      ${grant(app, 'hostile.moves')}`,
    mix: { insert: 1, update: 8, delete: 1 },
    spreadDays: 25,
    moves: true,
  },
];
