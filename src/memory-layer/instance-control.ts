import type { Pool, PoolClient } from 'pg';
import type { PersistenceMode } from '../../workflows/types';
import {
  CONTROL_CHANNEL,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_POLL_INTERVAL_MS,
  getControl,
} from './control-plane';
import type { DualStore } from './storage/dual-store';
import { silentLogger, type Logger } from './logger';

export interface InstanceControlOptions {
  pool: Pool;
  instanceId: string;
  target: string;
  dual: DualStore;
  adminUrl?: string;
  heartbeatMs?: number;
  pollMs?: number;
  logger?: Logger;
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
 */
export class InstanceControl {
  private readonly pool: Pool;
  private readonly log: Logger;
  private listener: PoolClient | null = null;
  private timers: NodeJS.Timeout[] = [];
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private paused = false;
  private stopped = false;
  private heartbeatFailing = false;

  constructor(private readonly opts: InstanceControlOptions) {
    this.pool = opts.pool;
    this.log = opts.logger ?? silentLogger;
  }

  get instanceId(): string {
    return this.opts.instanceId;
  }

  async start(): Promise<void> {
    const row = await getControl(this.pool, this.opts.target).catch((err: Error) => {
      throw new Error(`instance ${this.opts.instanceId} cannot read the control row of ${this.opts.target} at start: ${err.message}`);
    });
    if (row) await this.opts.dual.applyMode(row.mode, row.epoch);
    await this.report(true);
    await this.listen().catch((err: Error) => this.log.warn('LISTEN failed; polling only until it reconnects', { error: err.message }));
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn().catch(() => undefined), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, () => this.heartbeat());
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
    await this.syncing?.catch(() => undefined);
    const l = this.listener;
    this.listener = null;
    if (l) {
      await l.query(`UNLISTEN ${CONTROL_CHANNEL}`).catch(() => undefined);
      l.release();
    }
    await this.pool
      .query('UPDATE cutover_instances SET stopped_at = now() WHERE instance_id = $1', [this.opts.instanceId])
      .catch((err: Error) => this.log.warn('could not mark the instance stopped', { error: err.message }));
  }

  private async syncOnce(): Promise<void> {
    let row;
    try {
      row = await getControl(this.pool, this.opts.target);
    } catch {
      return; // Postgres unreachable: keep the mode in force; the next poll retries.
    }
    if (!row || row.epoch === this.opts.dual.epoch || this.paused) return;
    const from = this.opts.dual.mode;
    await this.opts.dual.applyMode(row.mode, row.epoch);
    this.log.info('persistence mode applied', { epoch: row.epoch, from, to: row.mode, changedBy: row.changedBy, reason: row.reason });
    await this.report(false).catch((err: Error) =>
      this.log.warn('could not acknowledge the epoch; the next heartbeat will', { epoch: row.epoch, error: err.message }),
    );
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.report(false);
      if (this.heartbeatFailing) this.log.info('heartbeat restored');
      this.heartbeatFailing = false;
    } catch (err) {
      if (!this.heartbeatFailing) this.log.warn('heartbeat failed', { error: (err as Error).message });
      this.heartbeatFailing = true;
    }
  }

  /** Registers (or refreshes) this instance's row: heartbeat plus the applied epoch and mode. */
  private async report(register: boolean): Promise<void> {
    if (this.stopped) return;
    const mode: PersistenceMode = this.opts.dual.mode;
    await this.pool.query(
      `INSERT INTO cutover_instances AS i (instance_id, target, admin_url, applied_epoch, applied_mode, started_at, last_heartbeat, stopped_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, now(), now(), NULL)
       ON CONFLICT (instance_id) DO UPDATE
          SET target = EXCLUDED.target, admin_url = EXCLUDED.admin_url, applied_epoch = EXCLUDED.applied_epoch,
              applied_mode = EXCLUDED.applied_mode, last_heartbeat = now(), stopped_at = NULL
              ${register ? ', started_at = now()' : ''}`,
      [this.opts.instanceId, this.opts.target, this.opts.adminUrl ?? null, this.opts.dual.epoch, JSON.stringify(mode)],
    );
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
