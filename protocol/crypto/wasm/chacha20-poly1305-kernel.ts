/**
 * A scalar WebAssembly ChaCha20-Poly1305 (RFC 8439 §2.8) for small inputs. The Noise handshake
 * seals and opens a few tiny boxes, and on Node each `createCipheriv` costs microseconds of
 * bridging for well under a microsecond of work; this kernel does the whole AEAD in one
 * WebAssembly call (ARCHITECTURE.md §8 performance budget; SECURITY.md, Crypto). Larger inputs
 * stay with OpenSSL: the caller routes anything above `CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES`.
 *
 * One call of `seal(aadLength, length)` / `open(aadLength, length)` over the layout
 * `aad ‖ pad16 ‖ text ‖ pad16 ‖ le64(aadLength) ‖ le64(length)`, which is exactly the Poly1305
 * input of §2.8.1, so the MAC runs over whole 16-byte blocks:
 * - the ChaCha20 block (§2.3) is fully unrolled with the 16 state words in locals;
 * - block 0 gives the one-time Poly1305 key (§2.6), kept in locals, never in memory;
 * - the payload is XORed in place with the keystream from counter 1 (§2.4);
 * - Poly1305 (§2.5) uses five 26-bit limbs with i64 products.
 * `open` checks the tag first (a constant-time comparison) and decrypts only when it matches, so
 * no unauthenticated plaintext is ever produced. The key is wiped from memory at the end of each
 * call; the plaintext `open` returned is wiped after it has been copied out.
 */
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from '../provider.js';
import { assertBytes, assertLength, assertSize } from '../input-checks.js';
import {
  instanceFactory,
  Op,
  type ModuleBuilder,
  ValueType,
  type FunctionBuilder,
} from '../../wasm/wasm-writer.js';

/** The largest plaintext (or ciphertext without its tag) and the largest aad accepted. */
export const CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES = 16384;

/** Memory layout of a kernel instance (byte offsets). */
const KEY = 0;
const NONCE = 32;
/** `open` writes 1 here when the tag verified, 0 otherwise. */
const VERDICT = 44;
/** One keystream block for a payload's last partial block; wiped after use. */
const KEYSTREAM_TAIL = 64;
/** The MAC input of §2.8.1 starts here, with the aad; the tag goes right after the text. */
const DATA = 128;
const BLOCK_BYTES = 64;
const POLY1305_KEY_BYTES = 32;
const POLY1305_TAG_BYTES = 16;
/** Room for aad and text of the maximum size, each padded to 16 bytes, then the length block. */
const MEMORY_PAGES = Math.ceil((DATA + 2 * CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES + 16) / 65536);

/** "expand 32-byte k" as four little-endian words (§2.3). */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;
const LIMB_MASK = 0x3ffffff;

/** Rounds are over `x` (the working state) from key, counter and nonce locals. */
interface ChachaLocals {
  readonly key: readonly number[];
  readonly nonce: readonly number[];
  readonly counter: number;
  readonly x: readonly number[];
}

/** Poly1305 state (i64): accumulator `h`, clamped `r`, `5 r` for the wrapped products, `s`. */
interface PolyLocals {
  readonly h: readonly number[];
  readonly r: readonly number[];
  readonly r5: readonly number[];
  readonly d: readonly number[];
  readonly s: readonly number[];
  readonly carry: number;
  readonly tagLow: number;
  readonly tagHigh: number;
}

const locals = (f: FunctionBuilder, type: ValueType, count: number): number[] =>
  Array.from({ length: count }, () => f.local(type));

function chachaLocals(f: FunctionBuilder): ChachaLocals {
  return {
    key: locals(f, ValueType.i32, 8),
    nonce: locals(f, ValueType.i32, 3),
    counter: f.local(ValueType.i32),
    x: locals(f, ValueType.i32, 16),
  };
}

function polyLocals(f: FunctionBuilder): PolyLocals {
  return {
    h: locals(f, ValueType.i64, 5),
    r: locals(f, ValueType.i64, 5),
    r5: locals(f, ValueType.i64, 5),
    d: locals(f, ValueType.i64, 5),
    s: locals(f, ValueType.i64, 2),
    carry: f.local(ValueType.i64),
    tagLow: f.local(ValueType.i64),
    tagHigh: f.local(ValueType.i64),
  };
}

function emitLoadKeyAndNonce(f: FunctionBuilder, c: ChachaLocals): void {
  c.key.forEach((word, i) => {
    f.i32Const(0)
      .memory(Op.i32Load, 2, KEY + 4 * i)
      .opIndex(Op.localSet, word);
  });
  c.nonce.forEach((word, i) => {
    f.i32Const(0)
      .memory(Op.i32Load, 2, NONCE + 4 * i)
      .opIndex(Op.localSet, word);
  });
}

/** Pushes word `i` of the §2.3 input state: constants, key, block counter, nonce. */
function emitInputWord(f: FunctionBuilder, c: ChachaLocals, i: number): void {
  if (i < 4) f.i32Const(SIGMA[i]!);
  else if (i < 12) f.opIndex(Op.localGet, c.key[i - 4]!);
  else if (i === 12) f.opIndex(Op.localGet, c.counter);
  else f.opIndex(Op.localGet, c.nonce[i - 13]!);
}

/** One `a += b; d ^= a; d <<<= bits` step of the quarter round (§2.1). */
function emitStep(f: FunctionBuilder, a: number, b: number, d: number, bits: number): void {
  f.opIndex(Op.localGet, a).opIndex(Op.localGet, b).op(Op.i32Add).opIndex(Op.localTee, a);
  f.opIndex(Op.localGet, d).op(Op.i32Xor).i32Const(bits).op(Op.i32Rotl).opIndex(Op.localSet, d);
}

/** RFC 8439 §2.1 quarter round on state words `a, b, c, d`. */
function emitQuarterRound(f: FunctionBuilder, x: readonly number[], q: readonly number[]): void {
  const [a, b, c, d] = q.map((i) => x[i]!) as [number, number, number, number];
  emitStep(f, a, b, d, 16);
  emitStep(f, c, d, b, 12);
  emitStep(f, a, b, d, 8);
  emitStep(f, c, d, b, 7);
}

const COLUMNS = [
  [0, 4, 8, 12],
  [1, 5, 9, 13],
  [2, 6, 10, 14],
  [3, 7, 11, 15],
] as const;
const DIAGONALS = [
  [0, 5, 10, 15],
  [1, 6, 11, 12],
  [2, 7, 8, 13],
  [3, 4, 9, 14],
] as const;

/** RFC 8439 §2.3 block function: the keystream block of `c.counter`, left in `c.x`. */
function emitChachaBlock(f: FunctionBuilder, c: ChachaLocals): void {
  c.x.forEach((word, i) => {
    emitInputWord(f, c, i);
    f.opIndex(Op.localSet, word);
  });
  for (let doubleRound = 0; doubleRound < 10; doubleRound++) {
    for (const q of COLUMNS) emitQuarterRound(f, c.x, q);
    for (const q of DIAGONALS) emitQuarterRound(f, c.x, q);
  }
  c.x.forEach((word, i) => {
    f.opIndex(Op.localGet, word);
    emitInputWord(f, c, i);
    f.op(Op.i32Add).opIndex(Op.localSet, word);
  });
}

/**
 * §2.5: `r` (clamped, split into 26-bit limbs) and `s` from the eight little-endian words of a
 * one-time key; the accumulator starts at zero.
 */
function emitPolyKey(f: FunctionBuilder, w: readonly number[], p: PolyLocals): void {
  // Limb i holds bits 26 i .. 26 i + 25 of r; the masks also apply the §2.5 clamp.
  const limbs: [number, number | undefined, number, number][] = [
    [w[0]!, undefined, 0, 0x3ffffff],
    [w[0]!, w[1]!, 26, 0x3ffff03],
    [w[1]!, w[2]!, 20, 0x3ffc0ff],
    [w[2]!, w[3]!, 14, 0x3f03fff],
    [w[3]!, undefined, 8, 0x00fffff],
  ];
  limbs.forEach(([low, high, shift, mask], i) => {
    f.opIndex(Op.localGet, low);
    if (shift !== 0) f.i32Const(shift).op(Op.i32ShrU);
    if (high !== undefined) {
      f.opIndex(Op.localGet, high)
        .i32Const(32 - shift)
        .op(Op.i32Shl)
        .op(Op.i32Or);
    }
    f.i32Const(mask).op(Op.i32And).op(Op.i64ExtendI32U).opIndex(Op.localTee, p.r[i]!);
    f.i64Const(5n).op(Op.i64Mul).opIndex(Op.localSet, p.r5[i]!);
  });
  p.s.forEach((half, i) => {
    f.opIndex(Op.localGet, w[4 + 2 * i]!).op(Op.i64ExtendI32U);
    f.opIndex(Op.localGet, w[5 + 2 * i]!)
      .op(Op.i64ExtendI32U)
      .i64Const(32n)
      .op(Op.i64Shl);
    f.op(Op.i64Or).opIndex(Op.localSet, half);
  });
  for (const limb of p.h) f.i64Const(0n).opIndex(Op.localSet, limb);
}

/** §2.6: the one-time Poly1305 key is the first half of the keystream block of counter 0. */
function emitPolyKeyGeneration(f: FunctionBuilder, c: ChachaLocals, p: PolyLocals): void {
  f.i32Const(0).opIndex(Op.localSet, c.counter);
  emitChachaBlock(f, c);
  emitPolyKey(f, c.x, p);
}

/** `limb = limb & mask; carry = limb >> 26` on i64 locals, carrying into `next` when given. */
function emitCarry(f: FunctionBuilder, p: PolyLocals, from: number, to: number): void {
  f.opIndex(Op.localGet, from).i64Const(26n).op(Op.i64ShrU).opIndex(Op.localSet, p.carry);
  f.opIndex(Op.localGet, from).i64Const(BigInt(LIMB_MASK)).op(Op.i64And);
  f.opIndex(Op.localSet, to);
}

/** Bit 128 of a full 16-byte block, as set in limb 4 (§2.5). */
const FULL_BLOCK_BIT = 1 << 24;

/**
 * §2.5: for each of `blocks` 16-byte blocks at `addr`, `h = (h + block + topBit) * r mod 2^130 - 5`,
 * with partial reduction (limbs stay just above 26 bits between blocks). `topBit` is
 * FULL_BLOCK_BIT, or 0 for a last partial block that already carries its 0x01 byte.
 */
function emitPolyBlocks(
  f: FunctionBuilder,
  p: PolyLocals,
  addr: number,
  blocks: number,
  topBit: number,
): void {
  f.countedLoop(blocks, () => {
    // Limb i of the block is bits 26 i .. 26 i + 25, read from the word at byte 3.25 i.
    for (let i = 0; i < 5; i++) {
      f.opIndex(Op.localGet, p.h[i]!);
      f.opIndex(Op.localGet, addr).memory(Op.i32Load, 0, [0, 3, 6, 9, 12][i]!);
      if (i > 0) f.i32Const(2 * i).op(Op.i32ShrU);
      if (i < 4) f.i32Const(LIMB_MASK).op(Op.i32And);
      else if (topBit !== 0) f.i32Const(topBit).op(Op.i32Or);
      f.op(Op.i64ExtendI32U).op(Op.i64Add).opIndex(Op.localSet, p.h[i]!);
    }
    // d_k = sum h_i r_{k-i}, where r_{k-i} for i > k wraps around as 5 r_{k-i+5} (2^130 = 5).
    for (let k = 0; k < 5; k++) {
      for (let i = 0; i < 5; i++) {
        f.opIndex(Op.localGet, p.h[i]!);
        f.opIndex(Op.localGet, i <= k ? p.r[k - i]! : p.r5[k - i + 5]!);
        f.op(Op.i64Mul);
        if (i > 0) f.op(Op.i64Add);
      }
      f.opIndex(Op.localSet, p.d[k]!);
    }
    for (let k = 0; k < 5; k++) {
      if (k > 0) {
        f.opIndex(Op.localGet, p.d[k]!).opIndex(Op.localGet, p.carry).op(Op.i64Add);
        f.opIndex(Op.localSet, p.d[k]!);
      }
      emitCarry(f, p, p.d[k]!, p.h[k]!);
    }
    f.opIndex(Op.localGet, p.h[0]!).opIndex(Op.localGet, p.carry).i64Const(5n).op(Op.i64Mul);
    f.op(Op.i64Add).opIndex(Op.localSet, p.h[0]!);
    emitCarry(f, p, p.h[0]!, p.h[0]!);
    f.opIndex(Op.localGet, p.h[1]!).opIndex(Op.localGet, p.carry).op(Op.i64Add);
    f.opIndex(Op.localSet, p.h[1]!);
    f.addToLocal(addr, 16);
  });
}

/**
 * §2.5 finish: fully reduce `h` modulo 2^130 - 5 (choosing `h` or `h - p` without branching),
 * then `tag = (h + s) mod 2^128`, left in `tagLow`, `tagHigh`. Clobbers `d` for `h - p`.
 */
function emitPolyFinish(f: FunctionBuilder, p: PolyLocals): void {
  const { h, d: g, carry } = p;
  const addCarry = (limb: number): void => {
    f.opIndex(Op.localGet, limb).opIndex(Op.localGet, carry).op(Op.i64Add);
    f.opIndex(Op.localSet, limb);
  };
  for (let i = 1; i < 5; i++) {
    emitCarry(f, p, h[i]!, h[i]!);
    if (i < 4) addCarry(h[i + 1]!);
  }
  f.opIndex(Op.localGet, h[0]!).opIndex(Op.localGet, carry).i64Const(5n).op(Op.i64Mul);
  f.op(Op.i64Add).opIndex(Op.localSet, h[0]!);
  emitCarry(f, p, h[0]!, h[0]!);
  addCarry(h[1]!);
  // g = h + 5 - 2^130; it is negative (top bit set) exactly when h < p.
  f.opIndex(Op.localGet, h[0]!).i64Const(5n).op(Op.i64Add).opIndex(Op.localSet, g[0]!);
  for (let i = 0; i < 4; i++) {
    emitCarry(f, p, g[i]!, g[i]!);
    f.opIndex(Op.localGet, h[i + 1]!)
      .opIndex(Op.localGet, carry)
      .op(Op.i64Add);
    f.opIndex(Op.localSet, g[i + 1]!);
  }
  f.opIndex(Op.localGet, g[4]!)
    .i64Const(1n << 26n)
    .op(Op.i64Sub)
    .opIndex(Op.localSet, g[4]!);
  // carry = all ones when h >= p (take g), zero otherwise (keep h).
  f.opIndex(Op.localGet, g[4]!).i64Const(63n).op(Op.i64ShrU).i64Const(1n).op(Op.i64Sub);
  f.opIndex(Op.localSet, carry);
  for (let i = 0; i < 5; i++) {
    f.opIndex(Op.localGet, h[i]!).opIndex(Op.localGet, carry).i64Const(-1n).op(Op.i64Xor);
    f.op(Op.i64And);
    f.opIndex(Op.localGet, g[i]!).opIndex(Op.localGet, carry).op(Op.i64And);
    f.op(Op.i64Or).opIndex(Op.localSet, h[i]!);
  }
  // The low 128 bits as two 64-bit halves: bits 0..63 are limbs 0, 1, 2 (up to bit 77), and so on.
  f.opIndex(Op.localGet, h[0]!);
  f.opIndex(Op.localGet, h[1]!).i64Const(26n).op(Op.i64Shl).op(Op.i64Or);
  f.opIndex(Op.localGet, h[2]!).i64Const(52n).op(Op.i64Shl).op(Op.i64Or);
  f.opIndex(Op.localSet, g[0]!);
  f.opIndex(Op.localGet, h[2]!).i64Const(12n).op(Op.i64ShrU);
  f.opIndex(Op.localGet, h[3]!).i64Const(14n).op(Op.i64Shl).op(Op.i64Or);
  f.opIndex(Op.localGet, h[4]!).i64Const(40n).op(Op.i64Shl).op(Op.i64Or);
  f.opIndex(Op.localSet, g[1]!);
  // tag = h + s mod 2^128, the carry out of the low half from an unsigned comparison.
  f.opIndex(Op.localGet, g[0]!).opIndex(Op.localGet, p.s[0]!).op(Op.i64Add);
  f.opIndex(Op.localTee, p.tagLow).opIndex(Op.localGet, g[0]!).op(Op.i64LtU).op(Op.i64ExtendI32U);
  f.opIndex(Op.localGet, g[1]!).op(Op.i64Add).opIndex(Op.localGet, p.s[1]!).op(Op.i64Add);
  f.opIndex(Op.localSet, p.tagHigh);
}

interface PayloadLocals {
  readonly addr: number;
  readonly remaining: number;
  readonly tail: number;
}

function payloadLocals(f: FunctionBuilder): PayloadLocals {
  const [addr, remaining, tail] = locals(f, ValueType.i32, 3) as [number, number, number];
  return { addr, remaining, tail };
}

/** §2.4: XORs `length` bytes at `start` in place with the keystream from block counter 1. */
function emitKeystreamXor(
  f: FunctionBuilder,
  c: ChachaLocals,
  l: PayloadLocals,
  start: number,
  length: number,
): void {
  f.opIndex(Op.localGet, start).opIndex(Op.localSet, l.addr);
  f.opIndex(Op.localGet, length).opIndex(Op.localSet, l.remaining);
  f.i32Const(1).opIndex(Op.localSet, c.counter);
  f.blockVoid(Op.block).blockVoid(Op.loop);
  f.opIndex(Op.localGet, l.remaining).op(Op.i32Eqz).opIndex(Op.brIf, 1);
  emitChachaBlock(f, c);
  f.opIndex(Op.localGet, l.remaining).i32Const(BLOCK_BYTES).op(Op.i32GeU).blockVoid(Op.if);
  c.x.forEach((word, i) => {
    f.opIndex(Op.localGet, l.addr).opIndex(Op.localGet, l.addr);
    f.memory(Op.i32Load, 0, 4 * i)
      .opIndex(Op.localGet, word)
      .op(Op.i32Xor);
    f.memory(Op.i32Store, 0, 4 * i);
  });
  f.addToLocal(l.addr, BLOCK_BYTES).addToLocal(l.remaining, -BLOCK_BYTES);
  f.addToLocal(c.counter, 1);
  f.op(Op.else);
  emitPartialBlockXor(f, c, l);
  f.op(Op.end);
  f.opIndex(Op.br, 0).op(Op.end).op(Op.end);
}

/** The last partial block: keystream through KEYSTREAM_TAIL, 8 bytes then 1 at a time, wiped. */
function emitPartialBlockXor(f: FunctionBuilder, c: ChachaLocals, l: PayloadLocals): void {
  c.x.forEach((word, i) => {
    f.i32Const(0)
      .opIndex(Op.localGet, word)
      .memory(Op.i32Store, 2, KEYSTREAM_TAIL + 4 * i);
  });
  f.i32Const(KEYSTREAM_TAIL).opIndex(Op.localSet, l.tail);
  const xorStep = (bytes: number): void => {
    const [load, xor, store] =
      bytes === 8 ? [Op.i64Load, Op.i64Xor, Op.i64Store] : [Op.i32Load8U, Op.i32Xor, Op.i32Store8];
    f.opIndex(Op.localGet, l.addr).opIndex(Op.localGet, l.addr).memory(load, 0, 0);
    f.opIndex(Op.localGet, l.tail).memory(load, 0, 0).op(xor).memory(store, 0, 0);
    f.addToLocal(l.addr, bytes).addToLocal(l.tail, bytes).addToLocal(l.remaining, -bytes);
  };
  f.blockVoid(Op.block).blockVoid(Op.loop);
  f.opIndex(Op.localGet, l.remaining).i32Const(8).op(Op.i32LtU).opIndex(Op.brIf, 1);
  xorStep(8);
  f.opIndex(Op.br, 0).op(Op.end).op(Op.end);
  f.blockVoid(Op.block).blockVoid(Op.loop);
  f.opIndex(Op.localGet, l.remaining).op(Op.i32Eqz).opIndex(Op.brIf, 1);
  xorStep(1);
  f.opIndex(Op.br, 0).op(Op.end).op(Op.end);
  emitZero(f, KEYSTREAM_TAIL, BLOCK_BYTES);
}

/** Stores zeros over `bytes` (a multiple of 8) at the fixed address `at`. */
function emitZero(f: FunctionBuilder, at: number, bytes: number): void {
  for (let offset = 0; offset < bytes; offset += 8) {
    f.i32Const(0)
      .i64Const(0n)
      .memory(Op.i64Store, 3, at + offset);
  }
}

/** The addresses both functions derive from `(aadLength, length)`. */
interface Layout {
  /** Where the text starts: DATA + aad padded to 16 bytes. */
  readonly text: number;
  /** Where the text ends and the tag goes. */
  readonly textEnd: number;
  /** The number of 16-byte MAC blocks, the length block included. */
  readonly blocks: number;
}

function emitLayout(f: FunctionBuilder, aadLength: number, length: number): Layout {
  const layout = {
    text: f.local(ValueType.i32),
    textEnd: f.local(ValueType.i32),
    blocks: f.local(ValueType.i32),
  };
  const at = f.local(ValueType.i32);
  f.opIndex(Op.localGet, aadLength).i32Const(15).op(Op.i32Add).i32Const(-16).op(Op.i32And);
  f.i32Const(DATA).op(Op.i32Add).opIndex(Op.localSet, layout.text);
  f.opIndex(Op.localGet, layout.text).opIndex(Op.localGet, length).op(Op.i32Add);
  f.opIndex(Op.localSet, layout.textEnd);
  // The aad's padding, byte by byte: the text already follows it.
  f.i32Const(DATA).opIndex(Op.localGet, aadLength).op(Op.i32Add).opIndex(Op.localSet, at);
  f.blockVoid(Op.block).blockVoid(Op.loop);
  f.opIndex(Op.localGet, at).opIndex(Op.localGet, layout.text).op(Op.i32GeU);
  f.opIndex(Op.brIf, 1);
  f.opIndex(Op.localGet, at).i32Const(0).memory(Op.i32Store8, 0, 0).addToLocal(at, 1);
  f.opIndex(Op.br, 0).op(Op.end).op(Op.end);
  return layout;
}

/**
 * The text's padding and the §2.8.1 length block after the text, then the MAC of everything from
 * DATA, left in `tagLow`, `tagHigh`.
 */
function emitMac(
  f: FunctionBuilder,
  p: PolyLocals,
  layout: Layout,
  aadLength: number,
  length: number,
): void {
  const { textEnd, blocks } = layout;
  f.opIndex(Op.localGet, textEnd).i64Const(0n).memory(Op.i64Store, 0, 0);
  f.opIndex(Op.localGet, textEnd).i64Const(0n).memory(Op.i64Store, 0, 8);
  // blocks = (pad16(textEnd) - DATA) / 16, then the length block at pad16(textEnd).
  f.opIndex(Op.localGet, textEnd).i32Const(15).op(Op.i32Add).i32Const(-16).op(Op.i32And);
  f.opIndex(Op.localTee, blocks).opIndex(Op.localGet, aadLength).op(Op.i64ExtendI32U);
  f.memory(Op.i64Store, 3, 0);
  f.opIndex(Op.localGet, blocks).opIndex(Op.localGet, length).op(Op.i64ExtendI32U);
  f.memory(Op.i64Store, 3, 8);
  f.opIndex(Op.localGet, blocks)
    .i32Const(16 - DATA)
    .op(Op.i32Add)
    .i32Const(4)
    .op(Op.i32ShrU);
  f.opIndex(Op.localSet, blocks);
  const addr = f.local(ValueType.i32);
  f.i32Const(DATA).opIndex(Op.localSet, addr);
  emitPolyBlocks(f, p, addr, blocks, FULL_BLOCK_BIT);
  emitPolyFinish(f, p);
}

const AEAD_PARAMS = [ValueType.i32, ValueType.i32];

/** `seal(aadLength, length)`: encrypts the text in place and writes the tag after it. */
function buildSealFunction(m: ModuleBuilder): void {
  const f = m.func('seal', AEAD_PARAMS);
  const [aadLength, length] = [0, 1];
  const c = chachaLocals(f);
  const p = polyLocals(f);
  const payload = payloadLocals(f);
  const layout = emitLayout(f, aadLength, length);
  emitLoadKeyAndNonce(f, c);
  emitPolyKeyGeneration(f, c, p);
  emitKeystreamXor(f, c, payload, layout.text, length);
  emitMac(f, p, layout, aadLength, length);
  f.opIndex(Op.localGet, layout.textEnd).opIndex(Op.localGet, p.tagLow);
  f.memory(Op.i64Store, 0, 0);
  f.opIndex(Op.localGet, layout.textEnd).opIndex(Op.localGet, p.tagHigh);
  f.memory(Op.i64Store, 0, 8);
  emitZero(f, KEY, AEAD_KEY_BYTES);
}

/**
 * `open(aadLength, length)`: the tag follows the ciphertext; VERDICT = 1 and the text decrypted
 * in place when it verifies, VERDICT = 0 and the ciphertext left as it was otherwise.
 */
function buildOpenFunction(m: ModuleBuilder): void {
  const f = m.func('open', AEAD_PARAMS);
  const [aadLength, length] = [0, 1];
  const c = chachaLocals(f);
  const p = polyLocals(f);
  const payload = payloadLocals(f);
  const [expectedLow, expectedHigh] = locals(f, ValueType.i64, 2) as [number, number];
  const layout = emitLayout(f, aadLength, length);
  // The received tag is where the padding and length block go: read it first.
  f.opIndex(Op.localGet, layout.textEnd).memory(Op.i64Load, 0, 0);
  f.opIndex(Op.localSet, expectedLow);
  f.opIndex(Op.localGet, layout.textEnd).memory(Op.i64Load, 0, 8);
  f.opIndex(Op.localSet, expectedHigh);
  emitLoadKeyAndNonce(f, c);
  emitPolyKeyGeneration(f, c, p);
  emitMac(f, p, layout, aadLength, length);
  // Constant time: every bit of both halves is compared before the one branch on the verdict.
  const verdict = f.local(ValueType.i32);
  f.i32Const(0);
  f.opIndex(Op.localGet, p.tagLow).opIndex(Op.localGet, expectedLow).op(Op.i64Xor);
  f.opIndex(Op.localGet, p.tagHigh).opIndex(Op.localGet, expectedHigh).op(Op.i64Xor);
  f.op(Op.i64Or).op(Op.i64Eqz).opIndex(Op.localTee, verdict).memory(Op.i32Store, 2, VERDICT);
  f.opIndex(Op.localGet, verdict).blockVoid(Op.if);
  emitKeystreamXor(f, c, payload, layout.text, length);
  f.op(Op.end);
  emitZero(f, KEY, AEAD_KEY_BYTES);
}

/**
 * `poly1305(blocks, partial)`: the §2.5 MAC with the one-time key at KEY of `blocks` full blocks
 * at DATA, then `partial` (0 or 1) last block already padded with its 0x01 byte; the tag is
 * written at DATA.
 */
function buildPoly1305Function(m: ModuleBuilder): void {
  const f = m.func('poly1305', [ValueType.i32, ValueType.i32]);
  const [blocks, partial] = [0, 1];
  const words = locals(f, ValueType.i32, 8);
  const p = polyLocals(f);
  const addr = f.local(ValueType.i32);
  words.forEach((word, i) => {
    f.i32Const(0)
      .memory(Op.i32Load, 2, KEY + 4 * i)
      .opIndex(Op.localSet, word);
  });
  emitPolyKey(f, words, p);
  f.i32Const(DATA).opIndex(Op.localSet, addr);
  emitPolyBlocks(f, p, addr, blocks, FULL_BLOCK_BIT);
  emitPolyBlocks(f, p, addr, partial, 0);
  emitPolyFinish(f, p);
  f.i32Const(0).opIndex(Op.localGet, p.tagLow).memory(Op.i64Store, 3, DATA);
  f.i32Const(0)
    .opIndex(Op.localGet, p.tagHigh)
    .memory(Op.i64Store, 3, DATA + 8);
  emitZero(f, KEY, AEAD_KEY_BYTES);
}

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly seal: (aadLength: number, length: number) => void;
  readonly open: (aadLength: number, length: number) => void;
  readonly poly1305: (blocks: number, partial: number) => void;
}

/** A new instance of the kernel's module, compiled once per thread. */
const newKernelInstance = instanceFactory<KernelExports>(MEMORY_PAGES, (m) => {
  buildSealFunction(m);
  buildOpenFunction(m);
  buildPoly1305Function(m);
});

const padded16 = (length: number): number => (length + 15) & ~15;

function assertInputs(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array): void {
  assertSize(key, AEAD_KEY_BYTES, 'ChaCha20-Poly1305 key');
  assertSize(nonce, AEAD_NONCE_BYTES, 'ChaCha20-Poly1305 nonce');
  assertBytes(aad, 'ChaCha20-Poly1305 aad');
  assertLength(
    aad.length,
    CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES,
    'ChaCha20-Poly1305 aad length',
  );
}

/**
 * RFC 8439 §2.8 AEAD_CHACHA20_POLY1305 for inputs up to
 * `CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES`. Each instance owns its WebAssembly memory (use one
 * per thread); each call allocates only the array it returns. Wrong key or nonce sizes and inputs
 * above the maximum throw `RangeError`.
 */
export class ChaCha20Poly1305Kernel {
  private readonly wasm: KernelExports;
  private readonly bytes: Uint8Array;

  constructor() {
    this.wasm = newKernelInstance();
    this.bytes = new Uint8Array(this.wasm.memory.buffer);
  }

  /** ciphertext ‖ 16-byte tag */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    assertInputs(key, nonce, aad);
    assertBytes(plaintext, 'ChaCha20-Poly1305 plaintext');
    assertLength(
      plaintext.length,
      CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES,
      'ChaCha20-Poly1305 plaintext length',
    );
    const text = this.#load(key, nonce, aad, plaintext);
    this.wasm.seal(aad.length, plaintext.length);
    return this.bytes.slice(text, text + plaintext.length + AEAD_TAG_BYTES);
  }

  /** plaintext, or undefined when the tag does not verify or sealed is shorter than 16 bytes */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
  ): Uint8Array | undefined {
    assertInputs(key, nonce, aad);
    assertBytes(sealed, 'ChaCha20-Poly1305 sealed box');
    if (sealed.length < AEAD_TAG_BYTES) return undefined;
    const length = sealed.length - AEAD_TAG_BYTES;
    assertLength(
      length,
      CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES,
      'ChaCha20-Poly1305 ciphertext length',
    );
    const text = this.#load(key, nonce, aad, sealed);
    const bytes = this.bytes;
    this.wasm.open(aad.length, length);
    if (bytes[VERDICT] !== 1) return undefined;
    const plaintext = bytes.slice(text, text + length);
    bytes.fill(0, text, text + length);
    return plaintext;
  }

  /** Lays out key, nonce, aad and text as §2.8.1's MAC input; returns where the text starts. */
  #load(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, text: Uint8Array): number {
    const bytes = this.bytes;
    const textOffset = DATA + padded16(aad.length);
    bytes.set(key, KEY);
    bytes.set(nonce, NONCE);
    bytes.set(aad, DATA);
    bytes.set(text, textOffset);
    return textOffset;
  }

  /**
   * RFC 8439 §2.5 Poly1305 alone with a 32-byte one-time key `r ‖ s` (the MAC inside `seal` and
   * `open`), so that it is checked on its own vectors; `message` up to the maximum input size.
   */
  poly1305(oneTimeKey: Uint8Array, message: Uint8Array): Uint8Array {
    assertSize(oneTimeKey, POLY1305_KEY_BYTES, 'Poly1305 key');
    assertBytes(message, 'Poly1305 message');
    assertLength(
      message.length,
      CHACHA20_POLY1305_KERNEL_MAX_INPUT_BYTES,
      'Poly1305 message length',
    );
    const bytes = this.bytes;
    const end = DATA + message.length;
    bytes.set(oneTimeKey, KEY);
    bytes.set(message, DATA);
    const partial = message.length % 16 === 0 ? 0 : 1;
    if (partial === 1) {
      bytes[end] = 1;
      bytes.fill(0, end + 1, DATA + padded16(message.length));
    }
    this.wasm.poly1305(message.length >>> 4, partial);
    return bytes.slice(DATA, DATA + POLY1305_TAG_BYTES);
  }
}
