/**
 * B6's worker process: runs the backfill through our activity code path (planBackfill, then
 * backfillChunk lanes as the workflow schedules them, 2 lanes by default) and prints its peak
 * RSS as one JSON line: the kernel's high-water mark (VmHWM) and the highest sample.
 * Input: BENCH_B6 = {"dbUrl","adminToken","instances":[{instanceId,adminUrl}],"lanes"}.
 */
import fs from 'node:fs';
import { createProfileResolver } from '../src/config/profiles';
import { createSecretResolver } from '../src/config/secrets';
import type { InstanceRef } from '../activities/lib/admin-client';
import { planUnits, runOurBackfill } from './b1-backfill';

interface ChildInput {
  dbUrl: string;
  adminToken: string;
  instances: InstanceRef[];
  lanes: number;
}

function vmHwmBytes(): number | null {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null; // not Linux: the samples alone
  }
}

async function main(): Promise<void> {
  const raw = process.env.BENCH_B6;
  if (!raw) throw new Error('BENCH_B6 (JSON: dbUrl, adminToken, instances, lanes) is required');
  const input = JSON.parse(raw) as ChildInput;
  const profiles = createProfileResolver({ default: input.dbUrl }, {});
  const deps = { profiles, secrets: createSecretResolver({ default: input.adminToken }, {}) };
  let sampled = process.memoryUsage().rss;
  const timer = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 20);
  const startRss = process.memoryUsage().rss;
  try {
    const units = await planUnits(deps, input.instances);
    const queue = [...units];
    let rows = 0;
    await Promise.all(
      Array.from({ length: input.lanes }, async () => {
        for (let u = queue.shift(); u; u = queue.shift()) {
          const r = await runOurBackfill(deps, [u]);
          rows += r.rows;
        }
      }),
    );
    clearInterval(timer);
    sampled = Math.max(sampled, process.memoryUsage().rss);
    process.stdout.write(JSON.stringify({ rows, startRss, sampledPeakRss: sampled, vmHwm: vmHwmBytes() }) + '\n');
  } finally {
    clearInterval(timer);
    await profiles.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
