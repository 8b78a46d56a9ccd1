/**
 * SHA-256 compression over four lanes, generated as WebAssembly SIMD (FIPS 180-4 §6.2.2) and
 * specialised to message words known at generation time.
 */
import { SHA256_K } from '../../crypto/sha256-constants.js';
import {
  add,
  assign,
  constant,
  emit,
  load,
  local,
  rotr,
  select,
  shr,
  v128Locals,
  xor,
  type LaneExpr,
} from './lane-expr.js';
import { ValueType, type FunctionBuilder } from '../../wasm/wasm-writer.js';

/** FIPS 180-4 §4.1.2 (4.4): Σ0. */
const bigSigma0 = (x: LaneExpr): LaneExpr => xor(xor(rotr(x, 2), rotr(x, 13)), rotr(x, 22));
/** FIPS 180-4 §4.1.2 (4.5): Σ1. */
const bigSigma1 = (x: LaneExpr): LaneExpr => xor(xor(rotr(x, 6), rotr(x, 11)), rotr(x, 25));
/** FIPS 180-4 §4.1.2 (4.6): σ0. */
const smallSigma0 = (x: LaneExpr): LaneExpr => xor(xor(rotr(x, 7), rotr(x, 18)), shr(x, 3));
/** FIPS 180-4 §4.1.2 (4.7): σ1. */
const smallSigma1 = (x: LaneExpr): LaneExpr => xor(xor(rotr(x, 17), rotr(x, 19)), shr(x, 10));
/** FIPS 180-4 §4.1.2 (4.2): Ch(e, f, g) — f where e is set, g where it is clear. */
const choose = (e: LaneExpr, f: LaneExpr, g: LaneExpr): LaneExpr => select(f, g, e);
/** FIPS 180-4 §4.1.2 (4.3): Maj(a, b, c) — a where a = b, else c. */
const majority = (a: LaneExpr, b: LaneExpr, c: LaneExpr): LaneExpr => select(c, a, xor(a, b));

/**
 * The message schedule of FIPS 180-4 §6.2.2 step 1 over four lanes, computed just in time in a
 * ring of 16 locals: `word(t)` must be called for t = 0, 1, 2, ... in order.
 */
export class LaneSchedule {
  private readonly w: LaneExpr[] = [];

  constructor(
    private readonly f: FunctionBuilder,
    private readonly words: readonly LaneExpr[],
    private readonly ring: readonly number[],
  ) {}

  word(t: number): LaneExpr {
    const w = this.w;
    if (t < 16) {
      w.push(this.words[t]!);
    } else {
      const next = add(
        add(smallSigma1(w[t - 2]!), w[t - 7]!),
        add(smallSigma0(w[t - 15]!), w[t - 16]!),
      );
      w.push(assign(this.f, this.ring[t % 16]!, next));
    }
    return w[t]!;
  }
}

/** The scratch locals of one compression: working variables, T1, the schedule ring, a cursor and a counter. */
export interface Sha256LaneLocals {
  readonly work: readonly number[];
  readonly t1: number;
  readonly schedule: readonly number[];
  readonly cursor: number;
  readonly counter: number;
}

export function sha256LaneLocals(f: FunctionBuilder): Sha256LaneLocals {
  return {
    work: v128Locals(f, 8),
    t1: v128Locals(f, 1)[0]!,
    schedule: v128Locals(f, 16),
    cursor: f.local(ValueType.i32),
    counter: f.local(ValueType.i32),
  };
}

/** Where a compression's round inputs `K[t] + W[t]` come from. */
export type RoundInputs =
  /**
   * The 16 message words, with constants folded into rounds 0–15; the schedule is computed here
   * and rounds 16–63 read `K[t]` from 64 four-lane rows at byte address `roundConstants`.
   */
  | { readonly words: readonly LaneExpr[]; readonly roundConstants: number }
  /** 64 rows of precomputed `K[t] + W[t]`, starting at the byte address in i32 local `rows`. */
  | { readonly rows: number };

/** Rounds per loop iteration: 16 keeps both the a..h renaming and the schedule ring aligned. */
const ROUNDS_PER_PASS = 16;

/**
 * Emits one compression onto the chaining value `chain` (eight v128 locals, left unchanged).
 * Rounds run in loops of 16 so the machine code stays small enough for the CPU's decoded-op
 * cache, which measured faster than unrolling all 64. Returns the eight new chaining words as
 * expressions `chain[i] + work[i]`, for the caller to evaluate where it needs them.
 */
export function emitSha256Compression(
  f: FunctionBuilder,
  chain: readonly number[],
  inputs: RoundInputs,
  locals: Sha256LaneLocals,
): LaneExpr[] {
  const slots = [...locals.work];
  for (let i = 0; i < 8; i++) f.opIndex(0x20, chain[i]!).opIndex(0x21, slots[i]!);
  const ring = locals.schedule;
  if ('rows' in inputs) {
    f.opIndex(0x20, inputs.rows).opIndex(0x21, locals.cursor);
    f.i32Const(64 / ROUNDS_PER_PASS).opIndex(0x21, locals.counter);
    f.countedLoop(locals.counter, () => {
      for (let j = 0; j < ROUNDS_PER_PASS; j++) {
        emitRound(f, load(locals.cursor, 16 * j), locals.t1, slots);
      }
      f.addToLocal(locals.cursor, 16 * ROUNDS_PER_PASS);
    });
  } else {
    for (let t = 0; t < 16; t++) {
      const word = inputs.words[t]!;
      // K[t] + W[t] folds to a constant where W[t] is one.
      emitRound(f, add(constant(SHA256_K[t]!), word), locals.t1, slots);
      emit(f, word);
      f.opIndex(0x21, ring[t]!);
    }
    f.i32Const(inputs.roundConstants + 16 * 16).opIndex(0x21, locals.cursor);
    f.i32Const(48 / ROUNDS_PER_PASS).opIndex(0x21, locals.counter);
    f.countedLoop(locals.counter, () => {
      for (let j = 0; j < ROUNDS_PER_PASS; j++) {
        const w = (back: number): LaneExpr => local(ring[(j + 16 - back) % 16]!);
        // §6.2.2 step 1: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], in place of W[t-16].
        const next = assign(
          f,
          ring[j]!,
          add(add(smallSigma1(w(2)), w(7)), add(smallSigma0(w(15)), w(16))),
        );
        emitRound(f, add(load(locals.cursor, 16 * j), next), locals.t1, slots);
      }
      f.addToLocal(locals.cursor, 16 * ROUNDS_PER_PASS);
    });
  }
  return slots.map((slot, i) => add(local(chain[i]!), local(slot)));
}

/** FIPS 180-4 §6.2.2 step 3 for one round; `slots` holds the locals of a..h, renamed in place. */
function emitRound(f: FunctionBuilder, input: LaneExpr, t1Local: number, slots: number[]): void {
  const [a, b, c, d, e, f_, g, h] = slots.map(local) as [
    LaneExpr,
    LaneExpr,
    LaneExpr,
    LaneExpr,
    LaneExpr,
    LaneExpr,
    LaneExpr,
    LaneExpr,
  ];
  const t1 = assign(f, t1Local, add(add(add(h, bigSigma1(e)), choose(e, f_, g)), input));
  const t2 = add(bigSigma0(a), majority(a, b, c));
  // d's local becomes the new e, h's local the new a; the other six only rename.
  assign(f, slots[3]!, add(d, t1));
  assign(f, slots[7]!, add(t1, t2));
  slots.unshift(slots.pop()!);
}
