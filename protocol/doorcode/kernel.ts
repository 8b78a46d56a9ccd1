/**
 * The fast doorcode kernel (ARCHITECTURE.md §5): HMAC-SHA256 with the key's inner and outer
 * states precomputed once per key, and the per-slot HMACs computed four at a time by a
 * WebAssembly SIMD SHA-256 specialised to the doorcode message. It must equal `reference.ts`
 * bit for bit. The same machinery computes RFC 4226 HOTP (and so RFC 6238 TOTP) with
 * HMAC-SHA256 over an 8-byte counter.
 */
import {
  MAX_DIGITS,
  MIN_DIGITS,
  assertDayCodesRequest,
  type DayCodesDeriver,
  type DayCodesRequest,
} from './deriver.js';
import { sha1HmacStates } from './sha1-words.js';
import { HmacSha256Words } from './sha256-words.js';
import { add, constant, emit, local, v128Locals, type LaneExpr } from './wasm/lane-expr.js';
import {
  LaneSchedule,
  emitSha256Compression,
  sha256LaneLocals,
  type RoundInputs,
  type Sha256LaneLocals,
} from './wasm/sha256-lanes.js';
import { emitSha1Compression, sha1LaneLocals } from './wasm/sha1-lanes.js';
import { SHA256_K } from '../crypto/sha256-constants.js';
import {
  instanceFactory,
  Op,
  type ModuleBuilder,
  SimdOp,
  ValueType,
  type FunctionBuilder,
} from '../wasm/wasm-writer.js';

/** Memory layout of a kernel instance (byte offsets). */
const INNER_STATE = 0;
const OUTER_STATE = 32;
/** The words of the four MACs that truncation reads, one v128 row per word. */
const DIGEST_SCRATCH = 64;
/** `K[t]` of FIPS 180-4 §4.2.2 splat to four lanes, 64 rows. */
const ROUND_CONSTANTS = 256;
const OUTPUT = 2048;
/** Codes per kernel call: the output area is `OUTPUT .. OUTPUT + 4 * OUTPUT_CAPACITY`. */
const OUTPUT_CAPACITY = 4096;
const LANES = 4;
/**
 * The inner HMAC message `"code" ‖ u16be(s)` depends on the slot only, so its whole message
 * schedule, with the round constants added (`K[t] + W[t]`), is computed once per slot and kept in
 * this table for every door and day: a row of 64 v128 per group of four slots.
 */
const SCHEDULE_TABLE = 65536;
const SCHEDULE_ROW_BYTES = 64 * 16;
const SCHEDULE_TABLE_SLOTS = 4096;
/** Slots filled at least per table refill, so small unaligned requests don't refill each time. */
const SCHEDULE_MIN_FILL = 1024;
const MEMORY_PAGES = (SCHEDULE_TABLE + (SCHEDULE_TABLE_SLOTS / LANES) * SCHEDULE_ROW_BYTES) / 65536;

/** ASCII "code" as a big-endian word (§5: `"code" ‖ u16be(s)`). */
const CODE_WORD = 0x636f6465;
/** FIPS 180-4 §5.1.1 padding: the 1 bit after the message. */
const PAD_WORD = 0x80000000;
/** Message lengths in bits, counting the HMAC key block (64 bytes) before the message. */
const DOORCODE_INNER_BITS = (64 + 6) * 8;
const HOTP_INNER_BITS = (64 + 8) * 8;
const OUTER_BITS = (64 + 32) * 8;

const zeros = (count: number): LaneExpr[] => Array.from({ length: count }, () => constant(0));

interface TruncationLocals {
  readonly outAddr: number;
  readonly modulus: number;
  readonly offset: number;
  readonly row: number;
}

interface HmacLocals extends TruncationLocals {
  readonly inner: number[];
  readonly outer: number[];
  /** The inner hash, which is the outer block's message. */
  readonly digest: number[];
  readonly compression: Sha256LaneLocals;
}

/** Loads `words` state words at `offset` into v128 locals, each word splat to all lanes. */
function emitSplatState(f: FunctionBuilder, offset: number, words = 8): number[] {
  return Array.from({ length: words }, (_, i) => {
    const target = f.local(ValueType.v128);
    f.i32Const(0)
      .memory(Op.i32Load, 2, offset + 4 * i)
      .simd(SimdOp.i32x4Splat);
    f.opIndex(Op.localSet, target);
    return target;
  });
}

function hmacLocals(f: FunctionBuilder, outAddr: number, modulus: number): HmacLocals {
  return {
    inner: emitSplatState(f, INNER_STATE),
    outer: emitSplatState(f, OUTER_STATE),
    digest: v128Locals(f, 8),
    compression: sha256LaneLocals(f),
    outAddr,
    modulus,
    offset: f.local(ValueType.i32),
    row: f.local(ValueType.i32),
  };
}

/**
 * One HMAC-SHA256 per lane from the precomputed key states (RFC 2104: inner, then outer
 * compression), then RFC 4226 §5.3 dynamic truncation and `mod modulus`: four codes at `outAddr`.
 */
function emitHmacCodes(f: FunctionBuilder, innerInputs: RoundInputs, l: HmacLocals): void {
  const innerHash = emitSha256Compression(f, l.inner, innerInputs, l.compression);
  innerHash.forEach((word, i) => {
    emit(f, word);
    f.opIndex(Op.localSet, l.digest[i]!);
  });
  const outerWords = [
    ...l.digest.map(local),
    constant(PAD_WORD),
    ...zeros(6),
    constant(OUTER_BITS),
  ];
  const mac = emitSha256Compression(
    f,
    l.outer,
    { words: outerWords, roundConstants: ROUND_CONSTANTS },
    l.compression,
  );
  emitTruncation(f, mac, 7, l);
}

/**
 * RFC 4226 §5.3 dynamic truncation of four MACs (`mac`, one expression per digest word), then
 * `mod modulus`, stored at `outAddr`. The offset is in the low 4 bits of the last byte, the low
 * byte of word `lastWord`; the 31 bits read lie in bytes 0..18, words 0..4.
 */
function emitTruncation(
  f: FunctionBuilder,
  mac: readonly LaneExpr[],
  lastWord: number,
  l: TruncationLocals,
): void {
  for (const i of new Set([0, 1, 2, 3, 4, lastWord])) {
    f.i32Const(0);
    emit(f, mac[i]!);
    f.simdMemory(SimdOp.v128Store, 4, DIGEST_SCRATCH + 16 * i);
  }
  for (let lane = 0; lane < LANES; lane++) {
    const laneBase = DIGEST_SCRATCH + 4 * lane;
    // offset = low 4 bits of the last byte; row = byte offset of the word holding byte `offset`.
    f.i32Const(0)
      .memory(Op.i32Load, 2, laneBase + 16 * lastWord)
      .i32Const(15)
      .op(Op.i32And);
    f.opIndex(Op.localTee, l.offset).i32Const(12).op(Op.i32And).i32Const(2).op(Op.i32Shl);
    f.opIndex(Op.localSet, l.row);
    f.opIndex(Op.localGet, l.outAddr);
    // ((word[row] << 32 | word[row + 1]) >> (32 - 8 * (offset & 3))) & 0x7fffffff
    f.opIndex(Op.localGet, l.row).memory(Op.i32Load, 2, laneBase).op(Op.i64ExtendI32U);
    f.op(Op.i64Const).op(32).op(Op.i64Shl);
    f.opIndex(Op.localGet, l.row)
      .memory(Op.i32Load, 2, laneBase + 16)
      .op(Op.i64ExtendI32U);
    f.op(Op.i64Or);
    f.i32Const(32).opIndex(Op.localGet, l.offset).i32Const(3).op(Op.i32And).i32Const(3);
    f.op(Op.i32Shl).op(Op.i32Sub).op(Op.i64ExtendI32U).op(Op.i64ShrU).op(Op.i32WrapI64);
    f.i32Const(0x7fffffff).op(Op.i32And);
    f.opIndex(Op.localGet, l.modulus).op(Op.i32RemU);
    f.memory(Op.i32Store, 2, 4 * lane);
  }
}

/** Word 1 of the doorcode message: u16be(slot), then the 0x80 padding byte and a zero byte. */
function emitSlotWord(f: FunctionBuilder, firstSlot: number, slotWord: number): void {
  f.opIndex(Op.localGet, firstSlot).i32Const(16).op(Op.i32Shl).simd(SimdOp.i32x4Splat);
  f.v128ConstLanes([0x8000, 0x18000, 0x28000, 0x38000]).simd(SimdOp.i32x4Add);
  f.opIndex(Op.localSet, slotWord);
}

/** The 16 words of the doorcode inner message block (§5 `"code" ‖ u16be(s)`, FIPS 180-4 padding). */
const doorcodeWords = (slotWord: LaneExpr): LaneExpr[] => [
  constant(CODE_WORD),
  slotWord,
  ...zeros(13),
  constant(DOORCODE_INNER_BITS),
];

/**
 * `doorSchedule(firstSlot, rows)`: fills `rows` rows of the schedule table with `K[t] + W[t]` of
 * the inner messages of slots `firstSlot + 4 * row ..`.
 */
function buildDoorScheduleFunction(m: ModuleBuilder): void {
  const f = m.func('doorSchedule', [ValueType.i32, ValueType.i32]);
  const [firstSlot, rows] = [0, 1];
  const slotWord = f.local(ValueType.v128);
  const rowAddr = f.local(ValueType.i32);
  const ring = v128Locals(f, 16);
  emitSlotWord(f, firstSlot, slotWord);
  f.i32Const(SCHEDULE_TABLE).opIndex(Op.localSet, rowAddr);
  f.countedLoop(rows, () => {
    const schedule = new LaneSchedule(f, doorcodeWords(local(slotWord)), ring);
    for (let t = 0; t < 64; t++) {
      f.opIndex(Op.localGet, rowAddr);
      emit(f, add(constant(SHA256_K[t]!), schedule.word(t)));
      f.simdMemory(SimdOp.v128Store, 4, 16 * t);
    }
    emit(f, add(local(slotWord), constant(LANES << 16)));
    f.opIndex(Op.localSet, slotWord);
    f.addToLocal(rowAddr, SCHEDULE_ROW_BYTES);
  });
}

/** Emits `outAddr = OUTPUT; while (steps != 0) { body; outAddr += 16; steps-- }`. */
function emitStepLoop(f: FunctionBuilder, steps: number, outAddr: number, body: () => void): void {
  f.i32Const(OUTPUT).opIndex(Op.localSet, outAddr);
  f.countedLoop(steps, () => {
    body();
    f.addToLocal(outAddr, 4 * LANES);
  });
}

/** `doorcodes(rowAddr, steps, modulus)`: four codes per step, from schedule rows at `rowAddr ..`. */
function buildDoorcodeFunction(m: ModuleBuilder): void {
  const f = m.func('doorcodes', [ValueType.i32, ValueType.i32, ValueType.i32]);
  const [rowAddr, steps, modulus] = [0, 1, 2];
  const outAddr = f.local(ValueType.i32);
  const l = hmacLocals(f, outAddr, modulus);
  emitStepLoop(f, steps, outAddr, () => {
    emitHmacCodes(f, { rows: rowAddr }, l);
    f.addToLocal(rowAddr, SCHEDULE_ROW_BYTES);
  });
}

/**
 * The counter words of an HOTP step: `u64be(counter)` with lanes `low + 0..3`, from the
 * parameters `counterHigh` (0) and `counterLow` (1). The caller keeps `low + 4 * steps` below 2^32.
 */
function emitCounterWords(f: FunctionBuilder): { high: number; low: number } {
  const high = f.local(ValueType.v128);
  const low = f.local(ValueType.v128);
  f.opIndex(Op.localGet, 0).simd(SimdOp.i32x4Splat).opIndex(Op.localSet, high);
  f.opIndex(Op.localGet, 1).simd(SimdOp.i32x4Splat);
  f.v128ConstLanes([0, 1, 2, 3]).simd(SimdOp.i32x4Add).opIndex(Op.localSet, low);
  return { high, low };
}

/** The inner message block of HOTP: the 8-byte counter and FIPS 180-4 padding. */
const hotpWords = (counter: { high: number; low: number }): LaneExpr[] => [
  local(counter.high),
  local(counter.low),
  constant(PAD_WORD),
  ...zeros(12),
  constant(HOTP_INNER_BITS),
];

const HOTP_PARAMS = [ValueType.i32, ValueType.i32, ValueType.i32, ValueType.i32];

/** `hotpSha256(counterHigh, counterLow, steps, modulus)`: four HMAC-SHA256 HOTP codes per step. */
function buildHotpSha256Function(m: ModuleBuilder): void {
  const f = m.func('hotpSha256', HOTP_PARAMS);
  const [steps, modulus] = [2, 3];
  const counter = emitCounterWords(f);
  const outAddr = f.local(ValueType.i32);
  const l = hmacLocals(f, outAddr, modulus);
  emitStepLoop(f, steps, outAddr, () => {
    emitHmacCodes(f, { words: hotpWords(counter), roundConstants: ROUND_CONSTANTS }, l);
    emit(f, add(local(counter.low), constant(LANES)));
    f.opIndex(Op.localSet, counter.low);
  });
}

/** `hotpSha1(counterHigh, counterLow, steps, modulus)`: four HMAC-SHA1 HOTP codes per step (RFC 4226). */
function buildHotpSha1Function(m: ModuleBuilder): void {
  const f = m.func('hotpSha1', HOTP_PARAMS);
  const [steps, modulus] = [2, 3];
  const counter = emitCounterWords(f);
  const outAddr = f.local(ValueType.i32);
  const inner = emitSplatState(f, INNER_STATE, 5);
  const outer = emitSplatState(f, OUTER_STATE, 5);
  const digest = v128Locals(f, 5);
  const compression = sha1LaneLocals(f);
  const truncation = {
    outAddr,
    modulus,
    offset: f.local(ValueType.i32),
    row: f.local(ValueType.i32),
  };
  emitStepLoop(f, steps, outAddr, () => {
    emitSha1Compression(f, inner, hotpWords(counter), compression).forEach((word, i) => {
      emit(f, word);
      f.opIndex(Op.localSet, digest[i]!);
    });
    const outerWords = [
      ...digest.map(local),
      constant(PAD_WORD),
      ...zeros(9),
      constant((64 + 20) * 8),
    ];
    emitTruncation(f, emitSha1Compression(f, outer, outerWords, compression), 4, truncation);
    emit(f, add(local(counter.low), constant(LANES)));
    f.opIndex(Op.localSet, counter.low);
  });
}

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly doorSchedule: (firstSlot: number, rows: number) => void;
  readonly doorcodes: (rowAddr: number, steps: number, modulus: number) => void;
  readonly hotpSha256: (
    counterHigh: number,
    counterLow: number,
    steps: number,
    modulus: number,
  ) => void;
  readonly hotpSha1: (
    counterHigh: number,
    counterLow: number,
    steps: number,
    modulus: number,
  ) => void;
}

/** A new instance of the kernel's module, compiled once per thread. */
const newKernelInstance = instanceFactory<KernelExports>(MEMORY_PAGES, (m) => {
  buildDoorScheduleFunction(m);
  buildDoorcodeFunction(m);
  buildHotpSha256Function(m);
  buildHotpSha1Function(m);
});

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

function checkDigits(digits: number): number {
  if (!Number.isInteger(digits) || digits < MIN_DIGITS || digits > MAX_DIGITS) {
    throw new RangeError(
      `digits must be an integer in ${MIN_DIGITS}..${MAX_DIGITS}, got ${digits}`,
    );
  }
  return POWERS_OF_TEN[digits]!;
}

/** A run of HOTP codes: `count` counters from `counter`, `digits` long, over `hash` (default SHA-256). */
export interface HotpRequest {
  readonly counter: number;
  readonly count: number;
  readonly digits: number;
  readonly hash?: 'sha1' | 'sha256';
}

/**
 * One kernel instance: its own WebAssembly memory and key states, so use one per thread. Methods
 * allocate nothing per code; codes are written as integers (`formatCode` renders them).
 */
export class DoorcodeKernel {
  private readonly wasm: KernelExports;
  private readonly words: Uint32Array;
  private readonly hmac = new HmacSha256Words();
  private readonly dayKey = new Uint32Array(8);
  private readonly dayMessage = new Uint8Array(13);
  private readonly cachedDoorKey = new Uint8Array(64);
  private cachedDoorKeyLength = -1;
  private readonly doorInner = new Uint32Array(8);
  private readonly doorOuter = new Uint32Array(8);
  /** The slots whose schedule rows the table holds: `tableBase .. tableBase + tableSlots - 1`. */
  private tableBase = 0;
  private tableSlots = 0;

  constructor() {
    this.wasm = newKernelInstance();
    this.words = new Uint32Array(this.wasm.memory.buffer);
    SHA256_K.forEach((k, t) =>
      this.words.fill(k, ROUND_CONSTANTS / 4 + 4 * t, ROUND_CONSTANTS / 4 + 4 * t + 4),
    );
    // "day" is fixed in the K_day message (§5: "day" ‖ D ‖ u16be(keyVersion)).
    this.dayMessage.set([0x64, 0x61, 0x79]);
  }

  /** The `DayCodesDeriver` of this instance. */
  readonly dayCodes: DayCodesDeriver = (request, out, outOffset = 0) => {
    this.deriveDayCodes(request, out, outOffset);
  };

  /** §5: codes of slots `firstSlot .. firstSlot + count - 1` of one door and day. */
  deriveDayCodes(request: DayCodesRequest, out: Uint32Array, outOffset = 0): void {
    assertDayCodesRequest(request, out, outOffset);
    const { doorKey, day, keyVersion, firstSlot, count, digits } = request;
    const modulus = POWERS_OF_TEN[digits]!;
    this.loadDayKey(doorKey, day, keyVersion);
    this.run(out, outOffset, count, (done, n) => {
      const rowAddr = this.scheduleRows(firstSlot + done, n);
      this.wasm.doorcodes(rowAddr, Math.ceil(n / LANES), modulus);
    });
  }

  /**
   * RFC 4226 §5.3 HOTP: codes of counters `counter .. counter + count - 1` (`counter` a
   * non-negative safe integer) into `out`, with HMAC-SHA1 (RFC 4226) or HMAC-SHA256 (RFC 6238
   * §1.2). RFC 6238 TOTP is HOTP at `floor((t - T0) / step)`.
   */
  hotp(key: Uint8Array, request: HotpRequest, out: Uint32Array, outOffset = 0): void {
    const { counter, count, digits, hash = 'sha256' } = request;
    const modulus = checkDigits(digits);
    if (!(key instanceof Uint8Array)) throw new TypeError('key: expected a Uint8Array');
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError('count: expected an integer >= 0');
    if (!Number.isSafeInteger(counter) || counter < 0 || !Number.isSafeInteger(counter + count)) {
      throw new RangeError('counter: expected a non-negative safe integer');
    }
    if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + count > out.length) {
      throw new RangeError('out: too short for count codes at outOffset');
    }
    if (hash === 'sha1') {
      const inner = this.words.subarray(INNER_STATE / 4, INNER_STATE / 4 + 5);
      const outer = this.words.subarray(OUTER_STATE / 4, OUTER_STATE / 4 + 5);
      sha1HmacStates(key, inner, outer);
    } else {
      this.hmac.setKey(key);
      this.words.set(this.hmac.inner, INNER_STATE / 4);
      this.words.set(this.hmac.outer, OUTER_STATE / 4);
    }
    const lanes = hash === 'sha1' ? this.wasm.hotpSha1 : this.wasm.hotpSha256;
    for (let done = 0; done < count;) {
      const first = counter + done;
      const low = first % 0x100000000;
      // The lanes step only the low word: a chunk ends where it would carry into the high word.
      const n = Math.min(OUTPUT_CAPACITY, count - done, 0x100000000 - low);
      lanes(Math.floor(first / 0x100000000), low, Math.ceil(n / LANES), modulus);
      out.set(this.words.subarray(OUTPUT / 4, OUTPUT / 4 + n), outOffset + done);
      done += n;
    }
  }

  /**
   * The table address of the schedule rows for slots `firstSlot .. firstSlot + count - 1`,
   * refilling the table when it doesn't hold them aligned to its four-slot rows.
   */
  private scheduleRows(firstSlot: number, count: number): number {
    const fromBase = firstSlot - this.tableBase;
    if (fromBase < 0 || fromBase % LANES !== 0 || fromBase + count > this.tableSlots) {
      const fill = Math.min(SCHEDULE_TABLE_SLOTS, Math.max(SCHEDULE_MIN_FILL, count + LANES));
      const rows = Math.ceil(fill / LANES);
      this.wasm.doorSchedule(firstSlot, rows);
      this.tableBase = firstSlot;
      this.tableSlots = rows * LANES;
      return SCHEDULE_TABLE;
    }
    return SCHEDULE_TABLE + (fromBase / LANES) * SCHEDULE_ROW_BYTES;
  }

  /** Runs `call` over chunks of at most OUTPUT_CAPACITY codes and copies each chunk out. */
  private run(
    out: Uint32Array,
    outOffset: number,
    count: number,
    call: (done: number, n: number) => void,
  ): void {
    for (let done = 0; done < count; done += OUTPUT_CAPACITY) {
      const n = Math.min(OUTPUT_CAPACITY, count - done);
      call(done, n);
      out.set(this.words.subarray(OUTPUT / 4, OUTPUT / 4 + n), outOffset + done);
    }
  }

  /** Puts the inner/outer states of `K_day = HMAC(K_door, "day" ‖ D ‖ u16be(v))` in memory. */
  private loadDayKey(doorKey: Uint8Array, day: string, keyVersion: number): void {
    if (!this.isCachedDoorKey(doorKey)) {
      this.hmac.setKey(doorKey);
      this.doorInner.set(this.hmac.inner);
      this.doorOuter.set(this.hmac.outer);
      this.cacheDoorKey(doorKey);
    } else {
      this.hmac.inner.set(this.doorInner);
      this.hmac.outer.set(this.doorOuter);
    }
    for (let i = 0; i < 8; i++) this.dayMessage[3 + i] = day.charCodeAt(i);
    this.dayMessage[11] = keyVersion >>> 8;
    this.dayMessage[12] = keyVersion & 0xff;
    this.hmac.macWords(this.dayMessage, this.dayKey);
    this.hmac.setKeyWords(this.dayKey);
    this.words.set(this.hmac.inner, INNER_STATE / 4);
    this.words.set(this.hmac.outer, OUTER_STATE / 4);
  }

  private isCachedDoorKey(doorKey: Uint8Array): boolean {
    if (doorKey.length !== this.cachedDoorKeyLength) return false;
    let difference = 0;
    for (let i = 0; i < doorKey.length; i++) difference |= doorKey[i]! ^ this.cachedDoorKey[i]!;
    return difference === 0;
  }

  private cacheDoorKey(doorKey: Uint8Array): void {
    // Keys longer than the cache are simply not cached; §5 door keys are 32 bytes.
    if (doorKey.length > this.cachedDoorKey.length) {
      this.cachedDoorKeyLength = -1;
      return;
    }
    this.cachedDoorKey.set(doorKey);
    this.cachedDoorKeyLength = doorKey.length;
  }
}

/** A fresh kernel's `DayCodesDeriver` (one per thread: each owns its WebAssembly memory). */
export function createDoorcodeKernel(): DayCodesDeriver {
  return new DoorcodeKernel().dayCodes;
}
