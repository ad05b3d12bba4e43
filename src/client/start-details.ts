import type { ProductionSettings } from '../../workflows/production-input';
import type { ConversionSettings } from '../../workflows/conversion-input';
import type { GenericConversionSettings } from '../../workflows/conversion/generic-input';
import { tableText } from '../conversion/choice/choice';
import type { MaintenanceSettings } from '../../workflows/maintenance-input';

/**
 * The static summary (one line) and details (markdown) the Temporal UI shows for a run started
 * by the client: what it will do and with which settings, so an operator opening the run sees
 * it without decoding the input. Never a secret: profiles and token references are names.
 */
export interface StaticText {
  staticSummary: string;
  staticDetails: string;
}

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function summarizeProduction(r: ProductionSettings): StaticText {
  const window = r.monitoring.windowMinutes >= 60 ? `${+(r.monitoring.windowMinutes / 60).toFixed(2)} h` : `${r.monitoring.windowMinutes} min`;
  return {
    staticSummary: `Production cutover of \`${r.target}\` to partitioned Postgres${r.dryRun ? ' (dry run)' : ''}${r.nonProduction ? ' [non-production]' : ''}`,
    staticDetails: [
      `**Production cutover** of \`${r.target}\` — the runbook's "For Production (With Existing Phase 2 Data)".`,
      '',
      'preflight → ensure schema → dual-write (memory primary) → backfill → verify → migrate → switch primary → monitoring → final cutover',
      '',
      '| setting | value |',
      '|---|---|',
      `| connection profile | \`${r.connectionProfile}\` |`,
      `| app discovery | ${r.apps.discovery}${r.apps.discovery === 'static' ? ` (${r.apps.endpoints.map((e) => e.instanceId).join(', ')})` : ''} |`,
      `| backfill | batch ${r.backfill.batchSize}, parallelism ${r.backfill.parallelism}, ${r.backfill.maxRowsPerSecond || 'unbounded'} rows/s |`,
      `| monitoring window | ${window}, health check every ${r.monitoring.healthCheckEveryMinutes} min |`,
      `| approvals | backfill: ${yes(r.approvals.beforeBackfill)}, switch primary: ${yes(r.approvals.beforeSwitchPrimary)}, final cutover: ${yes(r.approvals.beforeFinalCutover)} |`,
      `| dry run | ${yes(r.dryRun)} |`,
      '',
      'Send **approve**, **pause**, **resume**, **abort** or **extend** (updates) with `{"operator": "...", "reason": "..."}`.',
    ].join('\n'),
  };
}

export function summarizeConversion(s: ConversionSettings): StaticText {
  return {
    staticSummary: `Heap-to-partitioned conversion of \`${s.target}\`${s.nonProduction ? ' [non-production]' : ''}`,
    staticDetails: [
      `**Heap-to-partitioned conversion** of \`${s.target}\` — the runbook's conversion procedure.`,
      '',
      `preflight → shadow table → ${s.sync === 'app-dual-write' ? 'app mirror (control plane)' : 'sync trigger'} → copy → verify → swap → post-swap check → retention → drop old table`,
      '',
      '| setting | value |',
      '|---|---|',
      `| connection profile | \`${s.connectionProfile}\` |`,
      `| sync | ${s.sync === 'app-dual-write' ? `app dual-write (barrier timeout ${s.appBarrierTimeoutSeconds} s)` : 'trigger'} |`,
      `| copy | batch ${s.copy.batchSize}, ${s.copy.maxRowsPerSecond || 'unbounded'} rows/s |`,
      `| swap | lock_timeout ${s.lock.lockTimeoutMs} ms, ${s.lock.maxTries} tries |`,
      `| retention of the old table | ${s.retentionMinutes} min |`,
      `| approval before swap | ${yes(s.approveBeforeSwap)} |`,
    ].join('\n'),
  };
}

export function summarizeGenericConversion(s: GenericConversionSettings): StaticText {
  const t = tableText(s.choice.table);
  const c = s.choice;
  return {
    staticSummary: `Conversion of \`${t}\` to partitions by ${c.column} (${c.interval}, mode ${c.mode})${s.nonProduction ? ' [non-production]' : ''}`,
    staticDetails: [
      `**Heap-to-partitioned conversion** of \`${t}\`, partitioned by \`${c.column}\` per ${c.interval}, mode ${c.mode}.`,
      '',
      c.mode === 'attach'
        ? 'preflight → attach prepare → swap (the heap becomes the history partition) → post-swap check → retention → partitions ahead'
        : 'preflight → shadow table → sync trigger → copy → verify (per key range) → swap → post-swap check (per key range) → retention → drop old table → partitions ahead',
      '',
      '| setting | value |',
      '|---|---|',
      `| connection profile | \`${s.connectionProfile}\` |`,
      `| copy | batch ${s.batchSize}, ${s.maxRowsPerSecond || 'unbounded'} rows/s |`,
      `| swap | lock_timeout ${s.lockTimeoutMs} ms, ${s.swapRetry.maxTries} tries |`,
      `| retention of the old table | ${s.retentionMinutes} min |`,
      `| approval before swap | ${yes(s.approveBeforeSwap)} |`,
    ].join('\n'),
  };
}

export function summarizeMaintenance(s: MaintenanceSettings): StaticText {
  return {
    staticSummary: `Partition maintenance of \`${s.target}\`: premake ${s.premakeMonths} month(s)${s.retentionMonths ? `, retention ${s.retentionMonths} months` : ''}`,
    staticDetails: [
      `**Partition maintenance** of \`${s.target}\` — the runbook's "Partition Maintenance".`,
      '',
      '| setting | value |',
      '|---|---|',
      `| connection profile | \`${s.connectionProfile}\` |`,
      `| premake | current + ${s.premakeMonths} months |`,
      `| retention | ${s.retentionMonths === null ? 'keep all' : `${s.retentionMonths} months (${s.dropDetached ? 'detach and drop' : 'detach only'})`} |`,
    ].join('\n'),
  };
}
