/**
 * The Ed25519-signed envelope of credentials and time anchors (ARCHITECTURE.md §4
 * "Credentials", "Time anchors"):
 *
 *     signed = { 0: keyId bytes(8), 1: body bytes, 2: signature bytes(64) }
 *     keyId  = SHA-256(issuer public key)[0..8)
 *     signature = Ed25519(issuer, utf8(context) ‖ 0x00 ‖ keyId ‖ body)      (RFC 8032 §5.1.6)
 *
 * The body travels as a byte string, so the verifier checks the signature over the exact
 * received bytes and decodes them only afterwards: no re-encoding, and the body parser sees
 * only authenticated input. The context string (one per format) keeps a signature on one
 * format from being accepted as another; the key id names the issuer, so a credential from
 * another property's authority fails before any curve arithmetic.
 */
import { bytes, codec, mapSchema, required } from '../cbor/schema.js';
import { ED25519_SIGNATURE_BYTES } from '../crypto/provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { WIRE_ERRORS } from '../errors.js';
import { fail, ok } from '../result.js';
import type { Result } from '../result.js';
import { bytesEqual, concatBytes } from './common.js';

export const KEY_ID_BYTES = 8;
/** What the envelope adds to its body, at most: map and field heads, key id, signature. */
export const SIGNED_OVERHEAD_BYTES = 1 + 1 + 1 + KEY_ID_BYTES + 1 + 3 + 1 + 2 + 64;

const encoder = new TextEncoder();

/** The issuer key id of an Ed25519 public key: the first 8 bytes of its SHA-256. */
export function issuerKeyId(publicKey: Uint8Array, crypto: CryptoProvider): Uint8Array {
  return crypto.sha256(publicKey).slice(0, KEY_ID_BYTES);
}

function signingInput(context: string, keyId: Uint8Array, body: Uint8Array): Uint8Array {
  return concatBytes(encoder.encode(context), Uint8Array.of(0), keyId, body);
}

/** A signed envelope codec for bodies of at most `maxBodyBytes`. */
export function signedCodec(name: string, maxBodyBytes: number) {
  const schema = mapSchema(name, {
    keyId: required(0, bytes(KEY_ID_BYTES)),
    body: required(1, bytes({ min: 1, max: maxBodyBytes })),
    signature: required(2, bytes(ED25519_SIGNATURE_BYTES)),
  });
  return codec(schema, maxBodyBytes + SIGNED_OVERHEAD_BYTES);
}
export type SignedCodec = ReturnType<typeof signedCodec>;

/** Signs `body` (already the canonical encoding) with the issuer's Ed25519 seed. */
export function signBody(
  envelope: SignedCodec,
  context: string,
  body: Uint8Array,
  issuerSeed: Uint8Array,
  crypto: CryptoProvider,
): Uint8Array {
  const keyId = issuerKeyId(crypto.ed25519PublicKey(issuerSeed), crypto);
  const signature = crypto.ed25519Sign(issuerSeed, signingInput(context, keyId, body));
  return envelope.encode({ keyId, body, signature });
}

/**
 * The body of a signed envelope, once its key id names `issuerPublicKey` and its signature
 * verifies (strictly, SECURITY.md item 11) over the exact received body bytes. `TOO_LARGE` /
 * `DECODE` / `SCHEMA` for a malformed envelope, `AUTH_FAILED` for another issuer or a bad
 * signature.
 */
export function openSigned(
  envelope: SignedCodec,
  context: string,
  bytes: Uint8Array,
  issuerPublicKey: Uint8Array,
  crypto: CryptoProvider,
): Result<Uint8Array> {
  const decoded = envelope.decode(bytes);
  if (!decoded.ok) return decoded;
  const { keyId, body, signature } = decoded.value;
  if (!bytesEqual(keyId, issuerKeyId(issuerPublicKey, crypto))) {
    return fail(WIRE_ERRORS.AUTH_FAILED, `${envelope.schema.name}: another issuer's key id`);
  }
  if (!crypto.ed25519Verify(issuerPublicKey, signingInput(context, keyId, body), signature)) {
    return fail(WIRE_ERRORS.AUTH_FAILED, `${envelope.schema.name}: bad signature`);
  }
  return ok(body);
}
