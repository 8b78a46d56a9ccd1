/**
 * bench/protocol — the protocol layer's speed (ARCHITECTURE.md §8). Per crypto provider: full
 * Noise XK handshakes per second, and their cost against the floor of the raw public-key
 * operations they need, measured in the same run (2 X25519 key generations, 6 X25519 agreements
 * and the credential's Ed25519 verification; target ≥ 0.8). Frames fragmented and reassembled,
 * and messages encoded and decoded, per second. Outputs are checked before timing; rates are per
 * CPU-second of this process, the best of three rounds (this machine's neighbours come and go; a
 * handshake and its floor are measured in the same round).
 *
 * Run: npm run bench   (writes bench/results/protocol-<time>.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNobleCrypto } from '../protocol/crypto/noble-provider.js';
import type { CryptoProvider, RandomSource } from '../protocol/crypto/provider.js';
import { fragment } from '../protocol/frame-codec.js';
import { decodeMessage, encodeMessage, type Message } from '../protocol/messages.js';
import { generateKeyPair } from '../protocol/noise/handshake-xk.js';
import { LockSession, PhoneSession } from '../protocol/noise/session.js';
import { Reassembler } from '../protocol/reassembler.js';
import { createNodeCrypto } from '../src/core/node-crypto-provider.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 1);
const ROUNDS = 3;

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Runs `once` until SECONDS of CPU have passed, after a warm-up; operations per CPU-second. */
function rate(once: (i: number) => void): number {
  for (let i = 0; i < 20; i++) once(i);
  let done = 0;
  const start = cpuSeconds();
  while (cpuSeconds() - start < SECONDS) once(done++);
  return done / (cpuSeconds() - start);
}

/** The best of ROUNDS measurements. */
function best(measure: () => number): number {
  let fastest = 0;
  for (let round = 0; round < ROUNDS; round++) fastest = Math.max(fastest, measure());
  return fastest;
}

/** A counter-based byte source: deterministic, cheap, never the bottleneck. */
function counterRandom(): RandomSource {
  let counter = 0;
  return (length) =>
    Uint8Array.from({ length }, () => (counter = (counter * 1103515245 + 12345) >>> 0) >>> 24);
}

function must<T>(result: { ok: true; value: T } | { ok: false; code: number }, step: string): T {
  if (!result.ok) throw new Error(`${step} failed with code ${result.code}`);
  return result.value;
}

const lockId = Uint8Array.from({ length: 16 }, (_, i) => i);
const credential = new Uint8Array(200).fill(7);
const status = new Uint8Array(40).fill(3);

/** One complete keyway handshake; with `roundTrip`, then one request and one response over the transport. */
function handshake(
  crypto: CryptoProvider,
  lockKey: ReturnType<typeof generateKeyPair>,
  phoneKey: ReturnType<typeof generateKeyPair>,
  now: number,
  roundTrip = false,
): void {
  const phone = new PhoneSession({
    crypto,
    phoneStaticKey: phoneKey,
    lockStaticKey: lockKey.publicKey,
    lockId,
    lockVersions: [1],
    now,
  });
  const lock = new LockSession({ crypto, lockStaticKey: lockKey, lockId, now });
  must(lock.readMessage1(must(phone.writeMessage1(now), 'message 1'), now), 'read 1');
  must(phone.readMessage2(must(lock.writeMessage2(status, now), 'message 2'), now), 'read 2');
  const hello = must(
    lock.readMessage3(must(phone.writeMessage3(credential, now), 'message 3'), now),
    'read 3',
  );
  if (hello.credential.length !== credential.length) throw new Error('credential lost');
  if (!roundTrip) return;
  must(lock.decrypt(must(phone.encrypt(status, now), 'request'), now), 'decrypt request');
  must(phone.decrypt(must(lock.encrypt(status, now), 'response'), now), 'decrypt response');
}

function benchProvider(crypto: CryptoProvider): Record<string, number> {
  const lockKey = generateKeyPair(crypto);
  const phoneKey = generateKeyPair(crypto);
  handshake(crypto, lockKey, phoneKey, 0, true);
  const secret = crypto.randomBytes(32);
  const seed = crypto.randomBytes(32);
  const signer = crypto.ed25519PublicKey(seed);
  const signature = crypto.ed25519Sign(seed, credential);
  if (!crypto.ed25519Verify(signer, credential, signature))
    throw new Error('Ed25519 self-check failed');
  let handshakes = 0;
  let keyGenerations = 0;
  let agreements = 0;
  let verifications = 0;
  for (let round = 0; round < ROUNDS; round++) {
    handshakes = Math.max(
      handshakes,
      rate((i) => handshake(crypto, lockKey, phoneKey, i)),
    );
    // A key generation takes a fresh secret (as each ephemeral is); an agreement reuses one (each
    // handshake secret is used more than once, and providers may keep it imported).
    keyGenerations = Math.max(
      keyGenerations,
      rate(() => crypto.x25519PublicKey(crypto.randomBytes(32))),
    );
    agreements = Math.max(
      agreements,
      rate(() => crypto.x25519(secret, lockKey.publicKey)),
    );
    verifications = Math.max(
      verifications,
      rate(() => crypto.ed25519Verify(signer, credential, signature)),
    );
  }
  // The floor: the time of the public-key operations alone; the handshake adds the credential check.
  const floorSeconds = 2 / keyGenerations + 6 / agreements + 1 / verifications;
  const handshakeSeconds = 1 / handshakes + 1 / verifications;
  return {
    handshakes,
    keyGenerations,
    agreements,
    verifications,
    floorRatio: floorSeconds / handshakeSeconds,
  };
}

function benchFrames(mtu: number, size: number): { messages: number; frames: number } {
  const message = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
  const reassembler = new Reassembler();
  const frameCount = fragment(message, mtu).length;
  const once = (): void => {
    let result: ReturnType<Reassembler['push']> | undefined;
    for (const frame of fragment(message, mtu)) result = reassembler.push(frame, 0);
    if (result === undefined || !result.ok || result.value?.length !== size)
      throw new Error('reassembly failed');
  };
  once();
  const messages = best(() => rate(once));
  return { messages, frames: messages * frameCount };
}

/** A typical status response: the largest message of every connection. */
const statusMessage: Message = {
  type: 'status-response',
  id: 1,
  body: {
    model: 'M',
    firmware: '1.02',
    batteryPercent: 87,
    flags: 0,
    clockValid: true,
    syncVersion: 6,
    auditHead: 42,
    auditTail: 40,
    nonce: new Uint8Array(16).fill(9),
  },
};

function benchMessages(): { encoded: number; decoded: number } {
  const bytes = encodeMessage(statusMessage);
  const decoded = decodeMessage(bytes);
  if (!decoded.ok || decoded.value.type !== 'status-response')
    throw new Error('message round trip failed');
  return {
    encoded: best(() => rate(() => encodeMessage(statusMessage))),
    decoded: best(() =>
      rate(() => {
        if (!decodeMessage(bytes).ok) throw new Error('decode failed');
      }),
    ),
  };
}

function main(): void {
  console.log(
    `bench/protocol: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; per CPU-second\n`,
  );
  const providers = [createNobleCrypto(counterRandom()), createNodeCrypto(counterRandom())];
  const handshakes: Record<string, Record<string, number>> = {};
  for (const crypto of providers) {
    const r = benchProvider(crypto);
    handshakes[crypto.name] = r;
    console.log(
      `  ${crypto.name.padEnd(6)} handshakes ${r['handshakes']!.toFixed(0).padStart(6)}/s   ` +
        `X25519 ${r['agreements']!.toFixed(0)}/s, base ${r['keyGenerations']!.toFixed(0)}/s, Ed25519 verify ${r['verifications']!.toFixed(0)}/s   ` +
        `floor/handshake ${r['floorRatio']!.toFixed(2)} (target ≥ 0.8)`,
    );
  }
  const frames: Record<string, { messages: number; frames: number }> = {};
  console.log('');
  for (const [mtu, size] of [
    [23, 256],
    [247, 256],
    [247, 4096],
    [517, 4096],
  ] as const) {
    const r = benchFrames(mtu, size);
    frames[`mtu${mtu}-${size}B`] = r;
    console.log(
      `  frames MTU ${String(mtu).padEnd(3)} ${String(size).padStart(4)}-byte messages: ${(r.messages / 1e3).toFixed(0).padStart(6)} k messages/s, ${(r.frames / 1e6).toFixed(2)} M frames/s`,
    );
  }
  const messages = benchMessages();
  console.log(
    `\n  messages (status response, CBOR): ${(messages.encoded / 1e3).toFixed(0)} k encoded/s, ${(messages.decoded / 1e3).toFixed(0)} k decoded/s`,
  );
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `protocol-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ bench: 'protocol', node: process.version, cpu: cpus()[0]?.model, seconds: SECONDS, handshakes, frames, messages }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main();
