/**
 * Ids of the cloud's records (`repository.ts`): 16 random bytes shown as lowercase hex, the
 * same bytes the wire formats carry (`protocol/formats/common.ts` `ID_BYTES`).
 */
import type { RandomSource } from '../../protocol/crypto/provider.js';
import { ID_BYTES } from '../../protocol/formats/common.js';

const HEX = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** The bytes of a lowercase hex string; a malformed one is a bug and throws. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX.test(hex)) throw new RangeError('expected lowercase hex of whole bytes');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A fresh record id. */
export function newId(random: RandomSource): string {
  return toHex(random(ID_BYTES));
}
