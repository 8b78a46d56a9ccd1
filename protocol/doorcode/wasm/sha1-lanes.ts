/**
 * SHA-1 compression over four lanes as WebAssembly SIMD (FIPS 180-4 §6.1.2), fully unrolled and
 * specialised to message words known at generation time. Only for RFC 4226 HOTP, whose HMAC is
 * defined over SHA-1; the doorcodes use SHA-256.
 */
import {
  add,
  assign,
  constant,
  local,
  rotl,
  select,
  xor,
  v128Locals,
  type LaneExpr,
} from './lane-expr.js';
import type { FunctionBuilder } from '../../wasm/wasm-writer.js';

/** FIPS 180-4 §4.2.1: one constant per 20 rounds. */
const SHA1_K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6] as const;

/** FIPS 180-4 §4.1.1: Ch for rounds 0–19, Parity for 20–39 and 60–79, Maj for 40–59. */
function roundFunction(t: number, b: LaneExpr, c: LaneExpr, d: LaneExpr): LaneExpr {
  if (t < 20) return select(c, d, b);
  if (t >= 40 && t < 60) return select(d, b, xor(b, c));
  return xor(xor(b, c), d);
}

/** The scratch locals of one compression: working variables, the schedule ring and T. */
export interface Sha1LaneLocals {
  readonly work: readonly number[];
  readonly schedule: readonly number[];
  readonly temp: number;
}

export function sha1LaneLocals(f: FunctionBuilder): Sha1LaneLocals {
  return { work: v128Locals(f, 5), schedule: v128Locals(f, 16), temp: v128Locals(f, 1)[0]! };
}

/**
 * Emits one compression of `words` onto the chaining value `chain` (five v128 locals, left
 * unchanged). Returns the five new chaining words as expressions `chain[i] + work[i]`.
 */
export function emitSha1Compression(
  f: FunctionBuilder,
  chain: readonly number[],
  words: readonly LaneExpr[],
  locals: Sha1LaneLocals,
): LaneExpr[] {
  const slots = [...locals.work];
  for (let i = 0; i < 5; i++) f.opIndex(0x20, chain[i]!).opIndex(0x21, slots[i]!);
  const w: LaneExpr[] = [...words];
  for (let t = 0; t < 80; t++) {
    if (t >= 16) {
      // §6.1.2 step 1: W[t] = ROTL1(W[t-3] ⊕ W[t-8] ⊕ W[t-14] ⊕ W[t-16]), in a ring of 16.
      const mixed = xor(xor(w[t - 3]!, w[t - 8]!), xor(w[t - 14]!, w[t - 16]!));
      w.push(assign(f, locals.schedule[t % 16]!, rotl(mixed, 1)));
    }
    const [a, b, c, d, e] = slots.map(local) as [LaneExpr, LaneExpr, LaneExpr, LaneExpr, LaneExpr];
    // §6.1.2 step 3: T = ROTL5(a) + f(b, c, d) + e + K + W[t]; e's local becomes the new a.
    const k = constant(SHA1_K[Math.floor(t / 20)]!);
    const temp = add(add(add(rotl(a, 5), roundFunction(t, b, c, d)), e), add(k, w[t]!));
    assign(f, locals.temp, temp);
    // b becomes ROTL30(b) in place, then the names rotate: a..e = T, a, ROTL30(b), c, d.
    assign(f, slots[1]!, rotl(b, 30));
    f.opIndex(0x20, locals.temp).opIndex(0x21, slots[4]!);
    slots.unshift(slots.pop()!);
  }
  return slots.map((slot, i) => add(local(chain[i]!), local(slot)));
}
