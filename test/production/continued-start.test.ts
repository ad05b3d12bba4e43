import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { QUICK_RUN, useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { getCutoverHandle } from '../../src/client';
import { continuedInputOf, databaseFingerprint, expectRefusedNamingContinued, startWithTemporalCli } from '../helpers/continued-start';
import type { ProductionCutoverInput } from '../../workflows/production-input';
import type { ProductionCutoverResult } from '../../workflows/production';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 600, months: 2 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 24 item 1: `continued` is accepted only by a run Temporal continued from the run the
 * carried chain names last. Started through the official `temporal` CLI — with a `continued`
 * copied from a real chain (that would skip preflight and the run registry and switch the
 * primary at once), or a malformed one — productionCutover fails at once naming the field and
 * changes nothing: no activity, no cutover_runs row, no mode change, no table.
 */
describe('productionCutover: continued only in a real continuation', () => {
  it('a continued copied from a real chain, started through the temporal CLI or a raw SDK client, fails naming continued and changes nothing', async () => {
    const taskQueue = temporal.taskQueue('prod-continued');
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const workflowId = `prod-chain-${taskQueue}`;
    const h = getCutoverHandle<ProductionCutoverResult>(temporal.client, workflowId);
    const input: ProductionCutoverInput = { ...QUICK_RUN, backfill: { batchSize: 50, chunkRows: 50 }, approvals: { beforeSwitchPrimary: true, beforeFinalCutover: true }, history: { maxEvents: 100 } };
    await w.runUntil((async () => {
      await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId, args: [input] });
      // The chain hands over between backfill chunks, then waits at switch-primary (dual-write, memory primary).
      for (;;) {
        const s = await h.status();
        if (s.state === 'waiting-for-approval') break;
        expect(s.state).not.toMatch(/failed|rolled-back|aborted/);
        await sleep(300);
      }
      const copied = await continuedInputOf(temporal.client, workflowId);
      const before = await databaseFingerprint(env.db.pool);

      const cases: [string, Record<string, unknown>][] = [
        ['a continued copied from a real chain', copied],
        ['the issue\'s malformed continued', { nonProduction: true, continued: { stage: 'final' } }],
      ];
      for (const [what, given] of cases) {
        const id = `prod-cli-${cases.findIndex((c) => c[1] === given)}-${taskQueue}`;
        await startWithTemporalCli(temporal, { type: 'productionCutover', taskQueue, workflowId: id, input: given });
        const message = await expectRefusedNamingContinued(temporal.client, id);
        expect(message, what).toMatch(/continued: this run was started, not continued from a previous run/);
      }
      // The raw SDK client (no client-library check in between) is refused the same way.
      const raw = `prod-sdk-${taskQueue}`;
      await temporal.client.workflow.start('productionCutover', { taskQueue, workflowId: raw, args: [copied] });
      expect(await expectRefusedNamingContinued(temporal.client, raw)).toMatch(/continued: this run was started/);
      expect(await databaseFingerprint(env.db.pool), 'no run registered, no mode changed, no table created').toBe(before);
      // The real chain is untouched: still waiting at its gate.
      expect((await h.status()).waitingOn).toMatch(/switch-primary/);
      await h.abort({ operator: 'test', reason: 'end of test' });
      return h.result();
    })());
  });
});
