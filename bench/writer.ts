import crypto from 'node:crypto';
import { Pool } from 'pg';
import { writesIn } from './stats';

export interface WriteSample {
  start: number;
  end: number;
  ok: boolean;
  error?: string;
}

/**
 * A steady, open-loop write load on memory_records through a pg pool: `rate` writes per second
 * are issued on schedule whether or not earlier ones have returned (a stalled table shows up as
 * latency, not as a slower issue rate). Half inserts of new records (created_at now), half
 * updates of recently inserted ones, as an application would write.
 */
export class PacedWriter {
  readonly samples: WriteSample[] = [];
  private readonly pool: Pool;
  private readonly recent: string[] = [];
  private timer?: NodeJS.Timeout;
  private launched = 0;
  private inFlight = new Set<Promise<void>>();
  private t0 = 0;
  private stopped = false;

  constructor(url: string, private readonly rate: number) {
    // Enough connections that the pool itself never throttles the schedule (a stall shows as waiting).
    this.pool = new Pool({ connectionString: url, max: 40, application_name: 'bench-writer' });
    this.pool.on('error', () => undefined);
  }

  start(): void {
    this.t0 = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.t0) * this.rate) / 1000) - this.launched;
      for (let i = 0; i < due; i++) this.launch();
    }, 2);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
    await this.pool.end();
  }

  /** The longest write that overlapped [from, to] (performance.now() times), and the failures among them. */
  window(from: number, to: number): { maxMs: number; writes: number; failed: number } {
    return writesIn(this.samples, from, to);
  }

  failures(): WriteSample[] {
    return this.samples.filter((s) => !s.ok);
  }

  private launch(): void {
    this.launched++;
    const start = performance.now();
    const update = this.recent.length > 0 && this.launched % 2 === 0;
    let op: Promise<unknown>;
    if (update) {
      op = this.pool.query(`UPDATE memory_records SET content = $2, updated_at = clock_timestamp() WHERE id = $1`, [
        this.recent[crypto.randomInt(this.recent.length)],
        `updated ${this.launched}`,
      ]);
    } else {
      const id = crypto.randomUUID();
      op = this.pool
        .query(
          `INSERT INTO memory_records (id, owner_id, kind, content, metadata, created_at, updated_at)
           VALUES ($1, 'bench-writer', 'note', $2, '{}', now(), now())`,
          [id, `written ${this.launched}`],
        )
        .then(() => {
          this.recent.push(id);
          if (this.recent.length > 1000) this.recent.shift();
        });
    }
    const p = op.then(
      () => void this.samples.push({ start, end: performance.now(), ok: true }),
      (err: Error) => void this.samples.push({ start, end: performance.now(), ok: false, error: err.message }),
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
