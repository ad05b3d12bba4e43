import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../helpers/db';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { planConversion } from '../../activities/conversion/plan/plan';
import { copyAll, dropOld, runPhase, runPhaseInTransaction, wholeParity } from '../../activities/conversion/generic/execute';
import { readTableDescriptor } from '../../activities/conversion/descriptor';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';

/**
 * pagila's `rental` (from its DDL): serial key without the partition column, a BEFORE UPDATE
 * stamping trigger, a unique index holding the partition column, outgoing foreign keys and an
 * incoming one from `payment`; rows dated 2005–2006 as in pagila, the application writing today's.
 */
const PAGILA = (app: string) => `
CREATE SCHEMA pagila; GRANT USAGE ON SCHEMA pagila TO ${app};
CREATE FUNCTION pagila.last_updated() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN NEW.last_update = CURRENT_TIMESTAMP; RETURN NEW; END $f$;
CREATE TABLE pagila.staff (staff_id serial PRIMARY KEY, first_name text NOT NULL);
CREATE TABLE pagila.customer (customer_id serial PRIMARY KEY, first_name text NOT NULL);
CREATE TABLE pagila.inventory (inventory_id serial PRIMARY KEY, film_id int NOT NULL);
INSERT INTO pagila.staff (first_name) VALUES ('Mike'), ('Jon');
INSERT INTO pagila.customer (first_name) SELECT 'c' || g FROM generate_series(1, 50) g;
INSERT INTO pagila.inventory (film_id) SELECT g FROM generate_series(1, 80) g;
CREATE TABLE pagila.rental (
  rental_id serial PRIMARY KEY,
  rental_date timestamp NOT NULL,
  inventory_id integer NOT NULL REFERENCES pagila.inventory ON UPDATE CASCADE ON DELETE RESTRICT,
  customer_id integer NOT NULL REFERENCES pagila.customer ON UPDATE CASCADE ON DELETE RESTRICT,
  return_date timestamp,
  staff_id integer NOT NULL REFERENCES pagila.staff ON UPDATE CASCADE ON DELETE RESTRICT,
  last_update timestamp DEFAULT now() NOT NULL
);
CREATE UNIQUE INDEX idx_unq_rental_rental_date_inventory_id_customer_id ON pagila.rental (rental_date, inventory_id, customer_id);
CREATE INDEX idx_fk_inventory_id ON pagila.rental (inventory_id);
CREATE TRIGGER last_updated BEFORE UPDATE ON pagila.rental FOR EACH ROW EXECUTE FUNCTION pagila.last_updated();
INSERT INTO pagila.rental (rental_date, inventory_id, customer_id, return_date, staff_id)
  SELECT timestamptz '2005-05-24 22:53:30+00' + g * interval '7 hours', 1 + g % 80, 1 + g % 50, timestamptz '2005-05-26 22:53:30+00' + g * interval '7 hours', 1 + g % 2
    FROM generate_series(1, 900) g;
INSERT INTO pagila.rental (rental_date, inventory_id, customer_id, staff_id)
  SELECT now() - g * interval '5 hours', 1 + g % 80, 1 + g % 50, 1 + g % 2 FROM generate_series(1, 100) g;
CREATE TABLE pagila.payment (payment_id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES pagila.customer, rental_id int NOT NULL REFERENCES pagila.rental (rental_id), amount numeric(5,2) NOT NULL);
INSERT INTO pagila.payment (customer_id, rental_id, amount) SELECT 1 + g % 50, g, 4.99 FROM generate_series(1, 900, 3) g;
GRANT SELECT, INSERT, UPDATE, DELETE ON pagila.rental TO ${app};
GRANT SELECT ON pagila.staff, pagila.customer, pagila.inventory TO ${app};
GRANT USAGE ON SEQUENCE pagila.rental_rental_id_seq TO ${app};
`;

const db = useTestDatabase();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("pagila's rental, converted online under the app role's load (oracle at zero)", () => {
  it('the plan names the incoming key from payment, then converts by month with it dropped at the swap', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(PAGILA(app));
    const table = { schema: 'pagila', name: 'rental' };
    const asked = { table: 'pagila.rental', partitionBy: { column: 'rental_date', interval: 'month' } };
    const blocked = await db.withClient((x) => planConversion(x, parseConversionChoice(asked)));
    expect(blocked.ok).toBe(false);
    expect(blocked.blockers.map((b) => `${b.code} ${b.object}`)).toEqual(['incoming-foreign-key pagila.payment.payment_rental_id_fkey']);
    const plan = await db.withClient((x) => planConversion(x, parseConversionChoice({ ...asked, options: { incomingForeignKeys: 'drop' } })));
    expect(plan.blockers.filter((b) => !b.resolution)).toEqual([]);
    expect(plan.ok).toBe(true);
    const key = keySql(rowKeyOf(await db.withClient((x) => readTableDescriptor(x, table))));
    const baseline = await readImages(db.pool, 'pagila.rental', key);
    const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 80, seed: 11, baseline, spreadDays: 20, concurrency: 4 });
    try {
      await sleep(300);
      await db.withClient((x) => runPhase(x, plan, 'shadow'));
      await db.withClient((x) => runPhaseInTransaction(x, plan, 'sync', 200));
      await copyAll(db.pool, plan, 50);
      const p = await db.withClient((x) => wholeParity(x, plan.table, plan.names.shadow));
      expect(p.b, 'parity before the swap').toEqual(p.a);
      await db.withClient((x) => runPhaseInTransaction(x, plan, 'swap', 200));
      await sleep(500);
      const r = await db.withClient((x) => wholeParity(x, plan.table, plan.names.old));
      expect(r.b, 'the reverse sync keeps the old table equal').toEqual(r.a);
      await db.withClient((x) => dropOld(x, plan, 200));
      await sleep(200);
    } finally {
      await load.stop();
    }
    const s = load.stats();
    expect(s.committed, s.lastError).toBeGreaterThan(30);
    // A delete of a rental a payment points at is refused on the heap (until the swap drops that key): nothing else.
    if (s.refused > 0) expect(s.lastError).toMatch(/payment_rental_id_fkey/);
    const v = await judgeRows(db.pool, 'pagila.rental', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    // The stamping trigger still fires on the application's updates, the unique index is there, the key continues.
    const after = (await db.pool.query<{ trg: number; uq: number; parts: number }>(`SELECT
      (SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'pagila.rental'::regclass AND tgname = 'last_updated') AS trg,
      (SELECT count(*)::int FROM pg_indexes WHERE schemaname = 'pagila' AND indexname = 'idx_unq_rental_rental_date_inventory_id_customer_id') AS uq,
      (SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'pagila.rental'::regclass) AS parts`)).rows[0];
    expect(after).toMatchObject({ trg: 1, uq: 1 });
    expect(after.parts).toBeGreaterThan(12);
    const ins = await db.pool.query<{ rental_id: number }>(`INSERT INTO pagila.rental (rental_date, inventory_id, customer_id, staff_id) VALUES (now(), 1, 1, 1) RETURNING rental_id`);
    expect(ins.rows[0].rental_id).toBeGreaterThan(1000);
  });
});
