/**
 * The mode gate: requests hold it shared, a mode switch holds it exclusively. A switch waits
 * for in-flight requests to finish, and requests that arrive while a switch is pending wait
 * behind it (writer preference), so a switch cannot starve under load and no request runs half
 * in one mode and half in the next.
 */
export class ModeGate {
  private active = 0;
  private exclusive = false;
  private readonly waitingShared: (() => void)[] = [];
  private readonly waitingExclusive: (() => void)[] = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.waitingExclusive.length > 0) {
      await new Promise<void>((resolve) => this.waitingShared.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      this.active--;
      this.wake();
    }
  }

  async exclusively<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.exclusive || this.active > 0) {
      await new Promise<void>((resolve) => this.waitingExclusive.push(resolve));
    } else {
      this.exclusive = true;
    }
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.wake();
    }
  }

  /** Requests currently holding the gate (for tests and stats). */
  get inFlight(): number {
    return this.active;
  }

  private wake(): void {
    if (this.exclusive || this.active > 0) return;
    const next = this.waitingExclusive.shift();
    if (next) {
      this.exclusive = true;
      next();
      return;
    }
    const all = this.waitingShared.splice(0);
    this.active += all.length;
    for (const resolve of all) resolve();
  }
}

/**
 * One-at-a-time per key (a record id): the writes of one record through one instance are
 * applied to both stores in the order they were accepted.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
