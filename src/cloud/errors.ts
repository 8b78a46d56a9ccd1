/**
 * The cloud's error for requests it refuses (ARCHITECTURE.md §6; STYLE.md "Names and errors"): a
 * caller asked for something the property's state does not allow, or passed input that fails
 * validation. It is an `InputError` (src/core/errors.ts) with a stable `code` beside the field
 * path, so an API adapter can map it to a status without parsing messages. Messages name the
 * field and the rule, never a key, a PIN or a code.
 *
 * Expected protocol outcomes of bytes from the network (a sealed audit upload that does not
 * open) stay `Result` values, like everywhere else in keyway.
 */
import { InputError } from '../core/errors.js';

export const CLOUD_ERROR_CODES = {
  /** The input is malformed or out of range. */
  INVALID: 'INVALID',
  /** No record with that id. */
  NOT_FOUND: 'NOT_FOUND',
  /** The record exists but is revoked. */
  REVOKED: 'REVOKED',
  /** The request contradicts the state (a phone key held by another user, a guest without a sharer). */
  CONFLICT: 'CONFLICT',
  /** A protocol limit would be passed (credentials or doorcodes a lock can hold). */
  CAPACITY: 'CAPACITY',
  /** No PIN or slot satisfying the rules was found. */
  EXHAUSTED: 'EXHAUSTED',
} as const;

export type CloudErrorCode = keyof typeof CLOUD_ERROR_CODES;

export class CloudError extends InputError {
  override name = 'CloudError';
  readonly code: CloudErrorCode;

  constructor(code: CloudErrorCode, field: string, problem: string) {
    super(field, problem);
    this.code = code;
  }
}
