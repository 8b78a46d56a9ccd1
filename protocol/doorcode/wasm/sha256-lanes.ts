/**
 * SHA-256 compression over four lanes, generated as WebAssembly SIMD (FIPS 180-4 §6.2.2), fully
 * unrolled and specialised to message words known at generation time.
 */
import { SHA256_K } from '../sha256-words.js';
import {
  add,
  assign,
  constant,
  local,
  rotr,
  select,
  shr,
  v128Locals,
  xor,
  type LaneExpr,
} from './lane-expr.js';
import type { FunctionBuilder } from './wasm-writer.js';

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

/** The scratch locals of one compression: working variables, T1 and the schedule ring. */
export interface Sha256LaneLocals {
  readonly work: readonly number[];
  readonly t1: number;
  readonly schedule: readonly number[];
}

export function sha256LaneLocals(f: FunctionBuilder): Sha256LaneLocals {
  return { work: v128Locals(f, 8), t1: v128Locals(f, 1)[0]!, schedule: v128Locals(f, 16) };
}

/** Where a compression's round inputs come from. */
export type RoundInputs =
  /** The 16 message words; the schedule is computed here, constants folded. */
  | { readonly words: readonly LaneExpr[] }
  /** `K[t] + W[t]` for each round, e.g. loaded from a precomputed table. */
  | { readonly roundInput: (t: number) => LaneExpr };

/** One compression to emit: its chaining value, its inputs and its scratch locals. */
export type Sha256LaneJob = RoundInputs & {
  /** Eight v128 locals holding the chaining value; left unchanged. */
  readonly chain: readonly number[];
  readonly locals: Sha256LaneLocals;
};

/**
 * Emits independent compressions round by round (interleaved when there are several). Returns,
 * per job, the eight new chaining words as expressions `chain[i] + work[i]`, which the caller
 * evaluates where it needs them.
 */
export function emitSha256Compressions(
  f: FunctionBuilder,
  jobs: readonly Sha256LaneJob[],
): LaneExpr[][] {
  const slots = jobs.map((job) => [...job.locals.work]);
  const inputs = jobs.map((job): ((t: number) => LaneExpr) => {
    if ('roundInput' in job) return job.roundInput;
    const schedule = new LaneSchedule(f, job.words, job.locals.schedule);
    // K[t] + W[t] folds to a constant where W[t] is one.
    return (t) => add(constant(SHA256_K[t]!), schedule.word(t));
  });
  jobs.forEach((job, j) => {
    for (let i = 0; i < 8; i++) f.opIndex(0x20, job.chain[i]!).opIndex(0x21, slots[j]![i]!);
  });
  for (let t = 0; t < 64; t++) {
    jobs.forEach((job, j) => emitRound(f, inputs[j]!(t), job.locals.t1, slots[j]!));
  }
  return jobs.map((job, j) => slots[j]!.map((slot, i) => add(local(job.chain[i]!), local(slot))));
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
