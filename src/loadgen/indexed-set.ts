/** A set with O(1) add, delete and uniform random pick (swap-remove over an array). */
export class IndexedSet<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<T, number>();

  get size(): number {
    return this.items.length;
  }

  has(item: T): boolean {
    return this.index.has(item);
  }

  add(item: T): void {
    if (this.index.has(item)) return;
    this.index.set(item, this.items.length);
    this.items.push(item);
  }

  delete(item: T): boolean {
    const i = this.index.get(item);
    if (i === undefined) return false;
    const last = this.items.pop() as T;
    this.index.delete(item);
    if (i < this.items.length) {
      this.items[i] = last;
      this.index.set(last, i);
    }
    return true;
  }

  /** The element at position `i` (0 ≤ i < size), for random picks with an external PRNG. */
  at(i: number): T {
    if (i < 0 || i >= this.items.length) throw new RangeError(`IndexedSet.at(${i}) outside [0, ${this.items.length})`);
    return this.items[i];
  }
}
