import { startApps, type RunningApps } from '../test/helpers/app';
import type { PersistenceMode } from '../workflows/types';
import { fillMemoryStores } from './data';

export const MEMORY_ONLY: PersistenceMode = { persistence: 'memory', primary: 'memory', failFast: false, dualWriteEnabled: false };

/**
 * `instances` real memory-layer services (HTTP, admin API, control plane) in this process,
 * their memory stores holding `rows` records over `months` months: the Phase 2 state a
 * backfill starts from. Seeding writes the stores directly, so it costs no measured time.
 */
export async function phase2Apps(dbUrl: string, instances: number, rows: number, months: number, mode: PersistenceMode = MEMORY_ONLY): Promise<RunningApps> {
  const apps = await startApps(instances, { dbUrl, bootMode: mode, heartbeatMs: 500, prefix: 'bench' });
  fillMemoryStores(apps.instances.map((i) => i.service.memory), rows, months);
  return apps;
}
