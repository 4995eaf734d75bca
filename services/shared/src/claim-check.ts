/**
 * Claim-check for large execution inputs. A value too large to travel in events and the
 * execution record is stored once in the JetStream object store bucket `EXECUTION_INPUTS`, and
 * a small {@link ClaimReference} travels in its place. Whoever needs the content fetches it:
 * the tool service resolves references in a tool's params, the agent service in the input it
 * renders a prompt from. Templates that only pass the field on (`"{{input.receipt}}"`) pass
 * the reference; a path into it (`{{input.receipt.total}}`) is readable only where it is
 * resolved (an agent's prompt), not in tool params, which the orchestration renders.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { ObjectStore } from '@nats-io/obj';
import { DeterministicError } from './failure.js';

/** The object store bucket holding claim-checked inputs. */
export const CLAIM_CHECK_BUCKET = 'EXECUTION_INPUTS';

/** The JSON type of a claim-checked value, as workflow inputs declare them. */
export type ClaimedType = 'string' | 'number' | 'boolean' | 'object' | 'array';

/** What travels instead of a claim-checked value. */
export interface ClaimReference {
  $claimCheck: {
    bucket: string;
    /** Object name: `<executionId>/<input field>`. */
    name: string;
    /** Size of the value as JSON. */
    bytes: number;
    type: ClaimedType;
  };
}

/** True for a {@link ClaimReference}. */
export function isClaimReference(value: unknown): value is ClaimReference {
  const claim = (value as { $claimCheck?: unknown } | null)?.$claimCheck as Record<string, unknown> | undefined;
  return typeof claim === 'object' && claim !== null && typeof claim.name === 'string' && typeof claim.bucket === 'string';
}

function jsonType(value: unknown): ClaimedType {
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' ? type : 'object';
}

/** A value ready to be claim-checked: the reference to pass and the bytes to store. */
export interface PreparedClaim {
  reference: ClaimReference;
  data: Uint8Array;
}

/** Encodes `value` for storing under `name`: the reference is known before anything is stored. */
export function prepareClaim(name: string, value: unknown): PreparedClaim {
  const data = new TextEncoder().encode(JSON.stringify(value));
  return { reference: { $claimCheck: { bucket: CLAIM_CHECK_BUCKET, name, bytes: data.length, type: jsonType(value) } }, data };
}

/** Options of {@link ClaimCheckStore.open}. */
export interface ClaimCheckStoreOptions {
  replicas?: number;
  /** How long a stored value lives (ms). Default 7 days, like the execution records. */
  ttlMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The claim-check bucket: stores values and resolves references back to them. */
export class ClaimCheckStore {
  private constructor(private readonly store: ObjectStore) {}

  /** Opens the bucket, creating it when missing. */
  static async open(js: JetStreamClient, options: ClaimCheckStoreOptions = {}): Promise<ClaimCheckStore> {
    const store = await new Objm(js).create(CLAIM_CHECK_BUCKET, {
      replicas: options.replicas ?? 1,
      ttl: (options.ttlMs ?? 7 * DAY_MS) * 1_000_000,
    });
    return new ClaimCheckStore(store);
  }

  /** Stores a prepared value; its reference can then be passed instead of it. */
  async put(claim: PreparedClaim): Promise<ClaimReference> {
    await this.store.putBlob({ name: claim.reference.$claimCheck.name }, claim.data);
    return claim.reference;
  }

  /**
   * `value` with every reference in it replaced by the stored content.
   *
   * @throws DeterministicError `CLAIM_CHECK_MISSING` when a referenced value is gone (expired, deleted)
   */
  async resolve<T>(value: T): Promise<T> {
    if (isClaimReference(value)) {
      const data = await this.store.getBlob(value.$claimCheck.name);
      if (data === null) throw new DeterministicError('CLAIM_CHECK_MISSING', `claim-checked input "${value.$claimCheck.name}" is no longer stored`);
      return JSON.parse(new TextDecoder().decode(data)) as T;
    }
    if (Array.isArray(value)) return (await Promise.all(value.map((v: unknown) => this.resolve(v)))) as T;
    if (value !== null && typeof value === 'object') {
      const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await this.resolve(v)] as const));
      return Object.fromEntries(entries) as T;
    }
    return value;
  }
}
