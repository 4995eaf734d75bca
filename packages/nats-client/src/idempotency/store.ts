/**
 * The idempotency protocol (docs/architecture.md, "Idempotency"): claim -> handle -> complete, per
 * (consumer, eventId). A claim is a lease; a completed key is remembered for the TTL.
 */

/** A held claim on a key. Opaque to callers: pass it back to extend/complete/release. */
export interface Lease {
  readonly key: string;
  /** Identifies the holder, so only it can extend or release the lease. */
  readonly owner: string;
  /** Store-specific version used for compare-and-set (JetStream KV revision). */
  revision?: number;
}

/** The outcome of a claim. */
export type ClaimResult =
  /** This delivery holds the lease: run the handler. */
  | { status: 'claimed'; lease: Lease }
  /** The event was handled already: ack and skip. */
  | { status: 'completed' }
  /** Another delivery holds a live lease: retry later. */
  | { status: 'busy' };

/** A place that remembers which events a consumer has handled. */
export interface IdempotencyStore {
  /** Takes the key: a new key or an expired lease is claimed (atomically); a completed key reports `completed`. */
  claim(key: string, leaseMs: number): Promise<ClaimResult>;
  /** Pushes the lease's expiry out while a long handler runs. Returns false when the lease was lost. */
  extend(lease: Lease, leaseMs: number): Promise<boolean>;
  /** Marks the key completed for the store's TTL. */
  complete(lease: Lease): Promise<void>;
  /** Gives the key up after a failed attempt so a retry can claim it at once. */
  release(lease: Lease): Promise<void>;
  /** Releases connections the store opened. */
  close(): Promise<void>;
}

/** The stored value of a key, shared by the stores that serialise one. */
export interface KeyRecord {
  state: 'lease' | 'done';
  owner: string;
  /** Epoch ms when a lease expires. */
  expiresAt: number;
}

let ownerCounter = 0;
const processTag = Math.random().toString(36).slice(2, 10);

/** A unique holder id for a new lease. */
export function newOwner(): string {
  ownerCounter += 1;
  return `${processTag}-${ownerCounter}`;
}

/** The idempotency key of an event for a consumer. */
export function idempotencyKey(consumer: string, eventId: string): string {
  return `${consumer}:${eventId}`;
}
