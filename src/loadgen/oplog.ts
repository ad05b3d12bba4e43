/**
 * The log of acknowledged operations: for every record id the generator touched, the last
 * state the service acknowledged. It is the oracle's ground truth ("nothing lost").
 *
 * Ordering: the generator never has two requests in flight for the same record, so per record
 * acknowledgements arrive in issue order; responses for different records may interleave
 * freely. The log still checks what it is told (a create acknowledged twice, an update that
 * does not advance `updatedAt`) and throws `OpLogError`, because such a response means the
 * service broke its contract and the record's true state is unknown.
 *
 * Unacknowledged attempts: a request that got a 5xx, a network error or a timeout may or may not
 * have been applied. The log keeps that attempt beside the record's last acknowledged state, and
 * the generator never touches that record again, so the store must hold one of exactly two
 * states. A 4xx is a refusal (nothing applied) and leaves the acknowledged state as it was.
 */
export type OpType = 'create' | 'update' | 'delete';

export interface LoggedRecord {
  id: string;
  ownerId: string;
  /** ISO-8601, as acknowledged by the service. */
  createdAt: string;
  /** ISO-8601: the version of the last acknowledged write (a delete keeps the last version). */
  updatedAt: string;
  content: string;
  kind: string;
  deleted: boolean;
  /** Base URL of the instance that acknowledged the last operation. */
  instance: string;
  /** The latest attempt on this record that got no answer; the store may or may not reflect it. */
  unacknowledged?: UnacknowledgedChange;
}

export type UnacknowledgedChange =
  | { op: 'update'; content: string; kind: string; status: string }
  | { op: 'delete'; status: string };

/** A create that got no answer: the record may or may not exist in the store. */
export interface UnacknowledgedCreate {
  id: string;
  ownerId: string;
  instance: string;
  content: string;
  kind: string;
  /** The createdAt the client supplied, or null when the server chose it. */
  createdAt: string | null;
  status: string;
}

/** The record fields the log needs from a 2xx response body. */
export interface AcknowledgedRecord {
  id: string;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
  content: string;
  kind: string;
}

export type OpCounts = Record<OpType, number>;

export class OpLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpLogError';
  }
}

export const OPLOG_FORMAT = 'lichen-loadgen-oplog';
export const OPLOG_VERSION = 1;

export interface OpLogJson {
  format: typeof OPLOG_FORMAT;
  version: typeof OPLOG_VERSION;
  owners: string[];
  acked: OpCounts;
  failed: OpCounts;
  records: LoggedRecord[];
  unacknowledgedCreates: UnacknowledgedCreate[];
}

const iso = (t: string): string => new Date(t).toISOString();

export class OpLog {
  private readonly byId = new Map<string, LoggedRecord>();
  private readonly unackedCreates = new Map<string, UnacknowledgedCreate>();
  private readonly ownerSet = new Set<string>();
  /** Acknowledged operations by type. */
  readonly acked: OpCounts = { create: 0, update: 0, delete: 0 };
  /** Failed operations by type (ambiguous failures and refusals alike). */
  readonly failed: OpCounts = { create: 0, update: 0, delete: 0 };

  /** Registers an owner the load uses, so the oracle looks for extra records of it. */
  noteOwner(ownerId: string): void {
    this.ownerSet.add(ownerId);
  }

  ackCreate(rec: AcknowledgedRecord, instance: string): LoggedRecord {
    if (this.byId.has(rec.id)) throw new OpLogError(`create of ${rec.id} acknowledged, but the log already holds that record`);
    const entry: LoggedRecord = {
      id: rec.id,
      ownerId: rec.ownerId,
      createdAt: iso(rec.createdAt),
      updatedAt: iso(rec.updatedAt),
      content: rec.content,
      kind: rec.kind,
      deleted: false,
      instance,
    };
    this.unackedCreates.delete(rec.id);
    this.byId.set(rec.id, entry);
    this.ownerSet.add(rec.ownerId);
    this.acked.create++;
    return entry;
  }

  ackUpdate(rec: AcknowledgedRecord, instance: string): LoggedRecord {
    const entry = this.live(rec.id, 'update');
    if (Date.parse(rec.updatedAt) <= Date.parse(entry.updatedAt)) {
      throw new OpLogError(`update of ${rec.id} acknowledged with updatedAt ${rec.updatedAt}, not after the previous ${entry.updatedAt}`);
    }
    if (Date.parse(rec.createdAt) !== Date.parse(entry.createdAt)) {
      throw new OpLogError(`update of ${rec.id} acknowledged with createdAt ${rec.createdAt}, but it was created at ${entry.createdAt}`);
    }
    entry.updatedAt = iso(rec.updatedAt);
    entry.content = rec.content;
    entry.kind = rec.kind;
    entry.instance = instance;
    this.acked.update++;
    return entry;
  }

  ackDelete(id: string, instance: string): LoggedRecord {
    const entry = this.live(id, 'delete');
    entry.deleted = true;
    entry.instance = instance;
    this.acked.delete++;
    return entry;
  }

  /** A create failed. Only an ambiguous failure (`applied: 'maybe'`) is kept for the oracle. */
  failCreate(attempt: UnacknowledgedCreate, applied: 'maybe' | 'no'): void {
    this.failed.create++;
    this.ownerSet.add(attempt.ownerId);
    if (applied === 'maybe') this.unackedCreates.set(attempt.id, { ...attempt });
  }

  failUpdate(id: string, change: { content: string; kind: string }, status: string, applied: 'maybe' | 'no'): void {
    this.failed.update++;
    if (applied === 'maybe') this.live(id, 'update').unacknowledged = { op: 'update', content: change.content, kind: change.kind, status };
  }

  failDelete(id: string, status: string, applied: 'maybe' | 'no'): void {
    this.failed.delete++;
    if (applied === 'maybe') this.live(id, 'delete').unacknowledged = { op: 'delete', status };
  }

  get(id: string): LoggedRecord | undefined {
    return this.byId.get(id);
  }

  records(): IterableIterator<LoggedRecord> {
    return this.byId.values();
  }

  unacknowledgedCreates(): IterableIterator<UnacknowledgedCreate> {
    return this.unackedCreates.values();
  }

  owners(): string[] {
    return [...this.ownerSet];
  }

  /** Number of records with an acknowledged create. */
  get size(): number {
    return this.byId.size;
  }

  /** Records the log expects to exist (acknowledged, not deleted). */
  liveCount(): number {
    let n = 0;
    for (const r of this.byId.values()) if (!r.deleted) n++;
    return n;
  }

  /** Adds every entry of `other` (e.g. a seed log and a load log against the same store). */
  merge(other: OpLog): this {
    for (const r of other.records()) {
      if (this.byId.has(r.id)) throw new OpLogError(`cannot merge logs: both hold record ${r.id}`);
      this.byId.set(r.id, structuredClone(r));
    }
    for (const c of other.unacknowledgedCreates()) this.unackedCreates.set(c.id, { ...c });
    for (const o of other.owners()) this.ownerSet.add(o);
    for (const t of ['create', 'update', 'delete'] as const) {
      this.acked[t] += other.acked[t];
      this.failed[t] += other.failed[t];
    }
    return this;
  }

  toJSON(): OpLogJson {
    return {
      format: OPLOG_FORMAT,
      version: OPLOG_VERSION,
      owners: this.owners(),
      acked: { ...this.acked },
      failed: { ...this.failed },
      records: [...this.byId.values()].map((r) => structuredClone(r)),
      unacknowledgedCreates: [...this.unackedCreates.values()].map((c) => ({ ...c })),
    };
  }

  static fromJSON(input: unknown): OpLog {
    const json = input as Partial<OpLogJson> | null;
    if (!json || typeof json !== 'object') throw new OpLogError('op log: expected a JSON object');
    if (json.format !== OPLOG_FORMAT) throw new OpLogError(`op log: field "format" must be "${OPLOG_FORMAT}", got ${JSON.stringify(json.format)}`);
    if (json.version !== OPLOG_VERSION) throw new OpLogError(`op log: field "version" must be ${OPLOG_VERSION}, got ${JSON.stringify(json.version)}`);
    for (const f of ['owners', 'records', 'unacknowledgedCreates'] as const) {
      if (!Array.isArray(json[f])) throw new OpLogError(`op log: field "${f}" must be an array`);
    }
    const log = new OpLog();
    for (const o of json.owners!) {
      if (typeof o !== 'string') throw new OpLogError('op log: field "owners" must hold strings');
      log.ownerSet.add(o);
    }
    json.records!.forEach((r, i) => {
      for (const f of ['id', 'ownerId', 'createdAt', 'updatedAt', 'content', 'kind', 'instance'] as const) {
        if (typeof r?.[f] !== 'string') throw new OpLogError(`op log: records[${i}].${f} must be a string`);
      }
      if (typeof r.deleted !== 'boolean') throw new OpLogError(`op log: records[${i}].deleted must be a boolean`);
      if (Number.isNaN(Date.parse(r.createdAt)) || Number.isNaN(Date.parse(r.updatedAt))) {
        throw new OpLogError(`op log: records[${i}] has a createdAt/updatedAt that is not an ISO-8601 timestamp`);
      }
      log.byId.set(r.id, structuredClone(r));
    });
    json.unacknowledgedCreates!.forEach((c, i) => {
      for (const f of ['id', 'ownerId', 'instance', 'content', 'kind', 'status'] as const) {
        if (typeof c?.[f] !== 'string') throw new OpLogError(`op log: unacknowledgedCreates[${i}].${f} must be a string`);
      }
      log.unackedCreates.set(c.id, { ...c });
    });
    for (const [field, counts] of [['acked', json.acked], ['failed', json.failed]] as const) {
      for (const t of ['create', 'update', 'delete'] as const) {
        const n = counts?.[t];
        if (!Number.isInteger(n) || (n as number) < 0) throw new OpLogError(`op log: ${field}.${t} must be a non-negative integer`);
        log[field][t] = n as number;
      }
    }
    return log;
  }

  private live(id: string, op: OpType): LoggedRecord {
    const entry = this.byId.get(id);
    if (!entry) throw new OpLogError(`${op} of ${id}: the log has no acknowledged create of that record`);
    if (entry.deleted) throw new OpLogError(`${op} of ${id}: the record's delete was already acknowledged`);
    if (entry.unacknowledged) throw new OpLogError(`${op} of ${id}: its previous ${entry.unacknowledged.op} is unacknowledged, so its state is unknown`);
    return entry;
  }
}
