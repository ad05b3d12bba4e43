import type { Pool, PoolClient } from 'pg';
import type { PersistenceMode } from '../../workflows/types';
import {
  CONTROL_CHANNEL,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_POLL_INTERVAL_MS,
  getControl,
  type ControlRow,
} from './control-plane';
import type { DualStore } from './storage/dual-store';
import { FencedError, Lease, type WriteFence } from './lease';
import { silentLogger, type Logger } from './logger';
import type { ForgottenInfo } from './orphans';

export interface InstanceControlOptions {
  /** The control plane's own connections (control-pool.ts), never the app's pool: a saturated app pool must not starve the heartbeat. */
  pool: Pool;
  instanceId: string;
  target: string;
  dual: DualStore;
  adminUrl?: string;
  heartbeatMs?: number;
  pollMs?: number;
  /** The write lease (default 8 s): must be shorter than the orchestrator's heartbeat TTL. */
  leaseMs?: number;
  /** How long a write waits for a renewal once the lease expired (default 1 s). */
  admitWaitMs?: number;
  logger?: Logger;
  /**
   * Called when a heartbeat reads that this instance was forgotten by an operator (fleet.ts)
   * since it last knew: it is back, and its memory-only records must be reported (orphans.ts).
   */
  onForgotten?: (info: ForgottenInfo) => void;
}

/**
 * The app side of the control plane (see control-plane.ts for the protocol and the liveness
 * rule). One per instance:
 *  - on start, applies the target's control row when there is one (the row wins over the boot
 *    mode); with no row the boot mode stays, at epoch 0, and no row is created here: the
 *    orchestrator creates it with setMode. Start fails when Postgres cannot be read, rather
 *    than serve in a mode the control row may contradict;
 *  - registers in cutover_instances and heartbeats (every 2 s by default);
 *  - learns of changes by LISTEN on `cutover_control`, and by polling the row (every 1 s) in
 *    case a notification is missed (the listening connection dropped, Postgres restarted);
 *  - applies a new epoch through DualStore.applyMode (between requests), then acknowledges it
 *    by writing applied_epoch and applied_mode with a fresh heartbeat.
 *
 * SELF-FENCING (the write fence the dual store consults, see lease.ts)
 *   Each heartbeat is a renewal cycle: write the heartbeat, read the control row and whether a
 *   run is active for the target (a row of cutover_runs with status 'active'), apply the row's
 *   epoch; when all of it succeeded the lease runs `leaseMs` from the cycle's start, on the
 *   monotonic clock. While the lease holds, writes go through. Once it has expired:
 *    - a write first waits (at most admitWaitMs) for a fresh cycle, so after a freeze
 *      (SIGSTOP, GC) the requests of the accept backlog are served in the mode the control row
 *      says now, not in the one applied before the freeze;
 *    - if no cycle succeeds, the write gets 503 with Retry-After (FencedError), whatever the
 *      last read said: FAILS CLOSED. "No run active" read before the cut-off is stale — a run
 *      may have registered since, and writes acknowledged in memory only during it would be
 *      lost when an operator forgets the instance. So with Postgres unreachable for longer than
 *      the lease, plain Phase 2 (memory primary) refuses writes too: the availability price of
 *      never acknowledging a write the fleet may have moved on from (README "Self-fencing").
 *   The lease is checked again when the write is acknowledged (confirm): a write whose lease
 *   expired while it was being served is acknowledged only if a fresh cycle shows the epoch it
 *   was served in is still current (or no run is active); otherwise 503, the write may stand.
 */
export class InstanceControl implements WriteFence {
  private readonly pool: Pool;
  private readonly log: Logger;
  private listener: PoolClient | null = null;
  private timers: NodeJS.Timeout[] = [];
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private paused = false;
  private stopped = false;
  private heartbeatFailing = false;
  private renewing: Promise<void> | null = null;
  /** The forgotten_at of this instance's row already handed to onForgotten (ms), or null. */
  private forgottenSeen: number | null = null;
  /** cutover_instances has no forgotten_* columns (007 not applied). */
  private noMembership = false;
  /** Bumped by every epoch applied: a read that started before an apply may be stale. */
  private applied = 0;
  readonly lease: Lease;

  constructor(private readonly opts: InstanceControlOptions) {
    this.pool = opts.pool;
    this.log = opts.logger ?? silentLogger;
    this.lease = new Lease(opts.leaseMs ?? DEFAULT_LEASE_MS);
    const beat = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (this.lease.leaseMs <= beat) throw new Error(`instance control: leaseMs (${this.lease.leaseMs}) must be longer than the heartbeat interval (${beat} ms)`);
  }

  get instanceId(): string {
    return this.opts.instanceId;
  }

  async start(): Promise<void> {
    const row = await getControl(this.pool, this.opts.target).catch((err: Error) => {
      throw new Error(`instance ${this.opts.instanceId} cannot read the control row of ${this.opts.target} at start: ${err.message}`);
    });
    if (row) {
      await this.opts.dual.applyMode(row.mode, row.epoch, { allowOlder: true });
      this.applied++;
    }
    await this.report(true);
    await this.renew();
    await this.listen().catch((err: Error) => this.log.warn('LISTEN failed; polling only until it reconnects', { error: err.message }));
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn().catch(() => undefined), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, () => this.renew());
    every(this.opts.pollMs ?? DEFAULT_POLL_INTERVAL_MS, async () => {
      if (!this.listener) await this.listen().catch(() => undefined);
      await this.sync();
    });
    this.log.info('control plane joined', { target: this.opts.target, epoch: this.opts.dual.epoch, mode: this.opts.dual.mode });
  }

  /** Tests: stop applying new epochs (the instance keeps heartbeating, so it stays live and lags). */
  pauseApplying(): void {
    this.paused = true;
  }

  resumeApplying(): void {
    this.paused = false;
    void this.sync().catch(() => undefined);
  }

  /** Reads the control row and applies it when its epoch differs from the one applied. */
  async sync(): Promise<void> {
    if (this.stopped) return;
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain && !this.stopped);
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // A sync in flight may apply an epoch: give it a moment, never forever (a connection cut off
    // from Postgres hangs; stopping must still end). A heartbeat in flight cannot undo the row
    // below: only the registration at start clears stopped_at (report()).
    await within(this.syncing?.catch(() => undefined), 2_000);
    const l = this.listener;
    this.listener = null;
    if (l) {
      await within(l.query(`UNLISTEN ${CONTROL_CHANNEL}`).catch(() => undefined), 2_000);
      l.release(true); // not back to the pool: it may be the connection that hangs
    }
    const marked = await within(
      this.pool.query('UPDATE cutover_instances SET stopped_at = now() WHERE instance_id = $1', [this.opts.instanceId]).then(() => true as const, (err: Error) => {
        this.log.warn('could not mark the instance stopped', { error: err.message });
        return true as const;
      }),
      5_000,
    );
    // Unmarked, it stays in the fleet as a silent member until an operator forgets it: the safe side.
    if (!marked) this.log.warn('could not mark the instance stopped within 5 s (Postgres unreachable?); it stays in the fleet until it is forgotten');
  }

  private async syncOnce(): Promise<void> {
    // Back from a cut-off or a freeze: the full cycle first (heartbeat first, so a return after
    // being forgotten is seen before a new mode is applied: orphans.ts captures the deleted ids
    // that applying persistence "postgres" prunes); the plain read only when that cycle failed.
    if (this.lease.expired()) {
      await this.renew();
      if (!this.lease.expired()) return;
    }
    let row;
    const gen = this.applied;
    try {
      row = await getControl(this.pool, this.opts.target);
    } catch {
      return; // Postgres unreachable: keep the mode in force; the next poll retries.
    }
    await this.applyRow(row, gen);
  }

  /**
   * Applies the row when its epoch differs from the one applied; true when the instance is at
   * the row's epoch (or past it by a stale read). `gen` is the apply counter read before the
   * row was: a row older than the applied epoch read before another apply is a stale read (a
   * poll in flight across a freeze while the heartbeat applied a newer row) and never moves the
   * instance back; one read after the last apply is the control row as it is now — reset or
   * restored from a backup — and is applied, so the instance never reports an epoch the row
   * does not have.
   */
  private async applyRow(row: ControlRow | null, gen: number): Promise<boolean> {
    if (!row || row.epoch === this.opts.dual.epoch) return true;
    const older = row.epoch < this.opts.dual.epoch;
    if (older && gen !== this.applied) return true; // stale: a newer epoch was applied since the read
    if (this.paused) return false;
    const from = this.opts.dual.mode;
    if (!(await this.opts.dual.applyMode(row.mode, row.epoch, { allowOlder: older }))) return true; // a newer one won the race
    this.applied++;
    if (older) this.log.warn('the control row went back to an older epoch (reset or restored): applied it', { epoch: row.epoch, from: this.opts.dual.epoch });
    this.log.info('persistence mode applied', { epoch: row.epoch, from, to: row.mode, changedBy: row.changedBy, reason: row.reason });
    await this.report(false).catch((err: Error) =>
      this.log.warn('could not acknowledge the epoch; the next heartbeat will', { epoch: row.epoch, error: err.message }),
    );
    return true;
  }

  /**
   * One renewal cycle (coalesced: callers share the one in flight): heartbeat, read the control
   * row and whether a run is active, apply the epoch; the lease then runs from the start.
   */
  renew(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.renewing ??= this.renewOnce().finally(() => (this.renewing = null));
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    const startedAt = this.lease.stamp();
    try {
      await this.report(false);
      // 008's SECURITY DEFINER question (the app role may not read the registry); the direct
      // read where 008 is not applied yet and the role may read it (an owner connection).
      const r = await this.pool
        .query<{ active: boolean }>('SELECT cutover_run_active($1) AS active', [this.opts.target])
        .catch((err: { code?: string }) => {
          if (err.code !== '42883') throw err;
          return this.pool.query<{ active: boolean }>(`SELECT EXISTS (SELECT 1 FROM cutover_runs WHERE target = $1 AND status = 'active') AS active`, [this.opts.target]);
        });
      const gen = this.applied;
      const row = await getControl(this.pool, this.opts.target);
      if (await this.applyRow(row, gen)) this.lease.renewed(startedAt, r.rows[0].active);
      if (this.heartbeatFailing) this.log.info('heartbeat restored');
      this.heartbeatFailing = false;
    } catch (err) {
      this.lease.failed(err as Error);
      // A role that may not read the run registry never fences itself: say what is missing.
      if ((err as { code?: string }).code === '42501') this.log.error('heartbeat failed: the app role may not ask whether a run is active, so it cannot fence itself (apply migrations/008_app_role_runs.sql)', { error: (err as Error).message });
      else if (!this.heartbeatFailing) this.log.warn('heartbeat failed', { error: (err as Error).message });
      this.heartbeatFailing = true;
    }
  }

  /** A renewal cycle, but waiting at most `ms` for it (a hung query must not hold the write). */
  private async renewWithin(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.renew(), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  async admit(): Promise<number> {
    const epoch = this.opts.dual.epoch;
    if (!this.lease.expired()) return epoch;
    // Fails closed: whatever the last read said (a run active or not), an expired lease means
    // the instance cannot know what the fleet does now — a run may have registered since.
    const waitMs = this.opts.admitWaitMs ?? 1_000;
    const until = this.lease.now() + waitMs;
    // A cycle that started before the pause ends with a lease that is already spent: try again.
    while (this.lease.expired() && this.lease.now() < until && !this.stopped) await this.renewWithin(until - this.lease.now());
    if (!this.lease.expired()) return this.opts.dual.epoch;
    throw this.fenced('acknowledges no write until a fresh cycle has re-read the control row and the run registry');
  }

  async confirm(token: number): Promise<void> {
    if (!this.lease.expired()) return;
    await this.renewWithin(this.opts.admitWaitMs ?? 1_000);
    if (!this.lease.expired() && (this.opts.dual.epoch === token || !this.lease.runActive)) return;
    throw this.fenced(
      `did not acknowledge this write: the lease expired while it was being served in the mode of epoch ${token}` +
        (this.lease.expired() ? '' : `, and the control row is at epoch ${this.opts.dual.epoch} now`) +
        '; the write may have been applied (read the record before retrying it)',
    );
  }

  private fenced(what: string): FencedError {
    const retryAfter = Math.max(1, Math.ceil((this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS) / 1000));
    const since = this.lease.sinceRenewalMs();
    const run = this.lease.runActive
      ? `while a cutover run is active for ${this.opts.target}`
      : `and no run was active for ${this.opts.target} at its last read, but one may have started since (it fails closed)`;
    return new FencedError(
      `instance ${this.opts.instanceId}: its control-plane lease expired (no successful heartbeat and control-row read for ` +
        `${Number.isFinite(since) ? `${Math.round(since)} ms` : 'ever'}; the lease is ${this.lease.leaseMs} ms) ${run}, so it ${what}. ` +
        `Retry in ${retryAfter} s, or through another instance` +
        (this.lease.lastError ? ` (last Postgres error: ${this.lease.lastError})` : ''),
      retryAfter,
    );
  }

  /**
   * Registers (or refreshes) this instance's row: heartbeat plus the applied epoch and mode. Only
   * the registration at start clears stopped_at: a heartbeat that lands after stop() has marked
   * the row (a query in flight on another connection) must not bring a stopped instance back.
   */
  private async report(register: boolean): Promise<void> {
    if (this.stopped) return;
    const mode: PersistenceMode = this.opts.dual.mode;
    type Forgotten = { forgotten_at: Date | null; forgotten_by: string | null; forgotten_reason: string | null };
    const upsert = (returning: string) =>
      this.pool.query<Forgotten>(
        `INSERT INTO cutover_instances AS i (instance_id, target, admin_url, applied_epoch, applied_mode, started_at, last_heartbeat, stopped_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, now(), now(), NULL)
         ON CONFLICT (instance_id) DO UPDATE
            SET target = EXCLUDED.target, admin_url = EXCLUDED.admin_url, applied_epoch = EXCLUDED.applied_epoch,
                applied_mode = EXCLUDED.applied_mode, last_heartbeat = now()
                ${register ? ', started_at = now(), stopped_at = NULL' : ''}
         ${returning}`,
        [this.opts.instanceId, this.opts.target, this.opts.adminUrl ?? null, this.opts.dual.epoch, JSON.stringify(mode)],
      );
    // The forgotten_* columns come with 007; without them nobody can forget an instance.
    const r = this.noMembership
      ? await upsert('')
      : await upsert('RETURNING i.forgotten_at, i.forgotten_by, i.forgotten_reason').catch(async (err: { code?: string }) => {
          if (err.code !== '42703') throw err;
          this.noMembership = true;
          return upsert('');
        });
    // Forgotten by an operator since this process last looked: it is back, say what only it holds.
    const f = r.rows[0];
    if (f?.forgotten_at && f.forgotten_at.getTime() !== this.forgottenSeen) {
      this.forgottenSeen = f.forgotten_at.getTime();
      const info = { forgottenAt: f.forgotten_at.toISOString(), forgottenBy: f.forgotten_by ?? '', reason: f.forgotten_reason ?? '' };
      this.log.warn('this instance was forgotten by an operator while it was silent; it is back in the fleet', info);
      this.opts.onForgotten?.(info);
    }
  }

  private async listen(): Promise<void> {
    if (this.stopped || this.listener) return;
    const client = await this.pool.connect();
    const drop = (err?: Error) => {
      if (this.listener !== client) return;
      this.listener = null;
      client.release(err ?? true);
      if (err && !this.stopped) this.log.warn('control LISTEN connection lost; polling until it reconnects', { error: err.message });
    };
    client.on('error', drop);
    client.on('notification', (n) => {
      if (n.channel !== CONTROL_CHANNEL) return;
      const target = (n.payload ?? '').replace(/:\d+$/, '');
      if (target === this.opts.target) void this.sync().catch(() => undefined);
    });
    this.listener = client;
    try {
      await client.query(`LISTEN ${CONTROL_CHANNEL}`);
    } catch (err) {
      drop(err as Error);
      throw err;
    }
  }
}

/** `p`'s value, or undefined after `ms` (a stop must end even when Postgres does not answer). */
async function within<T>(p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!p) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
