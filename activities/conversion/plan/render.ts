import type { ConversionPlan } from './plan';
import { rowsText } from '../../../src/conversion/rows-text';

const size = (b: number) => (b < 1024 ? `${b} B` : b < 1024 ** 2 ? `${(b / 1024).toFixed(1)} KiB` : b < 1024 ** 3 ? `${(b / 1024 ** 2).toFixed(1)} MiB` : `${(b / 1024 ** 3).toFixed(2)} GiB`);

/** The plan for humans: blockers first (each with its options), then decisions, notes, the job's size and every statement by phase. */
export function renderPlan(p: ConversionPlan, opts: { allStatements?: boolean } = {}): string {
  const out: string[] = [];
  out.push(`conversion plan: ${p.table} → partitioned by range (${p.partitionBy.column}) per ${p.partitionBy.interval}`);
  out.push(`  ${p.size.rowsEstimated ? rowsText(p.size.rows, true) : `rows ${p.size.rows}`}, table ${size(p.size.tableBytes)}, with indexes and TOAST ${size(p.size.totalBytes)}; the copy needs about ${size(p.size.copyNeedsBytes)} more disk, plus as much WAL until a checkpoint recycles it`);
  if (p.size.min) out.push(`  ${p.partitionBy.column} from ${p.size.min} to ${p.size.max}`);
  out.push(`  key ${p.key ? `(${p.key.columns.join(', ')}) from the ${p.key.source}` : 'none'}; ${p.attach?.existingIndex ? `new key ${p.attach.existingIndex.constraint ? `UNIQUE ${p.attach.existingIndex.constraint}` : `unique index ${p.attach.existingIndex.index}`} (${p.attach.existingIndex.columns.join(', ')}): uses the existing index ${p.attach.existingIndex.index}, none is built` : `new primary key (${p.primaryKey.join(', ')})`}`);
  out.push(`  partitions: ${p.partitions.count} named ${p.names.partitionScheme}${p.partitions.first ? ` (${p.partitions.first} … ${p.partitions.last})` : ''}${p.partitions.default ? ` + ${p.partitions.default} (DEFAULT)` : ''}`);
  if (p.attach) out.push(`  mode attach: ${p.table} becomes the partition ${p.attach.history} [MINVALUE, ${p.attach.boundText}); new partitions from ${p.attach.boundText}`);
  else out.push(`  shadow ${p.names.shadow}; the old table becomes ${p.names.old} during retention`);
  const cs = p.copyShape;
  if (cs) {
    out.push(`  engine: change log — the sync trigger appends each write's key to ${cs.log} (and refuses TRUNCATE); one exported snapshot; ${cs.partitions} partition(s) filled in ${cs.lanes} lane(s) as plain tables, ${cs.indexesPerPartition} index(es) built on each after its fill, then attached;`);
    out.push(`  the log replayed from the heap until a round takes at most ${cs.replayShortAt} keys, its tail drained inside the swap's lock`);
  } else if (!p.attach && p.phases.length) out.push('  engine: row sync — the sync trigger mirrors each write into the indexed shadow; keyset batches copy the rest (runs started before the change-log engine)');
  const m = p.modes;
  if (m) {
    out.push('', `MODES (chosen: ${m.chosen}; recommended: ${m.recommended}: ${m.why})`);
    for (const x of [m.copy, m.attach]) {
      out.push(`  ${x.mode === m.chosen ? '▶' : ' '} ${x.mode}${x.ok ? '' : ` (blocked: ${x.blockers.join(', ')})`}: rows copied ${x.rowsCopied}, extra disk about ${size(x.extraDiskBytes)}, expected time about ${x.expectedSeconds} s, lock: ${x.lockTime}`);
      if (x.indexBuild) out.push(`      index: ${x.indexBuild}`);
      out.push(`      result: ${x.result}`);
      if (x.how) out.push(`      how: ${x.how}`);
    }
  }
  out.push('');
  if (p.blockers.length) {
    out.push(`BLOCKERS (${p.blockers.length}): nothing runs until each is resolved`);
    for (const b of p.blockers) {
      out.push(`  ✗ [${b.code}] ${b.message}`);
      for (const o of b.options) out.push(`      option ${o.choice}: ${o.effect}`);
      if (!b.options.length) out.push('      fix it by hand first, then plan again');
    }
  } else out.push('no blockers');
  for (const d of p.decisions) out.push(`  ✓ [${d.code}] ${d.object}: chosen ${d.resolution!.choice}: ${d.resolution!.effect}`);
  for (const n of p.notes) out.push(`  note: ${n}`);
  if (p.appChanges.length) {
    out.push('', 'WHAT CHANGES FOR YOUR APPLICATION');
    for (const x of p.appChanges) out.push(`  ${x.severity === 'blocker' ? '✗ BLOCKER' : x.severity === 'warning' ? '! warning' : '· info'} [${x.kind}] ${x.object}: ${x.message}`);
  }
  const a = p.afterSwap;
  if (a) {
    out.push('', 'after the swap, the table keeps working:');
    out.push(`  partitions exist until ${a.partitionsUntil ?? '?'} at the plan's time; the run makes ${a.premake} interval(s) ahead of its own clock again before the swap and at its end`);
    out.push(a.maintenance.schedule
      ? `  partitionMaintenance Schedule ${a.maintenance.scheduleId}: created or updated at the end of the run, every ${a.maintenance.everyHours} h, ${a.premake} interval(s) ahead`
      : `  no maintenance Schedule: ${a.maintenance.why}`);
    out.push(`  a write beyond the partitions: ${a.beyondRange}`);
  }
  for (const ph of p.phases) {
    out.push('', `-- phase ${ph.phase}: ${ph.what}`);
    const st = ph.statements;
    const shown = opts.allStatements || st.length <= 40 ? st : [...st.slice(0, 20), `-- … ${st.length - 30} more statements (--json lists all) …`, ...st.slice(-10)];
    for (const s of shown) out.push(s.startsWith('--') ? s : `${s};`);
  }
  out.push('', p.ok ? 'plan OK: the run can start' : `plan BLOCKED: ${p.blockers.length} blocker(s)`);
  return out.join('\n');
}
