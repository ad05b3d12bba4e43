import type { PersistenceMode, StoreName } from '../../../workflows/types';
import type { MemoryRecord } from '../record';
import { KeyedMutex, ModeGate } from '../gate';
import type { ServiceMetrics, WriteOp } from '../metrics';
import { silentLogger, type Logger } from '../logger';
import type { MemoryStore } from './memory-store';
import type { PgStore } from './pg-store';
import type { PutOutcome, RecordStore } from './store';
import { NO_FENCE, type WriteFence } from '../lease';

/**
 * The dual-write adapter the runbook names. Per the mode in force:
 *   memory                      memory only
 *   postgres                    Postgres only
 *   dual-write, primary P       P first, then the other store (unless dualWriteEnabled=false),
 *                               reads from P.
 *   postgres + mirrorTable M    Postgres, each write also to table M in the same transaction
 *                               (the app's dual-write onto a table: the conversion's shadow
 *                               before the swap, the kept old table after it; both or neither,
 *                               so a failure fails the request and leaves no difference).
 * A secondary failure is counted in dual_write_failures_total and logged; with failFast it also
 * fails the request (the primary write stands: it was already acknowledged to the primary).
 *
 * Writes carry whole records: an update of a record the secondary does not hold yet (Postgres
 * before the back-fill reached it) is an upsert of the full record, so it is not lost, and the
 * version guard keeps the back-fill's older copy from overwriting it later.
 *
 * Ordering: requests hold the mode gate shared and `applyMode` holds it exclusively, so a mode
 * change waits for in-flight writes and no write spans two modes; writes of one record are
 * serialised per id, so both stores see them in the order they were accepted.
 */

/** A record to create: its fields, with createdAt optional (now) and updatedAt set by the store. */
export type NewRecordInput = Omit<MemoryRecord, 'createdAt' | 'updatedAt'> & { createdAt?: Date };

export type RecordPatch = Partial<Pick<MemoryRecord, 'content' | 'metadata' | 'kind' | 'agentId'>>;

/** The primary store failed: the request fails (HTTP 503 when Postgres is the primary). */
export class PrimaryUnavailableError extends Error {
  constructor(
    readonly store: StoreName,
    cause: unknown,
  ) {
    super(`${store} (primary store) unavailable: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'PrimaryUnavailableError';
  }
}

/** The secondary failed while DUAL_WRITE_FAIL_FAST is on (the primary write was applied). */
export class SecondaryFailFastError extends Error {
  constructor(
    readonly store: StoreName,
    cause: unknown,
  ) {
    super(
      `${store} (secondary store) write failed and fail-fast is on; the primary store accepted the write: ` +
        `${(cause as Error)?.message ?? String(cause)}`,
    );
    this.name = 'SecondaryFailFastError';
  }
}

/** A create with an id that exists, or existed and was deleted. */
export class RecordConflictError extends Error {
  constructor(
    readonly id: string,
    readonly reason: 'exists' | 'deleted',
  ) {
    super(reason === 'exists' ? `record ${id} already exists` : `record ${id} was deleted; ids are never reused`);
    this.name = 'RecordConflictError';
  }
}

export interface WriteCounts {
  created: number;
  updated: number;
  deleted: number;
  failed: number;
  secondaryFailures: number;
}

export interface DualStoreOptions {
  memory: MemoryStore;
  postgres: PgStore;
  metrics: ServiceMetrics;
  mode: PersistenceMode;
  epoch?: number;
  logger?: Logger;
  /** ms since epoch; tests may pin it. */
  clock?: () => number;
}

export class DualStore {
  readonly memory: MemoryStore;
  readonly postgres: PgStore;
  readonly gate = new ModeGate();
  readonly counts: WriteCounts = { created: 0, updated: 0, deleted: 0, failed: 0, secondaryFailures: 0 };
  private readonly perRecord = new KeyedMutex();
  private readonly metrics: ServiceMetrics;
  private readonly log: Logger;
  private readonly clock: () => number;
  private current: PersistenceMode;
  private currentEpoch: number;
  private fence: WriteFence = NO_FENCE;

  constructor(opts: DualStoreOptions) {
    this.memory = opts.memory;
    this.postgres = opts.postgres;
    this.metrics = opts.metrics;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? Date.now;
    this.current = { ...opts.mode };
    this.currentEpoch = opts.epoch ?? 0;
    this.metrics.setMode(this.current, this.currentEpoch);
  }

  /** The self-fencing check every write passes before it starts and before it is acknowledged. */
  useFence(fence: WriteFence): void {
    this.fence = fence;
  }

  /** A write between the fence's admit and confirm (both outside the gate: they may apply a mode). */
  private async fenced<T>(fn: () => Promise<T>): Promise<T> {
    const token = await this.fence.admit();
    const r = await fn();
    await this.fence.confirm(token);
    return r;
  }

  get mode(): PersistenceMode {
    return { ...this.current };
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /**
   * Switches mode between requests: waits for in-flight ones, holds new ones until done.
   * Epochs only move forward: a read of the control row that is older than the epoch applied
   * (a poll that was in flight across a SIGSTOP while the heartbeat applied a newer row) is
   * ignored, so an instance never serves in a mode the fleet has left; `allowOlder` applies one
   * (the control row itself went back: instance-control.ts decides). Returns whether it applied.
   */
  async applyMode(mode: PersistenceMode, epoch: number, opts: { allowOlder?: boolean } = {}): Promise<boolean> {
    return this.gate.exclusively(() => {
      if (epoch < this.currentEpoch && !opts.allowOlder) return false;
      this.current = { ...mode };
      this.currentEpoch = epoch;
      this.metrics.setMode(this.current, epoch);
      // With persistence "postgres" the memory store is neither written nor read, and no
      // back-fill copies from it any more: its deleted ids guard nothing, so they go (the
      // same rule as Postgres' tombstones, pruneTombstones). Until then the set is kept whole.
      if (mode.persistence === 'postgres') this.memory.pruneDeleted(Number.POSITIVE_INFINITY);
      return true;
    });
  }

  async get(id: string): Promise<MemoryRecord | null> {
    return this.gate.shared(() => this.read(() => this.primary().get(id)));
  }

  async getMany(ids: readonly string[]): Promise<MemoryRecord[]> {
    return this.gate.shared(() => this.read(() => this.primary().getMany(ids)));
  }

  async listByOwner(ownerId: string, limit: number): Promise<MemoryRecord[]> {
    return this.gate.shared(() => this.read(() => this.primary().listByOwner(ownerId, limit)));
  }

  async create(input: NewRecordInput): Promise<MemoryRecord> {
    return this.fenced(() => this.gate.shared(() =>
      this.perRecord.run(input.id, async () => {
        const primary = this.primary();
        const now = this.clock();
        const createdAt = input.createdAt ?? new Date(now);
        const record: MemoryRecord = { ...input, createdAt, updatedAt: new Date(Math.max(now, createdAt.getTime())) };
        const existing = await this.read(() => primary.get(record.id));
        if (existing) throw this.failed(new RecordConflictError(record.id, 'exists'));
        const outcome = await this.write(primary, 'create', () => primary.create(record));
        if (outcome === 'deleted') throw this.failed(new RecordConflictError(record.id, 'deleted'));
        if (outcome !== 'written') throw this.failed(new RecordConflictError(record.id, 'exists'));
        // A secondary holding the id under another record refuses it: a failed secondary write.
        await this.secondaryWrite('create', async (s) => {
          const r = await s.create(record);
          if (r === 'taken') throw new RecordConflictError(record.id, 'exists');
          return r;
        });
        this.counts.created++;
        return record;
      }),
    ));
  }

  /** Returns null when the record does not exist in the primary store. */
  async update(id: string, patch: RecordPatch): Promise<MemoryRecord | null> {
    return this.fenced(() => this.gate.shared(() =>
      this.perRecord.run(id, async () => {
        const primary = this.primary();
        // Another writer (another instance, a repair) may slip in between read and write; the
        // version guard then reports `stale` and we re-read rather than lose either write.
        for (let attempt = 0; attempt < 5; attempt++) {
          const cur = await this.read(() => primary.get(id));
          if (!cur) return null;
          const next: MemoryRecord = {
            ...cur,
            ...definedOnly(patch),
            updatedAt: new Date(Math.max(this.clock(), cur.updatedAt.getTime() + 1)),
          };
          const outcome = await this.write(primary, 'update', () => primary.put(next));
          if (outcome === 'deleted') return null;
          if (outcome === 'stale') continue;
          await this.secondaryWrite('update', (s) => s.put(next));
          this.counts.updated++;
          return next;
        }
        throw this.failed(new PrimaryUnavailableError(primary.name, new Error(`record ${id} kept changing under this update; retry`)));
      }),
    ));
  }

  /** Returns false when the record does not exist in the primary store. */
  async remove(id: string): Promise<boolean> {
    return this.fenced(() => this.gate.shared(() =>
      this.perRecord.run(id, async () => {
        const primary = this.primary();
        const deletedAt = new Date(this.clock());
        let createdAt: Date | null;
        if (primary === this.memory) {
          // Only a record we hold is deleted (and tombstoned): 404 probes leave no trace.
          const cur = this.memory.getSync(id);
          if (!cur) return false;
          createdAt = await this.write(primary, 'delete', () => primary.delete(id, deletedAt));
        } else {
          createdAt = await this.write(primary, 'delete', () => primary.delete(id, deletedAt));
        }
        if (!createdAt) return false;
        const known = createdAt;
        await this.secondaryWrite('delete', (s) => s.delete(id, deletedAt, known));
        this.counts.deleted++;
        return true;
      }),
    ));
  }

  private primary(): RecordStore {
    const m = this.current;
    const name: StoreName = m.persistence === 'dual-write' ? m.primary : m.persistence;
    if (m.persistence === 'postgres' && m.mirrorTable) return this.mirrored(m.mirrorTable);
    return name === 'memory' ? this.memory : this.postgres;
  }

  private secondary(): RecordStore | null {
    const m = this.current;
    if (m.persistence !== 'dual-write' || !m.dualWriteEnabled) return null;
    return m.primary === 'memory' ? this.postgres : this.memory;
  }

  private readonly mirrors = new Map<string, PgStore>();

  /** The Postgres store writing every change to `table` too, in the same transaction. */
  private mirrored(table: string): PgStore {
    let m = this.mirrors.get(table);
    if (!m) this.mirrors.set(table, (m = this.postgres.withMirror(table)));
    return m;
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failed(new PrimaryUnavailableError(this.primary().name, err));
    }
  }

  /** A primary-store write, timed and counted. */
  private async write<T extends PutOutcome | Date | null>(store: RecordStore, op: WriteOp, fn: () => Promise<T>): Promise<T> {
    const end = this.metrics.latency.startTimer({ store: store.name, op });
    try {
      const r = await fn();
      this.metrics.writes.inc({ store: store.name, op, outcome: outcomeLabel(r) });
      return r;
    } catch (err) {
      this.metrics.writes.inc({ store: store.name, op, outcome: 'error' });
      throw this.failed(new PrimaryUnavailableError(store.name, err));
    } finally {
      end();
    }
  }

  private async secondaryWrite(op: WriteOp, fn: (s: RecordStore) => Promise<PutOutcome | Date | null>): Promise<void> {
    const s = this.secondary();
    if (!s) return;
    const end = this.metrics.latency.startTimer({ store: s.name, op });
    try {
      const r = await fn(s);
      this.metrics.writes.inc({ store: s.name, op, outcome: outcomeLabel(r) });
    } catch (err) {
      this.metrics.writes.inc({ store: s.name, op, outcome: 'error' });
      this.metrics.dualWriteFailures.inc();
      this.counts.secondaryFailures++;
      this.log.warn('dual-write to the secondary store failed', { store: s.name, op, error: (err as Error).message, failFast: this.current.failFast });
      if (this.current.failFast) throw this.failed(new SecondaryFailFastError(s.name, err));
    } finally {
      end();
    }
  }

  private failed<E extends Error>(err: E): E {
    if (!(err instanceof RecordConflictError)) this.counts.failed++;
    return err;
  }
}

function definedOnly(patch: RecordPatch): RecordPatch {
  const out: RecordPatch = {};
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function outcomeLabel(r: PutOutcome | Date | null): 'ok' | 'stale' | 'deleted' | 'taken' {
  return r === 'stale' || r === 'deleted' || r === 'taken' ? r : 'ok';
}
