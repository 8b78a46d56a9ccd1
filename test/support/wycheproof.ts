// The Wycheproof vector files of test/vectors/wycheproof (C2SP Wycheproof, testvectors_v1): their
// shape, as far as the tests read it, and a loader.
import { readFileSync } from 'node:fs';

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofFile<Group> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly Group[];
}

export interface WycheproofCase {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
}

export interface XdhCase extends WycheproofCase {
  readonly public: string;
  readonly private: string;
  readonly shared: string;
}

export interface EddsaCase extends WycheproofCase {
  readonly msg: string;
  readonly sig: string;
}

export interface AeadCase extends WycheproofCase {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}

export interface HkdfCase extends WycheproofCase {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}

export interface MacCase extends WycheproofCase {
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
}

export interface WycheproofGroups {
  x25519: { readonly tests: readonly XdhCase[] };
  ed25519: { readonly publicKey: { readonly pk: string }; readonly tests: readonly EddsaCase[] };
  aead: { readonly tests: readonly AeadCase[] };
  hkdf: { readonly tests: readonly HkdfCase[] };
  hmac: { readonly tagSize: number; readonly tests: readonly MacCase[] };
}

const VECTORS = new URL('../vectors/wycheproof/', import.meta.url);

/** One vector file, by name, e.g. `hmac_sha256_test.json`. */
export function loadWycheproof<Group>(file: string): WycheproofFile<Group> {
  return JSON.parse(readFileSync(new URL(file, VECTORS), 'utf8')) as WycheproofFile<Group>;
}
