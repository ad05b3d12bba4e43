import { describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { loadHistoryFixtures } from './fixtures';

/**
 * Histories of completed runs (the happy path, three rollback branches, and runs recorded before a patch), replayed against the
 * current workflow code: a change that would break running workflows (nondeterminism) fails
 * here. Re-record with `npm run fixtures:histories` only for an intentional, versioned change.
 */
describe('replay of recorded production cutover histories', () => {
  const fixtures = loadHistoryFixtures();

  it('has the happy path, the rollback branches, and runs from before each patch', () => {
    expect(fixtures.map((f) => f.name)).toEqual(expect.arrayContaining(['happy-path', 'operator-abort', 'parity-mismatch', 'cutover-issues-retry', 'before-reconcile-patch-cutover-issues-retry']));
  });

  it('replays every history against workflows/index.ts without a nondeterminism error', async () => {
    const results: { workflowId: string; error?: string }[] = [];
    const replay = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      fixtures.map((f) => ({ workflowId: f.workflowId, history: f.history })),
    );
    for await (const r of replay) results.push({ workflowId: r.workflowId, error: r.error ? `${r.error.name}: ${r.error.message}` : undefined });
    expect(results.map((r) => r.workflowId).sort()).toEqual(fixtures.map((f) => f.workflowId).sort());
    expect(results.filter((r) => r.error)).toEqual([]);
  });
});
