/**
 * Sticky routing: an owner always goes to the same instance, as a sharded in-memory service
 * would. Each instance's memory store then holds exactly the owners routed to it, which is what
 * makes per-instance export and back-fill complete.
 *
 * FNV-1a (32 bit) over the owner id's UTF-8 bytes, modulo the number of instances: stable
 * across processes and runs, so the orchestrator, the demo and the load generator agree.
 */
export function ownerHash(ownerId: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(ownerId, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function routeOwner<T>(ownerId: string, instances: readonly T[]): T {
  if (instances.length === 0) throw new Error('routeOwner: no instances to route to');
  return instances[ownerHash(ownerId) % instances.length];
}
