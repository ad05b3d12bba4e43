import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { GenericConversionSummary } from '../../workflows/conversion';
import { approveUpdate, statusQuery } from '../../workflows/messages';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { planConversion } from '../../activities/conversion/plan/plan';
import { parseConversionChoice } from '../../src/conversion/choice/choice';
import { keySql, rowKeyOf, startSqlLoad } from '../../src/loadgen/sql/sql-load';
import { judgeRows, readImages } from '../../src/loadgen/sql/row-oracle';
import { APP_ROLE_SQL } from './generic/shapes';
import { rootMessage, startWorker, waitFor } from './harness';

/**
 * Issue 22, finding 6: a subscriber must never see the shadow or the old table. FOR TABLE (with
 * publish_via_partition_root) is moved by the swap: sampled through a whole run, the publication
 * lists the table and nothing else. FOR ALL TABLES and FOR TABLES IN SCHEMA would take in the
 * shadow, its partitions and the old table (Postgres cannot leave one out): the plan refuses,
 * naming the publication and the choices. FOR TABLE without publish_via_partition_root: refused
 * (each partition would be published under its own name).
 */
const db = useTestDatabase('heap');
const temporal = useTemporal();
const app = `app_${process.pid}`;
const appUrl = () => db.url.replace(/\/\/[^@]+@/, `//${app}:app-pw@`);
let env: Awaited<ReturnType<typeof startWorker>>;
let taskQueue: string;

const TABLE_SQL = (schema: string, t: string) => `CREATE SCHEMA IF NOT EXISTS ${schema}; GRANT USAGE ON SCHEMA ${schema} TO ${app};
  CREATE TABLE ${schema}.${t} (id bigserial PRIMARY KEY, placed_at timestamptz NOT NULL DEFAULT now(), customer int NOT NULL, total numeric(12,2) NOT NULL);
  INSERT INTO ${schema}.${t} (placed_at, customer, total) SELECT now() - g * interval '7 hours', g % 13, g / 7.0 FROM generate_series(1, 1000) g;
  GRANT SELECT, INSERT, UPDATE, DELETE ON ${schema}.${t} TO ${app}; GRANT USAGE ON SEQUENCE ${schema}.${t}_id_seq TO ${app};`;

const planOf = (table: string) => db.withClient((c) => planConversion(c, parseConversionChoice({ table, partitionBy: { column: 'placed_at', interval: 'month' } })));
const published = async (pub: string) => (await db.pool.query<{ t: string }>(`SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1`, [pub])).rows.map((r) => r.t);

beforeAll(async () => {
  taskQueue = temporal.taskQueue('generic-publications');
  env = await startWorker(temporal, db.url, taskQueue);
  await db.pool.query(APP_ROLE_SQL(app));
  await db.pool.query(TABLE_SQL('pubt', 'orders'));
  await db.pool.query(TABLE_SQL('pubt', 'plain'));
  await db.pool.query(TABLE_SQL('pubs', 'events'));
  await db.pool.query(`CREATE PUBLICATION named_root FOR TABLE pubt.orders WITH (publish_via_partition_root = true);
    CREATE PUBLICATION named_leaves FOR TABLE pubt.plain`);
});
afterAll(async () => {
  env?.worker.shutdown();
  await env?.running;
  await env?.profiles.close();
});

describe('publications never show a subscriber the shadow or the old table', () => {
  it('FOR TABLE with publish_via_partition_root: sampled through a whole run under the load, the publication lists the table and nothing else', async () => {
    const table = 'pubt.orders';
    const key = keySql(rowKeyOf(await db.withClient((c) => readTableDescriptor(c, parseTableName(table)))));
    const baseline = await readImages(db.pool, '"pubt"."orders"', key);
    const load = await startSqlLoad({ url: appUrl(), table, ratePerSec: 100, seed: 3, baseline, spreadDays: 60 });
    const seen = new Map<string, number>();
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const ts = await published('named_root');
        samples++;
        const k = ts.join(',');
        seen.set(k, (seen.get(k) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    let summary: GenericConversionSummary;
    try {
      const handle = await temporal.client.workflow.start('heapToPartitionedConversion', {
        taskQueue, workflowId: `pub-named-${taskQueue}`,
        args: [{ table, partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
      });
      await waitFor('the drop-old-table gate', async () => ((await handle.query(statusQuery)).waitingOn ?? '').includes('drop-old-table'), 120_000);
      await handle.executeUpdate(approveUpdate, { args: [{ operator: 'ops', reason: 'old table verified', gate: 'drop-old-table' }] });
      summary = (await handle.result()) as GenericConversionSummary;
    } finally {
      sampling = false;
      await sampler;
      await load.stop();
    }
    expect(summary.outcome).toBe('completed');
    expect(samples).toBeGreaterThan(5);
    // Every sample, from before the shadow to after the drop: the table alone.
    expect([...seen.keys()]).toEqual(['pubt.orders']);
    expect((await db.pool.query(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'pubt.orders'::regclass`)).rows[0].k).toBe('p');
    const v = await judgeRows(db.pool, '"pubt"."orders"', key, baseline, load.log);
    expect(v, JSON.stringify(v.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
  });

  it('FOR TABLE without publish_via_partition_root: the plan refuses, naming the publication', async () => {
    const p = await planOf('pubt.plain');
    expect(p.blockers).toContainEqual(expect.objectContaining({ code: 'publication-partition-names', object: 'named_leaves' }));
  });

  it('FOR TABLES IN SCHEMA (with and without publish_via_partition_root): the plan refuses naming the publication and the choices; the run changes nothing', async () => {
    await db.pool.query(`CREATE PUBLICATION schema_root FOR TABLES IN SCHEMA pubs WITH (publish_via_partition_root = true); CREATE PUBLICATION schema_leaves FOR TABLES IN SCHEMA pubs`);
    const p = await planOf('pubs.events');
    const b = p.blockers.filter((x) => x.code === 'publication-takes-every-table');
    expect(b.map((x) => x.object).sort()).toEqual(['schema_leaves', 'schema_root']);
    expect(b[0].message).toMatch(/FOR TABLES IN SCHEMA "pubs": it would publish "pubs"."events_partitioned" .* and "pubs"."events_old" through retention/);
    expect(b[0].message).toMatch(/ALTER PUBLICATION "schema_\w+" SET TABLE "pubs"."events"/);
    const err = await temporal.client.workflow.execute('heapToPartitionedConversion', {
      taskQueue, workflowId: `pub-schema-${taskQueue}`,
      args: [{ table: 'pubs.events', partitionBy: { column: 'placed_at', interval: 'month' }, nonProduction: true, retentionMinutes: 0, approvals: { beforeSwap: false } }],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(err)).toMatch(/publication-takes-every-table \(schema_leaves\)/);
    expect(await published('schema_root')).toEqual(['pubs.events']);
    expect(await published('schema_leaves')).toEqual(['pubs.events']);
    await db.pool.query(`DROP PUBLICATION schema_root; DROP PUBLICATION schema_leaves`);
  });

  it('FOR ALL TABLES (with and without publish_via_partition_root): the plan refuses naming the publication', async () => {
    await db.pool.query(`CREATE PUBLICATION every_root FOR ALL TABLES WITH (publish_via_partition_root = true); CREATE PUBLICATION every_leaf FOR ALL TABLES`);
    try {
      const p = await planOf('pubs.events');
      const b = p.blockers.filter((x) => x.code === 'publication-takes-every-table');
      expect(b.map((x) => x.object).sort()).toEqual(['every_leaf', 'every_root']);
      expect(b[0].message).toMatch(/publication every_\w+ is FOR ALL TABLES: it would publish "pubs"."events_partitioned"/);
    } finally {
      await db.pool.query(`DROP PUBLICATION every_root; DROP PUBLICATION every_leaf`);
    }
  });
});
