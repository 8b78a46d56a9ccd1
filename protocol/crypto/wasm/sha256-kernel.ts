/**
 * SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869) for small inputs, on a
 * scalar WebAssembly kernel assembled at load time. A Noise XK handshake (protocol/noise/,
 * SPEC.md) makes 16 hashes and 8 HKDFs of a few dozen bytes each; through node:crypto each of
 * them costs a micro-second bridge crossing for a tenth of that in work, and this kernel does the
 * work in one or a few cheap WebAssembly calls instead (ARCHITECTURE.md §8, the crypto floor of a
 * full-fidelity unlock). Inputs above `SHA256_KERNEL_MAX_INPUT_BYTES` are refused: the caller
 * sends those to OpenSSL, where the bridge cost no longer matters.
 *
 * The module's hashing functions have the 64 rounds of FIPS 180-4 §6.2.2 fully unrolled, with
 * the working variables and a 16-word ring of the message schedule in locals:
 * - `sha256`: hashes padded blocks from the initial hash value into a big-endian digest;
 * - `hmacKey`: compresses `K ⊕ ipad` and `K ⊕ opad` into the inner and outer states;
 * - `hmac`: the inner hash of padded blocks from the inner state, then the outer compression of
 *   its digest from the outer state, in one call.
 * HMAC keys are set once per key, so HKDF-Expand's HMACs under one PRK share the key's states.
 * The JavaScript side only copies inputs in, pads (§5.1.1) and copies the result out.
 *
 * Secrets (SECURITY.md, Crypto): the memory belongs to one instance and is reachable only through
 * it, yet every call zeroes what it wrote (keys, states, messages, outputs) before it returns, so
 * no key material outlives the call that used it. A fourth function, `zero`, does that for about
 * the cost of one call, and the zeros it leaves are the padding zeros of the next message.
 */
import { assertBytes, assertLength } from '../input-checks.js';
import { HKDF_SHA256_MAX_BYTES, SHA256_BYTES } from '../provider.js';
import { SHA256_BLOCK_BYTES, SHA256_IV, SHA256_K } from '../sha256-constants.js';
import {
  instanceFactory,
  Op,
  type ModuleBuilder,
  ValueType,
  type FunctionBuilder,
} from '../../wasm/wasm-writer.js';

/** The longest data, key, input keying material, salt or info a call accepts. */
export const SHA256_KERNEL_MAX_INPUT_BYTES = 16384;

/**
 * Memory layout of an instance (byte offsets), one contiguous run so that a call zeroes all it
 * wrote with one `zero` call: HKDF-Expand's output blocks end where the key states begin.
 */
/** HKDF-Expand writes its `ceil(L / 32)` output blocks just below OKM_END. */
const OKM_END = HKDF_SHA256_MAX_BYTES;
const INNER_STATE = OKM_END;
const OUTER_STATE = INNER_STATE + SHA256_BYTES;
/** The HMAC key padded with zeros to a block (RFC 2104 §2), or the hash of a longer key. */
const KEY_BLOCK = OUTER_STATE + SHA256_BYTES;
const DIGEST = KEY_BLOCK + SHA256_BLOCK_BYTES;
/**
 * Messages being hashed. HKDF-Expand lays `T(i-1) ‖ info ‖ i` out here; the padding adds at most
 * 72 bytes (§5.1.1), so the largest message ends before `MESSAGE + MAX + 32 + 1 + 72`.
 */
const MESSAGE = DIGEST + SHA256_BYTES;
const MESSAGE_CAPACITY = SHA256_KERNEL_MAX_INPUT_BYTES + 128;
const MEMORY_PAGES = Math.ceil((MESSAGE + MESSAGE_CAPACITY) / 65536);

/** RFC 2104 §2: the inner and outer pad bytes, four to a word. */
const IPAD_WORD = 0x36363636;
const OPAD_WORD = 0x5c5c5c5c;
/** §5.1.1 padding of the outer message (the 32-byte inner digest after the key block). */
const PAD_WORD = 0x80000000;
const OUTER_MESSAGE_BITS = (SHA256_BLOCK_BYTES + SHA256_BYTES) * 8;
/** The unit `zero` clears; every region a call writes is a whole number of them. */
const ZERO_CHUNK_BYTES = 32;

/** The locals one unrolled compression works in. */
interface CompressionLocals {
  /** The intermediate hash value H of §6.2.2. */
  readonly state: readonly number[];
  /** The working variables a..h (their roles rotate from round to round, see `emitCompression`). */
  readonly work: readonly number[];
  /** `W[t mod 16]`, the ring of the message schedule. */
  readonly schedule: readonly number[];
  readonly temp1: number;
  /** `a ⊕ b` of this round and the previous one, which is `b ⊕ c` of this one. */
  readonly majority: readonly [number, number];
}

function compressionLocals(f: FunctionBuilder): CompressionLocals {
  const locals = (count: number): number[] =>
    Array.from({ length: count }, () => f.local(ValueType.i32));
  return {
    state: locals(8),
    work: locals(8),
    schedule: locals(16),
    temp1: f.local(ValueType.i32),
    majority: [f.local(ValueType.i32), f.local(ValueType.i32)],
  };
}

/**
 * `ROTR^a(x) ⊕ ROTR^b(x) ⊕ ROTR^c(x)` (§4.1.2 Σ) nested as `ROTR^a(x ⊕ ROTR^(b-a)(x ⊕
 * ROTR^(c-b)(x)))`, which needs one temporary instead of two.
 */
function emitBigSigma(
  f: FunctionBuilder,
  x: number,
  [a, b, c]: readonly [number, number, number],
): void {
  f.opIndex(Op.localGet, x)
    .i32Const(c - b)
    .op(Op.i32Rotr);
  f.opIndex(Op.localGet, x)
    .op(Op.i32Xor)
    .i32Const(b - a)
    .op(Op.i32Rotr);
  f.opIndex(Op.localGet, x).op(Op.i32Xor).i32Const(a).op(Op.i32Rotr);
}

/** `ROTR^a(x) ⊕ ROTR^b(x) ⊕ SHR^shift(x)` (§4.1.2 σ) as `ROTR^a(x ⊕ ROTR^(b-a)(x)) ⊕ SHR^shift(x)`. */
function emitSmallSigma(
  f: FunctionBuilder,
  x: number,
  [a, b]: readonly [number, number],
  shift: number,
): void {
  f.opIndex(Op.localGet, x)
    .i32Const(b - a)
    .op(Op.i32Rotr);
  f.opIndex(Op.localGet, x).op(Op.i32Xor).i32Const(a).op(Op.i32Rotr);
  f.opIndex(Op.localGet, x).i32Const(shift).op(Op.i32ShrU).op(Op.i32Xor);
}

/**
 * Leaves the big-endian word at `base + offset` on the stack. WebAssembly loads little-endian, so
 * the bytes are swapped with two rotations and masks; `scratch` holds the loaded word meanwhile.
 */
function emitLoadBigEndian(
  f: FunctionBuilder,
  base: number,
  offset: number,
  scratch: number,
): void {
  f.opIndex(Op.localGet, base).memory(Op.i32Load, 2, offset).opIndex(Op.localTee, scratch);
  f.i32Const(8).op(Op.i32Rotl).i32Const(0x00ff00ff).op(Op.i32And);
  f.opIndex(Op.localGet, scratch).i32Const(8).op(Op.i32Rotr).i32Const(0xff00ff00).op(Op.i32And);
  f.op(Op.i32Or);
}

/** Stores the state words big-endian (the digest, §6.2.2 step 4) at `base + 0..31`. */
function emitStoreDigest(f: FunctionBuilder, l: CompressionLocals, base: number): void {
  l.state.forEach((word, i) => {
    f.opIndex(Op.localGet, base);
    f.opIndex(Op.localGet, word).i32Const(8).op(Op.i32Rotl).i32Const(0x00ff00ff).op(Op.i32And);
    f.opIndex(Op.localGet, word).i32Const(8).op(Op.i32Rotr).i32Const(0xff00ff00).op(Op.i32And);
    f.op(Op.i32Or).memory(Op.i32Store, 2, 4 * i);
  });
}

/** Sets the state locals to the given constants (the initial hash value, §5.3.3). */
function emitSetState(f: FunctionBuilder, l: CompressionLocals, words: readonly number[]): void {
  l.state.forEach((word, i) => f.i32Const(words[i]!).opIndex(Op.localSet, word));
}

/** Sets the state locals to the eight native words at `address` (a key state of `hmacKey`). */
function emitLoadState(f: FunctionBuilder, l: CompressionLocals, address: number): void {
  l.state.forEach((word, i) => {
    f.i32Const(0)
      .memory(Op.i32Load, 2, address + 4 * i)
      .opIndex(Op.localSet, word);
  });
}

/**
 * FIPS 180-4 §6.2.2 steps 2–4 for one block, fully unrolled: `messageWord(t)` leaves `W[t]` on the
 * stack for `t < 16` (it may use `schedule[t]` as scratch); later words are expanded in the ring.
 * Instead of moving a..h down each round, the round's new `a` goes into the local that held `h`
 * and its new `e` into the one that held `d`: in round `t`, variable `v` lives in
 * `work[(v - t) mod 8]`, back in place after 64 rounds.
 */
function emitCompression(
  f: FunctionBuilder,
  l: CompressionLocals,
  messageWord: (t: number) => void,
): void {
  const { state, work, schedule, temp1, majority } = l;
  state.forEach((word, i) => f.opIndex(Op.localGet, word).opIndex(Op.localSet, work[i]!));
  const get = (index: number): void => void f.opIndex(Op.localGet, index);
  // b ⊕ c for the first round's Maj.
  get(work[1]!);
  get(work[2]!);
  f.op(Op.i32Xor).opIndex(Op.localSet, majority[1]);
  for (let t = 0; t < 64; t++) {
    const v = (name: number): number => work[(name - t + 64) % 8]!;
    const [a, b, d, e, fv, g, h] = [v(0), v(1), v(3), v(4), v(5), v(6), v(7)];
    const w = schedule[t % 16]!;
    if (t < 16) {
      messageWord(t);
    } else {
      // §6.2.2 step 1: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16].
      emitSmallSigma(f, schedule[(t - 2) % 16]!, [17, 19], 10);
      get(schedule[(t - 7) % 16]!);
      f.op(Op.i32Add);
      emitSmallSigma(f, schedule[(t - 15) % 16]!, [7, 18], 3);
      f.op(Op.i32Add);
      get(w);
      f.op(Op.i32Add);
    }
    // T1 = W[t] + K[t] + h + Σ1(e) + Ch(e, f, g), with Ch = g ⊕ (e ∧ (f ⊕ g)).
    f.opIndex(Op.localTee, w).i32Const(SHA256_K[t]!).op(Op.i32Add);
    get(h);
    f.op(Op.i32Add);
    emitBigSigma(f, e, [6, 11, 25]);
    f.op(Op.i32Add);
    get(g);
    get(e);
    get(fv);
    get(g);
    f.op(Op.i32Xor).op(Op.i32And).op(Op.i32Xor).op(Op.i32Add);
    f.opIndex(Op.localTee, temp1);
    // The new e = d + T1 replaces d.
    get(d);
    f.op(Op.i32Add).opIndex(Op.localSet, d);
    // The new a = T1 + Σ0(a) + Maj(a, b, c) replaces h, with Maj = b ⊕ ((a ⊕ b) ∧ (b ⊕ c)).
    get(temp1);
    emitBigSigma(f, a, [2, 13, 22]);
    f.op(Op.i32Add);
    get(b);
    get(a);
    get(b);
    f.op(Op.i32Xor).opIndex(Op.localTee, majority[t % 2]!);
    get(majority[(t + 1) % 2]!);
    f.op(Op.i32And).op(Op.i32Xor).op(Op.i32Add).opIndex(Op.localSet, h);
  }
  state.forEach((word, i) => {
    get(word);
    get(work[i]!);
    f.op(Op.i32Add).opIndex(Op.localSet, word);
  });
}

/** Compresses `blocks` blocks from `message` onwards into the state, advancing `message`. */
function emitCompressBlocks(
  f: FunctionBuilder,
  l: CompressionLocals,
  message: number,
  blocks: number,
): void {
  f.countedLoop(blocks, () => {
    emitCompression(f, l, (t) => emitLoadBigEndian(f, message, 4 * t, l.schedule[t]!));
    f.addToLocal(message, SHA256_BLOCK_BYTES);
  });
}

/** `sha256(message, blocks, out)`: the digest of `blocks` padded blocks, stored at `out`. */
function buildSha256Function(m: ModuleBuilder): void {
  const f = m.func('sha256', [ValueType.i32, ValueType.i32, ValueType.i32]);
  const [message, blocks, out] = [0, 1, 2];
  const l = compressionLocals(f);
  emitSetState(f, l, SHA256_IV);
  emitCompressBlocks(f, l, message, blocks);
  emitStoreDigest(f, l, out);
}

/**
 * `hmacKey(keyBlock)`: RFC 2104 §2 steps 1–2 and the first compression of steps 3 and 6, the
 * states after `K ⊕ ipad` and `K ⊕ opad`, stored as native words at INNER_STATE and OUTER_STATE.
 */
function buildHmacKeyFunction(m: ModuleBuilder): void {
  const f = m.func('hmacKey', [ValueType.i32]);
  const keyBlock = 0;
  const l = compressionLocals(f);
  const pad = f.local(ValueType.i32);
  const target = f.local(ValueType.i32);
  const remaining = f.local(ValueType.i32);
  f.i32Const(IPAD_WORD).opIndex(Op.localSet, pad);
  f.i32Const(INNER_STATE).opIndex(Op.localSet, target);
  f.i32Const(2).opIndex(Op.localSet, remaining);
  f.countedLoop(remaining, () => {
    emitSetState(f, l, SHA256_IV);
    emitCompression(f, l, (t) => {
      emitLoadBigEndian(f, keyBlock, 4 * t, l.schedule[t]!);
      f.opIndex(Op.localGet, pad).op(Op.i32Xor);
    });
    l.state.forEach((word, i) => {
      f.opIndex(Op.localGet, target)
        .opIndex(Op.localGet, word)
        .memory(Op.i32Store, 2, 4 * i);
    });
    f.i32Const(OPAD_WORD).opIndex(Op.localSet, pad);
    f.addToLocal(target, OUTER_STATE - INNER_STATE);
  });
}

/**
 * `hmac(message, blocks, out, chain)`: RFC 2104 §2 steps 3–7 from the states of `hmacKey`: the
 * inner hash of `blocks` padded blocks (padded as if after the 64-byte key block), then the outer
 * compression of its digest. The MAC is stored at `out` and at `chain`, where HKDF-Expand wants
 * it again as the start of its next message (RFC 5869 §2.3) or as its next key.
 */
function buildHmacFunction(m: ModuleBuilder): void {
  const f = m.func('hmac', [ValueType.i32, ValueType.i32, ValueType.i32, ValueType.i32]);
  const [message, blocks, out, chain] = [0, 1, 2, 3];
  const l = compressionLocals(f);
  emitLoadState(f, l, INNER_STATE);
  emitCompressBlocks(f, l, message, blocks);
  // The inner digest is the outer message's first 8 words; it waits in the schedule ring.
  l.state.forEach((word, i) => f.opIndex(Op.localGet, word).opIndex(Op.localSet, l.schedule[i]!));
  emitLoadState(f, l, OUTER_STATE);
  emitCompression(f, l, (t) => {
    if (t < 8) f.opIndex(Op.localGet, l.schedule[t]!);
    else if (t === 8) f.i32Const(PAD_WORD);
    else if (t < 15) f.i32Const(0);
    else f.i32Const(OUTER_MESSAGE_BITS);
  });
  emitStoreDigest(f, l, out);
  emitStoreDigest(f, l, chain);
}

/**
 * `zero(address, chunks)`: zeroes `chunks` runs of 32 bytes from `address`, which is cheaper than
 * a `fill` call from JavaScript for the few dozen bytes a call leaves behind.
 */
function buildZeroFunction(m: ModuleBuilder): void {
  const f = m.func('zero', [ValueType.i32, ValueType.i32]);
  const [address, chunks] = [0, 1];
  f.countedLoop(chunks, () => {
    for (let offset = 0; offset < ZERO_CHUNK_BYTES; offset += 8) {
      f.opIndex(Op.localGet, address).i64Const(0n).memory(Op.i64Store, 3, offset);
    }
    f.addToLocal(address, ZERO_CHUNK_BYTES);
  });
}

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly sha256: (message: number, blocks: number, out: number) => void;
  readonly hmacKey: (keyBlock: number) => void;
  readonly hmac: (message: number, blocks: number, out: number, chain: number) => void;
  readonly zero: (address: number, chunks: number) => void;
}

/** A new instance of the kernel's module, compiled once per thread. */
const newKernelInstance = instanceFactory<KernelExports>(MEMORY_PAGES, (m) => {
  buildSha256Function(m);
  buildHmacKeyFunction(m);
  buildHmacFunction(m);
  buildZeroFunction(m);
});

function assertInput(value: Uint8Array, what: string): void {
  assertBytes(value, what);
  assertLength(value.length, SHA256_KERNEL_MAX_INPUT_BYTES, `${what} length`);
}

/**
 * One kernel instance with its own WebAssembly memory; use one per thread. Each call allocates
 * only the array it returns. Arguments longer than `SHA256_KERNEL_MAX_INPUT_BYTES` throw
 * `RangeError`.
 *
 * Between calls the memory is all zeros: each call zeroes what it wrote before it returns, which
 * both wipes the secrets and leaves the zeros of the next message's padding in place.
 */
export class Sha256Kernel {
  private readonly wasm: KernelExports;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor() {
    this.wasm = newKernelInstance();
    this.bytes = new Uint8Array(this.wasm.memory.buffer);
    this.view = new DataView(this.wasm.memory.buffer);
  }

  /** FIPS 180-4 §6.2 SHA-256 of `data`. */
  sha256(data: Uint8Array): Uint8Array {
    assertInput(data, 'data');
    this.bytes.set(data, MESSAGE);
    const blocks = this.pad(MESSAGE, data.length, 0);
    this.wasm.sha256(MESSAGE, blocks, DIGEST);
    const digest = this.bytes.slice(DIGEST, DIGEST + SHA256_BYTES);
    this.zeroUpTo(DIGEST, MESSAGE + blocks * SHA256_BLOCK_BYTES);
    return digest;
  }

  /** RFC 2104 HMAC-SHA256 of `data` under `key` (a key longer than a block is hashed first). */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
    assertInput(key, 'key');
    assertInput(data, 'data');
    this.setKey(key);
    this.bytes.set(data, MESSAGE);
    const blocks = this.pad(MESSAGE, data.length, SHA256_BLOCK_BYTES);
    this.wasm.hmac(MESSAGE, blocks, DIGEST, DIGEST);
    const mac = this.bytes.slice(DIGEST, DIGEST + SHA256_BYTES);
    this.zeroUpTo(INNER_STATE, MESSAGE + blocks * SHA256_BLOCK_BYTES);
    return mac;
  }

  /** RFC 5869 HKDF-SHA256: extract with `salt`, then expand to `length` bytes in [0, 8160]. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    assertInput(ikm, 'ikm');
    assertInput(salt, 'salt');
    assertInput(info, 'info');
    assertLength(length, HKDF_SHA256_MAX_BYTES, 'okm length');
    // §2.2: PRK = HMAC(salt, IKM), written straight into the key block for the expand step. An
    // empty salt is the same key as HashLen zeros once padded to a block.
    this.setKey(salt);
    this.bytes.set(ikm, MESSAGE);
    const ikmBlocks = this.pad(MESSAGE, ikm.length, SHA256_BLOCK_BYTES);
    this.wasm.hmac(MESSAGE, ikmBlocks, KEY_BLOCK, KEY_BLOCK);
    this.zeroUpTo(KEY_BLOCK + SHA256_BYTES, KEY_BLOCK + SHA256_BLOCK_BYTES);
    this.wasm.hmacKey(KEY_BLOCK);
    this.zeroUpTo(MESSAGE, MESSAGE + ikmBlocks * SHA256_BLOCK_BYTES);
    // §2.3: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), stored from `okm` up to OKM_END. Every message
    // ends at the same place: T(1)'s message `info ‖ 1` starts 32 bytes in, the later ones start
    // with the previous T, which `hmac` writes there itself; only the counter byte changes.
    const count = Math.ceil(length / SHA256_BYTES);
    const okm = OKM_END - count * SHA256_BYTES;
    const counterAt = MESSAGE + SHA256_BYTES + info.length;
    let end = MESSAGE;
    if (count > 0) {
      this.bytes.set(info, MESSAGE + SHA256_BYTES);
      this.bytes[counterAt] = 1;
      const firstBlocks = this.pad(MESSAGE + SHA256_BYTES, info.length + 1, SHA256_BLOCK_BYTES);
      this.wasm.hmac(MESSAGE + SHA256_BYTES, firstBlocks, okm, MESSAGE);
      end = MESSAGE + SHA256_BYTES + firstBlocks * SHA256_BLOCK_BYTES;
      // The later messages' zeros may cover where T(1)'s bit length was.
      this.view.setUint32(end - 4, 0);
    }
    if (count > 1) {
      const blocks = this.pad(MESSAGE, SHA256_BYTES + info.length + 1, SHA256_BLOCK_BYTES);
      for (let i = 2; i <= count; i++) {
        this.bytes[counterAt] = i;
        this.wasm.hmac(MESSAGE, blocks, okm + (i - 1) * SHA256_BYTES, MESSAGE);
      }
      end = Math.max(end, MESSAGE + blocks * SHA256_BLOCK_BYTES);
    }
    const result = this.bytes.slice(okm, okm + length);
    this.zeroUpTo(okm, end);
    return result;
  }

  /**
   * §5.1.1: pads the `length` message bytes at `address`, which follow `prefixBytes` already
   * compressed (an HMAC key block), and returns the number of blocks to compress. The zeros
   * between are already there.
   */
  private pad(address: number, length: number, prefixBytes: number): number {
    const blocks = ((length + 8) >>> 6) + 1;
    this.bytes[address + length] = 0x80;
    // Below 2^32 bits, the high word of the 64-bit length is zero.
    this.view.setUint32(address + blocks * SHA256_BLOCK_BYTES - 4, (prefixBytes + length) * 8);
    return blocks;
  }

  /** RFC 2104 §2: the key block of `key` (hashed first if longer than a block) and its states. */
  private setKey(key: Uint8Array): void {
    if (key.length > SHA256_BLOCK_BYTES) {
      this.bytes.set(key, MESSAGE);
      const blocks = this.pad(MESSAGE, key.length, 0);
      this.wasm.sha256(MESSAGE, blocks, KEY_BLOCK);
      this.zeroUpTo(MESSAGE, MESSAGE + blocks * SHA256_BLOCK_BYTES);
    } else {
      this.bytes.set(key, KEY_BLOCK);
    }
    this.wasm.hmacKey(KEY_BLOCK);
  }

  /** Zeroes `start .. end - 1`, both multiples of ZERO_CHUNK_BYTES. */
  private zeroUpTo(start: number, end: number): void {
    this.wasm.zero(start, (end - start) / ZERO_CHUNK_BYTES);
  }
}
