import { afterAll, beforeAll } from 'vitest';
import { startApps, type RunningApps } from './app';

/**
 * The conversion's setting for a test file: `n` in-process app instances in Postgres mode on the
 * heap `memory_records` of `db`, started before the file's tests and stopped after them.
 */
export function useHeapApps(db: { url: string }, n = 2): { readonly current: RunningApps } {
  const holder = {} as { current: RunningApps };
  beforeAll(async () => {
    holder.current = await startApps(n, {
      dbUrl: db.url,
      table: 'memory_records',
      bootMode: { persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false },
    });
  });
  afterAll(async () => {
    await holder.current?.stopAll();
  });
  return holder;
}
