/**
 * Expected failures are values, not exceptions (STYLE.md "Names and errors"): a bad MAC, a replay,
 * an expired credential, hostile bytes. Every decoder and state machine in `protocol/` returns a
 * `Result`, whose error carries a stable numeric code shared with the wire (`errors.ts`).
 */
import type { WireErrorCode } from './errors.js';

export type Result<T, E extends number = WireErrorCode> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: E; readonly detail?: string };

export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });

/**
 * A failure with its code and, for logs and tests, a short `detail` saying what was wrong and
 * where (a field path, a limit). The detail never carries key material, codes or plaintext.
 */
export const fail = <E extends number>(
  code: E,
  detail?: string,
): { readonly ok: false; readonly code: E; readonly detail?: string } =>
  detail === undefined ? { ok: false, code } : { ok: false, code, detail };
