import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { historyToJSONObject } from '../../src/audit/history-json';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv, type CutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { applyPlan } from '../../src/migrations/runner';
import type { ProductionCutoverResult } from '../../workflows/production';
import { SCENARIOS, type ScenarioName } from './scenarios';

/**
 * Records the histories replayed by replay.test.ts: each scenario runs the real workflow on the
 * dev server against its own database and two app instances, then the history is written to
 * test/fixtures/histories/<scenario>.json. Run with `npm run fixtures:histories`.
 */
const OUT = path.resolve(__dirname, '../fixtures/histories');
const temporal = useTemporal();
const envs: Record<ScenarioName, CutoverEnv> = {
  'happy-path': useCutoverEnv({ instances: 2, seed: 300, months: 3 }),
  'operator-abort': useCutoverEnv({ instances: 2, seed: 300, months: 3 }),
  'parity-mismatch': useCutoverEnv({ instances: 2, seed: 300, months: 3 }),
  'cutover-issues-retry': useCutoverEnv({ instances: 2, seed: 300, months: 3 }),
  'reconcile-before-switch': useCutoverEnv({ instances: 2, seed: 300, months: 3 }),
};
// `FIXTURES=name,name npm run fixtures:histories` records only those scenarios.
const only = process.env.FIXTURES?.split(',').filter(Boolean);
const recorded = (Object.keys(SCENARIOS) as ScenarioName[]).filter((n) => !only || only.includes(n));
const outName = (name: ScenarioName) => `${process.env.FIXTURES_PREFIX ?? ''}${name}`;

async function plantStrayRow(env: CutoverEnv): Promise<void> {
  await env.db.withClient((c) => applyPlan(c, 'partitioned'));
  await env.db.pool.query(
    `INSERT INTO memory_records (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at)
     VALUES (gen_random_uuid(), 'stray-owner', NULL, 'note', 'a row no memory store has', '{}'::jsonb, now() - interval '1 hour', now() - interval '1 hour')`,
  );
}

describe('records workflow histories for the replay tests', () => {
  for (const name of recorded) {
    it(`records ${name}`, async () => {
      const env = envs[name];
      const sc = SCENARIOS[name];
      if (name === 'parity-mismatch') await plantStrayRow(env);
      const taskQueue = temporal.taskQueue(`fixture-${name}`);
      const workflowId = `fixture-${name}`;
      const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
      const load = env.startLoad(60);
      const result = await w.runUntil(
        (async () => {
          const h = await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [sc.input] });
          await sc.drive(temporal.client, h.workflowId, env);
          const r = (await h.result()) as ProductionCutoverResult;
          const history = await h.fetchHistory();
          fs.writeFileSync(path.join(OUT, `${outName(name)}.json`), JSON.stringify({ workflowId, history: historyToJSONObject(history) }, null, 1) + '\n');
          return r;
        })(),
      );
      await load.stop();
      expect(result.outcome).toBe(sc.outcome);
    });
  }
});
