import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { PATCHES } from '../../workflows/patches';
import { loadHistoryFixtures, patchIdsOf } from './fixtures';

const WORKFLOWS_DIR = path.resolve(__dirname, '../../workflows');

function workflowSources(dir: string): { file: string; text: string }[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return workflowSources(p);
    if (!d.name.endsWith('.ts') || p === path.join(WORKFLOWS_DIR, 'patches.ts')) return [];
    // Code only: comments may mention patched() freely.
    const text = fs.readFileSync(p, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    return [{ file: path.relative(WORKFLOWS_DIR, p), text }];
  });
}

/**
 * Histories of completed runs (the happy path, three rollback branches, and runs recorded before a patch), replayed against the
 * current workflow code: a change that would break running workflows (nondeterminism) fails
 * here. Re-record with `npm run fixtures:histories` only for an intentional, versioned change.
 */
describe('replay of recorded production cutover and conversion histories', () => {
  const fixtures = loadHistoryFixtures();

  it('has the happy path, the rollback branches, and runs from before each patch', () => {
    expect(fixtures.map((f) => f.name)).toEqual(expect.arrayContaining(['happy-path', 'operator-abort', 'parity-mismatch', 'cutover-issues-retry', 'before-reconcile-patch-cutover-issues-retry', 'conversion-retention-drift', 'before-gate-rules-patch-conversion-retention-drift']));
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

  describe('the patch register (workflows/patches.ts)', () => {
    const names = new Set(fixtures.map((f) => f.name));
    const entries = Object.entries(PATCHES);

    it.each(entries)('%s has fixtures that replay its old path (recorded without the patch) and its new path', (_key, p) => {
      expect(p.oldPathFixtures.length, `${p.id}: no fixture replays the old path`).toBeGreaterThan(0);
      for (const f of p.oldPathFixtures) {
        expect(names.has(f), `${p.id}: fixture ${f} is not in test/fixtures/histories/`).toBe(true);
        expect(patchIdsOf(f), `${p.id}: fixture ${f} recorded the patch, so it does not replay the old path`).not.toContain(p.id);
      }
      for (const f of p.newPathFixtures) {
        expect(names.has(f), `${p.id}: fixture ${f} is not in test/fixtures/histories/`).toBe(true);
        expect(patchIdsOf(f), `${p.id}: fixture ${f} did not record the patch`).toContain(p.id);
      }
    });

    it('knows every patch id a fixture recorded and every patched() call under workflows/', () => {
      const registered = new Set<string>(entries.map(([, p]) => p.id));
      const keys = new Set(entries.map(([k]) => k));
      const recorded = fixtures.flatMap((f) => patchIdsOf(f.name).map((id) => ({ fixture: f.name, id })));
      expect(recorded.filter((r) => !registered.has(r.id))).toEqual([]);
      const calls = workflowSources(WORKFLOWS_DIR).flatMap(({ file, text }) =>
        [...text.matchAll(/\b(?:patched|deprecatePatch)\(\s*([^)]*)\)/g)].map((m) => ({ file, arg: m[1].trim() })));
      expect(calls.length).toBeGreaterThan(0);
      // Each call names a registered entry: PATCHES.<key>.id (never a string literal).
      const unregistered = calls.filter((c) => {
        const m = /^PATCHES\.(\w+)\.id$/.exec(c.arg);
        return !m || !keys.has(m[1]);
      });
      expect(unregistered).toEqual([]);
    });
  });
});
