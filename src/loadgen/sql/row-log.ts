/**
 * The log of committed operations of the SQL load generator, by row key: the row's last
 * committed image (as `to_jsonb(row)` returned it, after every trigger) or its deletion. It is
 * the row-image oracle's ground truth.
 *
 * The generator never has two statements in flight on one key, so per key the log sees commits
 * in order. A statement that failed with an answer from Postgres (a constraint, a policy, a
 * deadlock) was rolled back: nothing changes. One whose answer never came (the connection broke)
 * may or may not have committed: the log keeps both possible images and the key is never touched
 * again ("uncertain").
 */
export type RowImage = Record<string, unknown>;

export interface LoggedRow {
  /** The last committed image, or null after a committed delete. */
  image: RowImage | null;
  /** The images the row may have after an unanswered statement (null = deleted). */
  uncertain?: (RowImage | null)[];
}

export type SqlOp = 'insert' | 'update' | 'delete';
export type SqlOpCounts = Record<SqlOp, number>;

export class RowLog {
  private readonly rows = new Map<string, LoggedRow>();
  readonly committed: SqlOpCounts = { insert: 0, update: 0, delete: 0 };
  readonly refused: SqlOpCounts = { insert: 0, update: 0, delete: 0 };
  readonly unanswered: SqlOpCounts = { insert: 0, update: 0, delete: 0 };

  commit(op: SqlOp, key: string, image: RowImage | null): void {
    const prev = this.rows.get(key);
    if (op === 'insert' && prev && prev.image !== null) throw new Error(`insert of ${key} committed, but the log holds that row alive`);
    if (op !== 'insert' && (!prev || prev.image === null)) throw new Error(`${op} of ${key} committed, but the log holds no live row for it`);
    this.rows.set(key, { image });
    this.committed[op]++;
  }

  /** A row that existed before the load (the baseline), taken over as it is. */
  adopt(key: string, image: RowImage): void {
    this.rows.set(key, { image });
  }

  refuse(op: SqlOp): void {
    this.refused[op]++;
  }

  /** No answer: the row is either as before or as attempted (for an insert the attempt's image is unknown: any image counts). */
  unanswer(op: SqlOp, key: string, attempted: RowImage | null | 'any'): void {
    const prev = this.rows.get(key)?.image ?? null;
    this.rows.set(key, { image: prev, uncertain: [prev, attempted === 'any' ? ANY : attempted] });
    this.unanswered[op]++;
  }

  get(key: string): LoggedRow | undefined {
    return this.rows.get(key);
  }

  keys(): IterableIterator<string> {
    return this.rows.keys();
  }

  entries(): IterableIterator<[string, LoggedRow]> {
    return this.rows.entries();
  }

  /** Keys with a live image and no uncertainty: the ones the generator may write again. */
  liveKeys(): string[] {
    return [...this.rows].filter(([, r]) => r.image !== null && !r.uncertain).map(([k]) => k);
  }

  toJSON() {
    return { format: 'lichen-sql-oplog', version: 1, committed: this.committed, refused: this.refused, unanswered: this.unanswered, rows: Object.fromEntries(this.rows) };
  }
}

/** Marks "any image" in an uncertain insert (its generated values are not known without an answer). */
export const ANY: RowImage = Object.freeze({ '*any*': true });
