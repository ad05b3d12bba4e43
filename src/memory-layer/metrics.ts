import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PersistenceMode } from '../../workflows/types';

export type WriteOp = 'create' | 'update' | 'delete';
/** ok: stored; stale: a newer version was already there; deleted: id tombstoned; error: failed. */
export type WriteOutcome = 'ok' | 'stale' | 'deleted' | 'taken' | 'error';

/**
 * One registry per service instance (several instances can share a process in tests).
 *   memory_writes_total{store,op,outcome}       every store write
 *   dual_write_failures_total                   secondary-store writes that failed in dual-write
 *   memory_write_latency_seconds{store,op}      latency of each store write
 *   memory_persistence_mode{persistence,primary} 1 for the mode in force, 0 for the others
 *   memory_control_epoch                        the control epoch this instance applied
 *   memory_orphan_records{kind}                 after coming back from being forgotten: records,
 *                                               deletes and quarantined records only this memory holds (orphans.ts)
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly writes = new Counter({
    name: 'memory_writes_total',
    help: 'Store writes by store, operation and outcome.',
    labelNames: ['store', 'op', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly dualWriteFailures = new Counter({
    name: 'dual_write_failures_total',
    help: 'Writes to the secondary store that failed while dual-writing.',
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'memory_write_latency_seconds',
    help: 'Latency of store writes, by store and operation.',
    labelNames: ['store', 'op'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly mode = new Gauge({
    name: 'memory_persistence_mode',
    help: 'The persistence mode in force (1) by persistence and primary store.',
    labelNames: ['persistence', 'primary'] as const,
    registers: [this.registry],
  });
  readonly epoch = new Gauge({
    name: 'memory_control_epoch',
    help: 'The control-plane epoch this instance has applied (0: boot defaults, no control row).',
    registers: [this.registry],
  });

  readonly orphans = new Gauge({
    name: 'memory_orphan_records',
    help: 'After this instance came back from being forgotten: records (kind=record), deletes (kind=delete) and quarantined records only its memory holds; 0 otherwise.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  setMode(mode: PersistenceMode, epoch: number): void {
    this.mode.reset();
    for (const persistence of ['memory', 'dual-write', 'postgres'] as const) {
      for (const primary of ['memory', 'postgres'] as const) {
        this.mode.set({ persistence, primary }, persistence === mode.persistence && primary === mode.primary ? 1 : 0);
      }
    }
    this.epoch.set(epoch);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
