/**
 * What the cloud's parts share (ARCHITECTURE.md §6): the repository, the injected clock,
 * randomness and crypto, and the lookups and input checks every request starts with. Bad input
 * and unknown or revoked records are `CloudError`s naming the field; nothing here trusts a
 * caller's value before checking it.
 */
import { toCbor } from '../../protocol/cbor/schema.js';
import type { MapSchema } from '../../protocol/cbor/schema.js';
import type { CryptoProvider, RandomSource } from '../../protocol/crypto/provider.js';
import { CloudError } from './errors.js';
import type { CloudRepository, DoorRecord, PropertyRecord, UserRecord } from './repository.js';

/** The property's id in its table: one property per cloud. */
export const PROPERTY_ID = 'property';
/** The longest name the cloud stores for a door, user or key. */
export const MAX_NAME_LENGTH = 128;

export class CloudContext {
  readonly repo: CloudRepository;
  readonly crypto: CryptoProvider;
  readonly random: RandomSource;
  readonly #clock: () => number;

  constructor(
    repo: CloudRepository,
    crypto: CryptoProvider,
    random: RandomSource,
    clock: () => number,
  ) {
    this.repo = repo;
    this.crypto = crypto;
    this.random = random;
    this.#clock = clock;
  }

  /** The injected clock, as the whole ms the wire formats carry. */
  now(): number {
    const now = this.#clock();
    if (!Number.isFinite(now) || now < 0) throw new RangeError('clock: expected ms since 1970');
    return Math.floor(now);
  }

  get property(): PropertyRecord {
    const property = this.repo.properties.get(PROPERTY_ID);
    if (property === undefined) throw new RangeError('cloud: the property is not set up');
    return property;
  }

  door(doorId: string, field = 'doorId'): DoorRecord {
    assertString(doorId, field);
    const door = this.repo.doors.get(doorId);
    if (door === undefined) throw new CloudError('NOT_FOUND', field, 'no such door');
    return door;
  }

  user(userId: string, field = 'userId'): UserRecord {
    assertString(userId, field);
    const user = this.repo.users.get(userId);
    if (user === undefined) throw new CloudError('NOT_FOUND', field, 'no such user');
    return user;
  }

  /** A user who is not revoked. */
  activeUser(userId: string, field = 'userId'): UserRecord {
    const user = this.user(userId, field);
    if (user.revokedAt !== undefined) throw new CloudError('REVOKED', field, 'user revoked');
    return user;
  }
}

export function assertString(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CloudError('INVALID', field, 'expected a non-empty string');
  }
}

export function assertName(value: unknown, field: string): asserts value is string {
  assertString(value, field);
  if (value.length > MAX_NAME_LENGTH) {
    throw new CloudError('INVALID', field, `longer than ${MAX_NAME_LENGTH} characters`);
  }
}

/** An instant the wire formats can carry: a whole, non-negative, safe number of ms. */
export function assertTime(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CloudError('INVALID', field, 'expected whole ms since 1970 (a safe uint)');
  }
}

export function assertBytes(value: unknown, length: number, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new CloudError('INVALID', field, `expected ${length} bytes`);
  }
  return value;
}

/** Validates `value` against a protocol schema; the schema's message becomes the problem. */
export function assertSchema<F extends MapSchema['fields']>(
  schema: MapSchema<F>,
  value: unknown,
  field: string,
): void {
  try {
    toCbor(schema, value as never);
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new CloudError('INVALID', field, error.message);
    }
    throw error;
  }
}

/** An options argument: absent, or an object. */
export function assertOptions(value: unknown, field = 'options'): void {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw new CloudError('INVALID', field, 'expected an object');
  }
}
