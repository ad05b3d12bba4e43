import { describe, expect, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { useCutoverEnv } from '../helpers/cutover-env';
import { createTestWorker } from '../helpers/worker';
import { waitForStatus } from '../audit/scenarios';
import {
  CutoverAlreadyRunningError,
  CutoverNotFoundError,
  CutoverRejectedError,
  getCutoverHandle,
  InvalidCutoverInputError,
  startProductionCutover,
  type ProductionCutoverResult,
} from '../../src/client';
import { CUTOVER_KIND, CUTOVER_TARGET } from '../../src/shared/search-attributes';

const temporal = useTemporal();
const env = useCutoverEnv({ instances: 2, seed: 100, months: 2 });

describe('typed client library', () => {
  it('rejects an invalid input locally, naming the field, and starts nothing', async () => {
    const workflowId = `client-invalid-${Date.now().toString(36)}`;
    const err = await startProductionCutover(temporal.client, { target: 'users', nonProduction: true }, { workflowId, taskQueue: 'unused' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidCutoverInputError);
    expect((err as InvalidCutoverInputError).field).toBe('target');
    await expect(getCutoverHandle(temporal.client, workflowId).describe()).rejects.toBeInstanceOf(CutoverNotFoundError);
    // The state a run carries when it continues as new is never a start's to give.
    const carried = await startProductionCutover(temporal.client, { nonProduction: true, continued: { stage: 'final' } as never }, { workflowId, taskQueue: 'unused' }).catch((e: unknown) => e);
    expect(carried).toBeInstanceOf(InvalidCutoverInputError);
    expect((carried as InvalidCutoverInputError).field).toBe('continued');
    await expect(getCutoverHandle(temporal.client, workflowId).describe()).rejects.toBeInstanceOf(CutoverNotFoundError);
  });

  it('starts a run, queries it, surfaces validator rejections, refuses a second start and aborts', async () => {
    const taskQueue = temporal.taskQueue('client');
    const workflowId = `client-run-${Date.now().toString(36)}`;
    const w = await createTestWorker(temporal, taskQueue, { dbUrl: env.db.url, adminToken: env.apps.adminToken });
    const result = await w.runUntil(
      (async () => {
        const input = { nonProduction: true, monitoring: { windowMinutes: 0.2 }, approvals: { beforeBackfill: true } };
        const h = await startProductionCutover(temporal.client, input, { taskQueue, workflowId });
        expect(h.resolved.monitoring.windowMinutes).toBe(0.2);
        const desc = await h.describe();
        expect(desc.typedSearchAttributes.get(CUTOVER_TARGET)).toBe('memory_records');
        expect(desc.typedSearchAttributes.get(CUTOVER_KIND)).toBe('production');
        expect(await desc.staticSummary()).toContain('Production cutover of `memory_records`');
        expect(await desc.staticDetails()).toContain('| monitoring window | 0.2 min');

        await expect(startProductionCutover(temporal.client, input, { taskQueue, workflowId })).rejects.toThrow(
          new CutoverAlreadyRunningError('production cutover', 'memory_records', workflowId, h.firstExecutionRunId),
        );

        await waitForStatus(temporal.client, workflowId, (s) => s.state === 'waiting-for-approval');
        const handle = getCutoverHandle<ProductionCutoverResult>(temporal.client, workflowId);
        expect((await handle.status()).waitingOn).toContain('"backfill"');

        const ack = await handle.pause({ operator: 'erin', reason: 'checking the replica lag first' });
        expect(ack.accepted).toBe(true);
        const again = await handle.pause({ operator: 'erin', reason: 'twice' }).catch((e: unknown) => e);
        expect(again).toBeInstanceOf(CutoverRejectedError);
        expect((again as Error).message).toBe(`pause rejected by ${workflowId}: the run is already paused`);
        await expect(handle.approve({ operator: '', reason: 'no name' })).rejects.toThrow(/operator: required/);

        await handle.abort({ operator: 'erin', reason: 'replica lag too high today' });
        return handle.result();
      })(),
    );
    expect(result.outcome).toBe('aborted');
    expect(result.decisions.map((d) => [d.action, d.operator])).toEqual([['pause', 'erin'], ['abort', 'erin']]);
  });
});
