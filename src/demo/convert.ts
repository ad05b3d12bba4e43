import crypto from 'node:crypto';
import { Pool } from 'pg';
import type { Client } from '@temporalio/client';
import { getCutoverHandle } from '../client';
import { readTableDescriptor, parseTableName } from '../../activities/conversion/descriptor';
import { planConversion } from '../../activities/conversion/plan/plan';
import { renderPlan } from '../../activities/conversion/plan/render';
import { readConversionChoice } from '../conversion/choice/choice';
import { keySql, rowKeyOf, startSqlLoad, type SqlLoadHandle } from '../loadgen/sql/sql-load';
import { formatRowVerdict, judgeRows, readImages, type RowVerdict } from '../loadgen/sql/row-oracle';
import { RowLog } from '../loadgen/sql/row-log';
import type { GenericConversionSummary } from '../../workflows/conversion';
import type { DemoStack } from './stack';

/**
 * `npm run demo -- --convert`: the online conversion of a table of the user's kind (not
 * memory_records): `demo.orders` with a serial id, a BEFORE UPDATE trigger that stamps a
 * column and a dependent view, 20 000 rows over six months. Shows the plan, converts it to
 * monthly partitions under the generic SQL load (as an unprivileged role), and judges the table
 * with the row-image oracle.
 */
const TABLE = 'demo.orders';
const APP_ROLE = 'lichen_demo_app';

const SAMPLE_SQL = (rows: number) => `
  CREATE SCHEMA IF NOT EXISTS demo;
  CREATE TABLE demo.orders (
    id bigserial PRIMARY KEY,
    placed_at timestamptz NOT NULL DEFAULT now(),
    customer int NOT NULL,
    total numeric(12,2) NOT NULL CHECK (total >= 0),
    status text NOT NULL DEFAULT 'new',
    updated_at timestamptz NOT NULL DEFAULT now());
  CREATE INDEX orders_customer_idx ON demo.orders (customer);
  CREATE FUNCTION demo.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
  CREATE TRIGGER orders_stamp BEFORE UPDATE ON demo.orders FOR EACH ROW EXECUTE FUNCTION demo.stamp();
  INSERT INTO demo.orders (placed_at, customer, total, status)
    SELECT now() - (g % 180) * interval '1 day' - g * interval '1 second', g % 97, (g % 5000) / 7.0, CASE WHEN g % 3 = 0 THEN 'shipped' ELSE 'new' END
      FROM generate_series(1, ${rows}) g;
  CREATE VIEW demo.open_orders AS SELECT id, customer, total FROM demo.orders WHERE status = 'new';`;

export interface ConvertDemoResult {
  workflowId: string;
  status: string;
  oracle: RowVerdict;
  viewRows: number;
}

export async function runConvertDemo(o: { stack: DemoStack; client: Client; rate: number; say: (l: string) => void; out: (l?: string) => void }): Promise<ConvertDemoResult> {
  const { stack, say, out } = o;
  const owner = new Pool({ connectionString: stack.dbUrl, max: 3 });
  let load: SqlLoadHandle | undefined;
  try {
    await owner.query(SAMPLE_SQL(20_000));
    const password = crypto.randomBytes(12).toString('hex');
    await owner.query(`DO $$ BEGIN CREATE ROLE ${APP_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await owner.query(`ALTER ROLE ${APP_ROLE} PASSWORD '${password}'`);
    await owner.query(`GRANT USAGE ON SCHEMA demo TO ${APP_ROLE}; GRANT SELECT, INSERT, UPDATE, DELETE ON demo.orders TO ${APP_ROLE};
      GRANT USAGE ON SEQUENCE demo.orders_id_seq TO ${APP_ROLE}; GRANT SELECT ON demo.open_orders TO ${APP_ROLE}`);
    const appUrl = (() => { const u = new URL(stack.dbUrl); u.username = APP_ROLE; u.password = password; return u.toString(); })();
    say(`${TABLE}: 20000 rows over 6 months, a serial id, a BEFORE UPDATE trigger stamping updated_at, a dependent view demo.open_orders`);

    // The plan, as `cutover plan conversion --table demo.orders --partition-by placed_at --interval month` shows it.
    const request = { table: TABLE, partitionBy: { column: 'placed_at', interval: 'month' } };
    const c = await owner.connect();
    let key: string;
    try {
      const plan = await planConversion(c, readConversionChoice(request));
      out('');
      out(renderPlan(plan));
      out('');
      key = keySql(rowKeyOf(await readTableDescriptor(c, parseTableName(TABLE))));
    } finally {
      c.release();
    }

    const baseline = await readImages(owner, '"demo"."orders"', key);
    if (o.rate > 0) {
      load = await startSqlLoad({ url: appUrl, table: TABLE, ratePerSec: o.rate, seed: 1, baseline, spreadDays: 180 });
      say(`generic SQL load: ${o.rate} ops/s as the unprivileged role ${APP_ROLE} (inserts, updates, deletes)`);
    }
    const workflowId = `convert-demo-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
    const input = { ...request, connectionProfile: 'default', nonProduction: true, retentionMinutes: 0.3, retentionCheckMinutes: 0.05, approvals: { beforeSwap: false }, copy: { batchSize: 2000 } };
    await stack.call(() => o.client.workflow.start('heapToPartitionedConversion', { taskQueue: stack.taskQueue, workflowId, args: [input] }));
    say(`started heapToPartitionedConversion ${workflowId}`);
    out(`             watch it: ${stack.uiUrl}/namespaces/${stack.namespace}/workflows/${workflowId}`);
    const h = getCutoverHandle<GenericConversionSummary>(o.client, workflowId);
    // The old table's drop, approved ahead of time: it still waits if retention sees drift.
    const pre = await stack.call(() => h.approve({ operator: 'demo', reason: 'demo: drop the old table after a clean retention', gate: 'drop-old-table' }));
    say(`demo operator: ${pre.message}`);
    let last = '';
    const timer = setInterval(() => {
      void h.status().then((s) => {
        const line = `phase ${s.phase} (${s.state})${s.progress ? ` ${s.progress.done}/${s.progress.total} ${s.progress.unit}` : ''}`;
        if (line !== last) say((last = line));
      }, () => undefined);
    }, 1000);
    let summary: GenericConversionSummary;
    try {
      summary = await stack.call(() => h.result());
    } finally {
      clearInterval(timer);
    }
    say(`run ${workflowId}: ${summary.outcome}${summary.cause ? ` (${summary.cause})` : ''}${summary.swap ? `; the swap took ${summary.swap.tries} tr${summary.swap.tries === 1 ? 'y' : 'ies'} under lock_timeout` : ''}`);
    let log = new RowLog();
    if (load) {
      log = await load.stop();
      const st = load.stats();
      say(`load stopped: ${st.committed} statements committed, ${st.refused} refused, ${st.unanswered} unanswered`);
      load = undefined;
    }
    const oracle = await judgeRows(owner, '"demo"."orders"', key, baseline, log);
    const viewRows = Number((await owner.query<{ n: string }>(`SELECT count(*)::text AS n FROM demo.open_orders`)).rows[0].n);
    const kind = (await owner.query<{ k: string }>(`SELECT relkind::text AS k FROM pg_class WHERE oid = 'demo.orders'::regclass`)).rows[0].k;
    out(`${TABLE} is now ${kind === 'p' ? 'partitioned' : `relkind ${kind}`}; demo.open_orders reads ${viewRows} rows`);
    out(formatRowVerdict(oracle));
    return { workflowId, status: summary.outcome, oracle, viewRows };
  } finally {
    await load?.stop().catch(() => undefined);
    await owner.end().catch(() => undefined);
  }
}
