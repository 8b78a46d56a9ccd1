// The two CryptoProvider implementations under test, built on a deterministic random source,
// and how to compare their outcomes.
import { createNobleCrypto } from '../../../protocol/crypto/noble-provider.js';
import type { CryptoProvider, RandomSource } from '../../../protocol/crypto/provider.js';
import { createNodeCrypto } from '../../../src/core/node-crypto-provider.js';
import { hex } from '../../support/hex.js';

/** A fixed byte pattern: these tests never depend on the quality of randomness. */
export const patternRandom: RandomSource = (length) =>
  Uint8Array.from({ length }, (_, i) => (i * 151 + 17) & 0xff);

export const noble = createNobleCrypto(patternRandom);
export const node = createNodeCrypto(patternRandom);

/** Both providers, for `describe.each(PROVIDERS)('$name', ...)`. */
export const PROVIDERS: readonly CryptoProvider[] = [noble, node];

/** The provider that is not `provider`, to assert agreement on outcomes a spec leaves open. */
export function otherThan(provider: CryptoProvider): CryptoProvider {
  return provider === noble ? node : noble;
}

/** The outcome of a call as a comparable value: hex output, `undefined`, or the error thrown. */
export function outcome(run: () => Uint8Array | boolean | undefined): string {
  try {
    const value = run();
    return value instanceof Uint8Array ? hex(value) : String(value);
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : 'thrown non-Error';
  }
}
