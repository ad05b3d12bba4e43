import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ConversionInput } from '../../workflows/conversion-input';
import { getCutoverHandle } from '../../src/client';
import { waitForStatus } from './scenarios';

/**
 * Conversion runs whose histories are committed as fixtures (test/audit/record-histories.ts),
 * and the tests that drive the same runs (test/conversion/gates.test.ts).
 */

/**
 * Retention drift after a pre-approval: `drop-old-table` is approved at the start (announced
 * as upcoming), a row only memory_records_old holds is planted during retention (a reverse-sync
 * gap), so the retention parity sees drift after the approval. The run must not drop the old
 * table on the stale approval: it waits for a new approval that names the drift.
 */
export const RETENTION_DRIFT_INPUT: ConversionInput = {
  nonProduction: true,
  // Whole minutes: the fixture of the old path was recorded when these were integers.
  retentionMinutes: 1,
  retentionCheckMinutes: 1,
  approvals: { beforeSwap: false },
  copy: { batchSize: 1000, sliceSeconds: 2, maxRowsPerSecond: 8000 },
  swap: { lockTimeoutMs: 200 },
};

export const PRE_APPROVAL = { operator: 'frank', reason: 'pre-approved for the night shift: drop the old table after retention', gate: 'drop-old-table' };
export const DRIFT_APPROVAL = { operator: 'frank', reason: 'the drift in memory_records_old is a planted test row, nothing a rollback needs: drop it', gate: 'drop-old-table' };

/** A row only memory_records_old holds: what a broken reverse sync leaves behind. */
export async function plantOldTableDrift(pool: Pool): Promise<void> {
  await pool.query(
    `INSERT INTO memory_records_old (id, owner_id, agent_id, kind, content, metadata, created_at, updated_at)
     VALUES (gen_random_uuid(), 'drift-owner', NULL, 'note', 'only the old table has this row', '{}'::jsonb, now() - interval '2 hours', now() - interval '2 hours')`,
  );
}

export async function driveRetentionDrift(client: Client, workflowId: string, pool: Pool): Promise<void> {
  const h = getCutoverHandle(client, workflowId);
  await waitForStatus(client, workflowId, (s) => s.phases.length > 0);
  await h.approve(PRE_APPROVAL);
  await waitForStatus(client, workflowId, (s) => s.phase === 'retention', 120_000);
  await plantOldTableDrift(pool);
  // Recorded before the patch, the run drops the table on the pre-approval and completes;
  // with it, the run waits at drop-old-table for an approval that names the drift.
  const s = await waitForStatus(client, workflowId, (x) => x.state === 'completed' || (x.state === 'waiting-for-approval' && /drop-old-table/.test(x.waitingOn ?? '')), 120_000);
  if (s.state === 'waiting-for-approval') await h.approve(DRIFT_APPROVAL);
}
