/**
 * Argument checks shared by both crypto providers, so that they reject exactly the same calls
 * with exactly the same errors (provider.ts: a wrong size is a caller bug and throws). Messages
 * name the argument and report lengths only, never content.
 */

/** Throws `TypeError` unless `value` is a `Uint8Array`; `what` names it, never its content. */
export function assertBytes(value: Uint8Array, what: string): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/** Throws unless `value` is a `Uint8Array` of exactly `size` bytes; reports lengths only. */
export function assertSize(value: Uint8Array, size: number, what: string): void {
  assertBytes(value, what);
  if (value.length !== size) {
    throw new RangeError(`${what} must be ${size} bytes, got ${value.length}`);
  }
}

/** Throws `RangeError` unless `length` is an integer in `[0, max]`. */
export function assertLength(length: number, max: number, what: string): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > max) {
    throw new RangeError(`${what} must be an integer in [0, ${max}], got ${length}`);
  }
}
