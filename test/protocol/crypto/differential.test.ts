// Differential properties: both providers get identical random inputs (well-formed, malformed and
// mutated) and must give identical outputs and outcomes, errors included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519 } from '@noble/curves/ed25519.js';
import { propertyRuns } from '../../support/properties.js';
import { noble, node, outcome } from './both-providers.js';
import { fromHex, hex } from '../../support/hex.js';

const RUNS = { numRuns: propertyRuns(300, 100_000) };
/** The heavier Ed25519 properties run fewer cases in CI. */
const SLOW_RUNS = { numRuns: propertyRuns(200, 100_000) };

const L = ed25519.Point.Fn.ORDER;
const P = 2n ** 255n - 19n;

const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength, maxLength });
const bytes32 = bytes(32, 32);

function agree(run: (provider: typeof noble) => Uint8Array | boolean | undefined): string {
  const expected = outcome(() => run(noble));
  expect(outcome(() => run(node))).toBe(expected);
  return expected;
}

function flipBit(data: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(data);
  copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return copy;
}

function encodeLittleEndian(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

function decodeLittleEndian(data: Uint8Array): bigint {
  return data.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/** Curve25519 u-coordinates of special interest: low-order, near p, non-canonical, bit 255 set. */
const specialU: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom(
      0n,
      1n,
      P - 1n,
      325606250916557431795983626356110631294008115727848805560023387167927233504n,
      39382357235489614581723060781553021112529911719440698176882885853963445705823n,
    ),
    fc.integer({ min: -20, max: 20 }),
    fc.boolean(),
  )
  .map(([base, delta, topBit]) => {
    const u = encodeLittleEndian(
      (((base + BigInt(delta)) % 2n ** 255n) + 2n ** 255n) % 2n ** 255n,
      32,
    );
    if (topBit) u[31] = (u[31] ?? 0) | 0x80;
    return u;
  });

describe('X25519 (RFC 7748 §5)', () => {
  it('derives the same public key from any 32-byte secret', () => {
    fc.assert(
      fc.property(bytes32, (secretKey) => {
        agree((p) => p.x25519PublicKey(secretKey));
      }),
      RUNS,
    );
  });

  it('agrees on any 32-byte string as the peer public key, low-order ones included', () => {
    fc.assert(
      fc.property(bytes32, fc.oneof(bytes32, specialU), (secretKey, publicKey) => {
        agree((p) => p.x25519(secretKey, publicKey));
      }),
      RUNS,
    );
  });

  it('gives both sides the same shared secret, across providers', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (a, b) => {
        const ab = node.x25519(a, noble.x25519PublicKey(b));
        const ba = noble.x25519(b, node.x25519PublicKey(a));
        expect(ab && hex(ab)).toBe(ba && hex(ba));
      }),
      RUNS,
    );
  });
});

/** One change to a valid (public key, message, signature) triple. */
type Mutation =
  | { readonly kind: 'flipSignatureBit'; readonly bit: number }
  | { readonly kind: 'setSignatureByte'; readonly index: number; readonly value: number }
  | { readonly kind: 'addMultipleOfLToS'; readonly multiple: number }
  | { readonly kind: 'replaceR'; readonly r: Uint8Array }
  | { readonly kind: 'replaceS'; readonly s: Uint8Array }
  | { readonly kind: 'replaceSignature'; readonly signature: Uint8Array }
  | { readonly kind: 'flipMessageBit'; readonly bit: number }
  | { readonly kind: 'replacePublicKey'; readonly publicKey: Uint8Array }
  | { readonly kind: 'flipPublicKeyBit'; readonly bit: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat(511).map((bit) => ({ kind: 'flipSignatureBit', bit }) as const),
  fc
    .tuple(fc.nat(63), fc.nat(255))
    .map(([index, value]) => ({ kind: 'setSignatureByte', index, value }) as const),
  fc
    .integer({ min: 1, max: 15 })
    .map((multiple) => ({ kind: 'addMultipleOfLToS', multiple }) as const),
  bytes32.map((r) => ({ kind: 'replaceR', r }) as const),
  bytes32.map((s) => ({ kind: 'replaceS', s }) as const),
  bytes(0, 80).map((signature) => ({ kind: 'replaceSignature', signature }) as const),
  fc.nat(1023).map((bit) => ({ kind: 'flipMessageBit', bit }) as const),
  fc
    .oneof(bytes32, specialU)
    .map((publicKey) => ({ kind: 'replacePublicKey', publicKey }) as const),
  fc.nat(255).map((bit) => ({ kind: 'flipPublicKeyBit', bit }) as const),
);

interface Signed {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

function mutate(signed: Signed, change: Mutation): Signed {
  const { publicKey, message, signature } = signed;
  switch (change.kind) {
    case 'flipSignatureBit':
      return { ...signed, signature: flipBit(signature, change.bit % (8 * signature.length || 1)) };
    case 'setSignatureByte': {
      const copy = Uint8Array.from(signature);
      if (copy.length > 0) copy[change.index % copy.length] = change.value;
      return { ...signed, signature: copy };
    }
    case 'addMultipleOfLToS': {
      if (signature.length !== 64) return signed;
      const s = decodeLittleEndian(signature.subarray(32)) + BigInt(change.multiple) * L;
      if (s >= 2n ** 256n) return signed;
      const copy = Uint8Array.from(signature);
      copy.set(encodeLittleEndian(s, 32), 32);
      return { ...signed, signature: copy };
    }
    case 'replaceR':
      return { ...signed, signature: Uint8Array.from([...change.r, ...signature.subarray(32)]) };
    case 'replaceS':
      return { ...signed, signature: Uint8Array.from([...signature.subarray(0, 32), ...change.s]) };
    case 'replaceSignature':
      return { ...signed, signature: change.signature };
    case 'flipMessageBit':
      return message.length === 0
        ? { ...signed, message: Uint8Array.of(change.bit & 0xff) }
        : { ...signed, message: flipBit(message, change.bit % (8 * message.length)) };
    case 'replacePublicKey':
      return { ...signed, publicKey: change.publicKey };
    case 'flipPublicKeyBit':
      return { ...signed, publicKey: flipBit(publicKey, change.bit) };
  }
}

const same = (a: Signed, b: Signed): boolean =>
  hex(a.publicKey) === hex(b.publicKey) &&
  hex(a.message) === hex(b.message) &&
  hex(a.signature) === hex(b.signature);

describe('Ed25519 (RFC 8032 §5.1)', () => {
  it('derives the same public key and signature, and both verify it', () => {
    fc.assert(
      fc.property(bytes32, bytes(0, 300), (seed, message) => {
        const publicKey = agree((p) => p.ed25519PublicKey(seed));
        const signature = agree((p) => p.ed25519Sign(seed, message));
        expect(publicKey).toBe(hex(ed25519.getPublicKey(seed)));
        expect(agree((p) => p.ed25519Verify(fromHex(publicKey), message, fromHex(signature)))).toBe(
          'true',
        );
      }),
      SLOW_RUNS,
    );
  });

  it('agrees on mutated signatures, messages and public keys, and rejects every change', () => {
    fc.assert(
      fc.property(
        bytes32,
        bytes(0, 128),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (seed, message, changes) => {
          const valid: Signed = {
            publicKey: noble.ed25519PublicKey(seed),
            message,
            signature: noble.ed25519Sign(seed, message),
          };
          const tampered = changes.reduce(mutate, valid);
          const verdict = agree((p) =>
            p.ed25519Verify(tampered.publicKey, tampered.message, tampered.signature),
          );
          expect(verdict).toBe(same(tampered, valid) ? 'true' : 'false');
        },
      ),
      SLOW_RUNS,
    );
  });

  it('agrees on random public keys and signatures', () => {
    fc.assert(
      fc.property(fc.oneof(bytes32, specialU), bytes(0, 64), bytes(64, 64), (pk, msg, sig) => {
        agree((p) => p.ed25519Verify(pk, msg, sig));
      }),
      SLOW_RUNS,
    );
  });
});

/** One change to a sealed box or to the parameters it is opened with. */
type BoxMutation =
  | { readonly kind: 'flipBoxBit'; readonly bit: number }
  | { readonly kind: 'truncate'; readonly length: number }
  | { readonly kind: 'append'; readonly extra: Uint8Array }
  | { readonly kind: 'replaceBox'; readonly box: Uint8Array }
  | { readonly kind: 'flipAadBit'; readonly bit: number }
  | { readonly kind: 'flipNonceBit'; readonly bit: number }
  | { readonly kind: 'flipKeyBit'; readonly bit: number };

const boxMutation: fc.Arbitrary<BoxMutation> = fc.oneof(
  fc.nat(4095).map((bit) => ({ kind: 'flipBoxBit', bit }) as const),
  fc.nat(400).map((length) => ({ kind: 'truncate', length }) as const),
  bytes(1, 20).map((extra) => ({ kind: 'append', extra }) as const),
  bytes(0, 80).map((box) => ({ kind: 'replaceBox', box }) as const),
  fc.nat(1023).map((bit) => ({ kind: 'flipAadBit', bit }) as const),
  fc.nat(95).map((bit) => ({ kind: 'flipNonceBit', bit }) as const),
  fc.nat(255).map((bit) => ({ kind: 'flipKeyBit', bit }) as const),
);

interface Box {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  readonly aad: Uint8Array;
  readonly sealed: Uint8Array;
}

function mutateBox(box: Box, change: BoxMutation): Box {
  switch (change.kind) {
    case 'flipBoxBit':
      return { ...box, sealed: flipBit(box.sealed, change.bit % (8 * box.sealed.length || 1)) };
    case 'truncate':
      return { ...box, sealed: box.sealed.slice(0, change.length % (box.sealed.length || 1)) };
    case 'append':
      return { ...box, sealed: Uint8Array.from([...box.sealed, ...change.extra]) };
    case 'replaceBox':
      return { ...box, sealed: change.box };
    case 'flipAadBit':
      return box.aad.length === 0
        ? { ...box, aad: Uint8Array.of(change.bit & 0xff) }
        : { ...box, aad: flipBit(box.aad, change.bit % (8 * box.aad.length)) };
    case 'flipNonceBit':
      return { ...box, nonce: flipBit(box.nonce, change.bit) };
    case 'flipKeyBit':
      return { ...box, key: flipBit(box.key, change.bit) };
  }
}

const sameBox = (a: Box, b: Box): boolean =>
  hex(a.key) === hex(b.key) &&
  hex(a.nonce) === hex(b.nonce) &&
  hex(a.aad) === hex(b.aad) &&
  hex(a.sealed) === hex(b.sealed);

describe('ChaCha20-Poly1305 (RFC 8439 §2.8)', () => {
  it('seals identically and both open the box', () => {
    fc.assert(
      fc.property(
        bytes32,
        bytes(12, 12),
        bytes(0, 64),
        bytes(0, 300),
        (key, nonce, aad, plaintext) => {
          const sealed = agree((p) => p.aeadSeal(key, nonce, aad, plaintext));
          expect(agree((p) => p.aeadOpen(key, nonce, aad, fromHex(sealed)))).toBe(hex(plaintext));
        },
      ),
      RUNS,
    );
  });

  it('agrees on mutated boxes and parameters, and refuses every change', () => {
    fc.assert(
      fc.property(
        bytes32,
        bytes(12, 12),
        bytes(0, 32),
        bytes(0, 64),
        fc.array(boxMutation, { minLength: 1, maxLength: 3 }),
        (key, nonce, aad, plaintext, changes) => {
          const valid: Box = {
            key,
            nonce,
            aad,
            sealed: noble.aeadSeal(key, nonce, aad, plaintext),
          };
          const tampered = changes.reduce(mutateBox, valid);
          const opened = agree((p) =>
            p.aeadOpen(tampered.key, tampered.nonce, tampered.aad, tampered.sealed),
          );
          expect(opened).toBe(sameBox(tampered, valid) ? hex(plaintext) : 'undefined');
        },
      ),
      RUNS,
    );
  });
});

describe('SHA-256, HMAC-SHA256, HKDF-SHA256 (FIPS 180-4, RFC 2104, RFC 5869)', () => {
  it('hash identically', () => {
    fc.assert(
      fc.property(bytes(0, 1000), (data) => {
        agree((p) => p.sha256(data));
      }),
      RUNS,
    );
  });

  it('MAC identically, for keys shorter and longer than the 64-byte block', () => {
    fc.assert(
      fc.property(bytes(0, 200), bytes(0, 500), (key, data) => {
        agree((p) => p.hmacSha256(key, data));
      }),
      RUNS,
    );
  });

  it('derive identically, including info longer than the 1024 bytes hkdfSync accepts', () => {
    fc.assert(
      fc.property(
        bytes(0, 100),
        bytes(0, 100),
        fc.oneof(bytes(0, 64), bytes(1000, 1100)),
        fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 8160 })),
        (ikm, salt, info, length) => {
          agree((p) => p.hkdfSha256(ikm, salt, info, length));
        },
      ),
      RUNS,
    );
  });
});

describe('wrong sizes', () => {
  const wrongSize = (right: number): fc.Arbitrary<Uint8Array> =>
    bytes(0, 70).filter((b) => b.length !== right);

  it('throw the same RangeError in both providers', () => {
    fc.assert(
      fc.property(
        wrongSize(32),
        wrongSize(12),
        bytes32,
        bytes(12, 12),
        (bad32, bad12, ok32, ok12) => {
          const calls: ((p: typeof noble) => Uint8Array | boolean | undefined)[] = [
            (p) => p.x25519PublicKey(bad32),
            (p) => p.x25519(bad32, ok32),
            (p) => p.x25519(ok32, bad32),
            (p) => p.ed25519PublicKey(bad32),
            (p) => p.ed25519Sign(bad32, ok12),
            (p) => p.ed25519Verify(bad32, ok12, new Uint8Array(64)),
            (p) => p.aeadSeal(bad32, ok12, ok12, ok12),
            (p) => p.aeadSeal(ok32, bad12, ok12, ok12),
            (p) => p.aeadOpen(bad32, ok12, ok12, ok32),
            (p) => p.aeadOpen(ok32, bad12, ok12, ok32),
          ];
          for (const call of calls) expect(agree(call)).toMatch(/^RangeError: /);
        },
      ),
      RUNS,
    );
  });

  it('throw the same RangeError for HKDF lengths and random lengths out of range', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 8161, max: 100_000 }), fc.integer({ max: -1 }), fc.double()),
        (length) => {
          fc.pre(!Number.isSafeInteger(length) || length < 0 || length > 8160);
          const empty = new Uint8Array(0);
          expect(agree((p) => p.hkdfSha256(empty, empty, empty, length))).toMatch(/^RangeError: /);
          if (!Number.isSafeInteger(length) || length < 0) {
            expect(agree((p) => p.randomBytes(length))).toMatch(/^RangeError: /);
          }
        },
      ),
      RUNS,
    );
  });
});
