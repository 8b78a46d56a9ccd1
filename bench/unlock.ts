/**
 * bench/unlock — unlocks at full fidelity (ARCHITECTURE.md §7, §8: "full-fidelity unlock
 * (connect, Noise, credential, actuate, passive sync), node crypto: ≥ 70 % of the crypto floor
 * measured in the same run; ≥ 2,000 unlocks/s/core") and the issue 5 report of a lossy radio.
 *
 * 1. The crypto floor (node:crypto): the public-key operations one unlock needs, timed alone —
 *    2 X25519 key generations (the two ephemerals), 6 X25519 agreements (es, ee, se on each
 *    side) and 1 Ed25519 verification (the credential, at admission). Floor = 1 / their time.
 * 2. Protocol unlocks: a phone's `PhoneSession` against an R's whole firmware in a World
 *    (`lock.connect` / `write` / `disconnect`): frames cut at ATT_MTU 247 and reassembled, Noise
 *    XK, CBOR messages, the credential's signature, the authorization, the relay, the audit
 *    append and a pull of that record. Nothing to push (the lock holds the newest bundle), so
 *    passive sync is message 2's status and the audit pull. Synchronous: no radio, no promises.
 * 3. Engine unlocks: the same through the phone engine (`src/phone`), the virtual radio and the
 *    async driver — scan, connect, link-layer events, every step a promise settled on the
 *    World's scheduler. 50 R locks 100 m apart, a resident's phone at each (offline once its
 *    credential is delivered, so no cloud call is timed); the unlocks go round the locks.
 * Rates are unlocks per CPU-second of this process (phone and lock share the core), best of
 * three; outputs are checked before timing.
 * 4. Lossy radio (fixed seed): for packet loss 0, 2, 5, 10 % (and 20, 30 %), 200 unlocks by 10
 *    residents' phones at one R, one every 10 s of virtual time: success rate, p50 / p95 latency
 *    of the successful ones (virtual ms from `Started` to `Success`), failures by reason,
 *    attempts, and whether the lock's state is sound afterwards (every decision in the audit
 *    ring, in sequence; the bundle the phones carried applied whole).
 *
 * Run: npm run build --silent && node dist/bench/unlock.js   (writes bench/results/unlock-<time>.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BleLink } from '../firmware-sim/ble-server.js';
import type { Effects } from '../firmware-sim/effects.js';
import type { CryptoProvider } from '../protocol/crypto/provider.js';
import { fragment } from '../protocol/frame-codec.js';
import { decodeMessage, encodeMessage, RESULT_OK } from '../protocol/messages.js';
import type { Message, MessageBody } from '../protocol/messages.js';
import type { KeyPair } from '../protocol/noise/handshake-xk.js';
import { generateKeyPair } from '../protocol/noise/handshake-xk.js';
import { SUPPORTED_VERSIONS } from '../protocol/noise/prologue.js';
import { PhoneSession } from '../protocol/noise/session.js';
import { Reassembler } from '../protocol/reassembler.js';
import type { Result } from '../protocol/result.js';
import { Cloud } from '../src/cloud/cloud.js';
import type { Door } from '../src/cloud/cloud.js';
import { createNodeCrypto } from '../src/core/node-crypto-provider.js';
import { Phone } from '../src/phone/phone.js';
import type { UnlockResult } from '../src/phone/unlock-events.js';
import { advanceAsync, runPromise } from '../src/sim/async.js';
import { World } from '../src/sim/world.js';
import { VirtualRadio } from '../src/transport/virtual-radio.js';
import type { VirtualRadioOptions } from '../src/transport/virtual-radio.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: this file runs from dist/bench/. */
const root = join(here, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 2);
const MTU = 247;
const ENGINE_LOCKS = 50;
/** The issue asks for 0–10 %; 20 and 30 % show where the link starts to give way. */
const LOSS_RATES = [0, 0.02, 0.05, 0.1, 0.2, 0.3];
const LOSSY_UNLOCKS = 200;
const LOSSY_PHONES = 10;
const LOSSY_GAP_MS = 10_000;
const SEED = 'bench/unlock';
const START = Date.UTC(2026, 2, 2, 15);

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/**
 * Runs `once` for SECONDS of CPU after a warm-up; operations per CPU-second. The clock is read
 * every 16 operations: `process.cpuUsage` costs about a tenth of an unlock.
 */
function rate(once: () => void): number {
  for (let i = 0; i < 20; i++) once();
  let done = 0;
  const start = cpuSeconds();
  while (cpuSeconds() - start < SECONDS) {
    for (let i = 0; i < 16; i++) once();
    done += 16;
  }
  return done / (cpuSeconds() - start);
}

async function rateAsync(batch: () => Promise<number>): Promise<number> {
  await batch();
  let done = 0;
  const start = cpuSeconds();
  while (cpuSeconds() - start < SECONDS) done += await batch();
  return done / (cpuSeconds() - start);
}

function best(measure: () => number): number {
  return Math.max(measure(), measure(), measure());
}

function must<T>(result: Result<T>, step: string): T {
  if (!result.ok) throw new Error(`${step} failed with code ${result.code}`);
  return result.value;
}

interface Building {
  readonly world: World;
  readonly cloud: Cloud;
  readonly radio: VirtualRadio<Effects>;
}

function building(seed: string, radio: VirtualRadioOptions = {}): Building {
  const world = new World({ seed, start: START });
  const cloud = new Cloud({
    timeZone: 'America/New_York',
    crypto: world.crypto,
    random: world.random.fork('cloud').bytes,
    clock: () => world.now(),
  });
  return { world, cloud, radio: new VirtualRadio(world, radio) };
}

/** An R in the cloud and in the World, holding its newest bundle. */
function commissionR({ world, cloud }: Building, name: string): Door {
  const door = cloud.addDoor({ name, model: 'R' });
  world.addLock({ id: door.id, model: 'R', wiring: 'fail-secure', ...door.provisioning });
  return door;
}

function pushNewest({ world, cloud }: Building, door: Door): void {
  const version = must(world.pushSealedBundle(door.id, cloud.bundleFor(door.id).sealed), 'push');
  cloud.acknowledgeBundle(door.id, version);
}

/** A resident of `doors` (one key each); returns the user id. */
function resident({ cloud }: Building, doors: readonly Door[], name: string): string {
  const user = cloud.addUser({ name, role: 'resident' });
  for (const door of doors) cloud.shareKey(cloud.createKey({ doors: [door.id] }).id, user.id);
  return user.id;
}

// ---- 1. the crypto floor ----

interface Floor {
  readonly keyGenerations: number;
  readonly agreements: number;
  readonly verifications: number;
  /** Unlocks per second if the public-key operations were all an unlock cost. */
  readonly unlocks: number;
}

function cryptoFloor(crypto: CryptoProvider, credentialBytes: number): Floor {
  const peer = generateKeyPair(crypto);
  // A key generation takes a fresh secret (as each ephemeral is); an agreement reuses one.
  const keyGenerations = best(() => rate(() => crypto.x25519PublicKey(crypto.randomBytes(32))));
  const secret = crypto.randomBytes(32);
  const agreements = best(() => rate(() => crypto.x25519(secret, peer.publicKey)));
  const seed = crypto.randomBytes(32);
  const signer = crypto.ed25519PublicKey(seed);
  const message = new Uint8Array(credentialBytes).fill(7);
  const signature = crypto.ed25519Sign(seed, message);
  if (!crypto.ed25519Verify(signer, message, signature)) throw new Error('Ed25519 self-check');
  const verifications = best(() => rate(() => crypto.ed25519Verify(signer, message, signature)));
  const seconds = 2 / keyGenerations + 6 / agreements + 1 / verifications;
  return { keyGenerations, agreements, verifications, unlocks: 1 / seconds };
}

// ---- 2. protocol unlocks: a phone session against the lock firmware, synchronously ----

/** The lock's end of a link: notifications queue until the phone reads them. */
class QueueLink implements BleLink {
  readonly inbox: Uint8Array[] = [];
  closed = false;
  notify(fragment: Uint8Array): void {
    this.inbox.push(fragment);
  }
  close(): void {
    this.closed = true;
  }
}

interface ProtocolPhone {
  readonly crypto: CryptoProvider;
  readonly staticKey: KeyPair;
  readonly credential: Uint8Array;
}

/** One unlock at full fidelity without a radio; returns the unlock's result code. */
function protocolUnlock(world: World, door: Door, phone: ProtocolPhone): number {
  const link = new QueueLink();
  const now = world.now();
  if (!world.withLock(door.id, (lock, t, out) => lock.connect(link, MTU, t, out))) {
    throw new Error('the lock refused the link');
  }
  const reassembler = new Reassembler();
  const send = (message: Uint8Array): void => {
    for (const piece of fragment(message, MTU)) {
      world.withLock(door.id, (lock, t, out) => lock.write(link, piece, t, out));
    }
  };
  const receive = (): Uint8Array => {
    let message: Uint8Array | undefined;
    while (link.inbox.length > 0) {
      const pushed = must(reassembler.push(link.inbox.shift()!, now), 'reassembly');
      if (pushed !== undefined) message = pushed;
    }
    if (message === undefined) throw new Error('the lock did not answer');
    return message;
  };
  const session = new PhoneSession({
    crypto: phone.crypto,
    phoneStaticKey: phone.staticKey,
    lockStaticKey: door.staticKey.publicKey,
    lockId: door.lockId,
    lockVersions: SUPPORTED_VERSIONS,
    now,
  });
  let nextId = 1;
  const request = <T extends Message['type']>(type: T, body: MessageBody<T>): Message => {
    const plaintext = encodeMessage({ type, id: nextId++, body } as Message);
    send(must(session.encrypt(plaintext, now), 'encrypt'));
    return must(decodeMessage(must(session.decrypt(receive(), now), 'decrypt')), 'decode');
  };
  send(must(session.writeMessage1(now), 'message 1'));
  const status = must(decodeMessage(must(session.readMessage2(receive(), now), 'message 2')), '2');
  if (status.type !== 'status-response') throw new Error('message 2: not a status');
  send(must(session.writeMessage3(phone.credential, now), 'message 3'));
  const unlocked = request('unlock-request', {});
  if (unlocked.type !== 'unlock-response') throw new Error('no unlock response');
  const pulled = request('audit-pull-request', { from: status.body.auditHead, maxRecords: 32 });
  if (pulled.type !== 'audit-pull-response') throw new Error('no audit');
  world.withLock(door.id, (lock, t, out) => lock.disconnect(link, t, out));
  return unlocked.body.result;
}

function protocolRate(): { unlocks: number; credentialBytes: number } {
  const b = building(`${SEED}/protocol`);
  const door = commissionR(b, 'Lobby');
  const crypto = createNodeCrypto(b.world.random.fork('phone').bytes);
  const staticKey = generateKeyPair(crypto);
  const userId = resident(b, [door], 'Resident');
  const [issued] = b.cloud.registerPhone(userId, staticKey.publicKey);
  if (issued === undefined) throw new Error('no credential issued');
  pushNewest(b, door);
  const phone = { crypto, staticKey, credential: issued.signed };
  const once = (): void => {
    if (protocolUnlock(b.world, door, phone) !== RESULT_OK) throw new Error('unlock refused');
    // The relay's hold runs out between residents.
    b.world.advance(5_000);
  };
  once();
  const grants = b.world.eventsOf(door.id).filter((e) => e.type === 'ACCESS').length;
  if (grants !== 1) throw new Error('the lock did not log the unlock');
  return { unlocks: best(() => rate(once)), credentialBytes: issued.signed.length };
}

// ---- 3. engine unlocks over the virtual radio ----

async function phoneAt(
  b: Building,
  userId: string,
  name: string,
  x: number,
  y = 0,
): Promise<Phone> {
  const phone = new Phone({
    transport: b.radio.phone({ position: { x, y } }),
    crypto: createNodeCrypto(b.world.random.fork(`phone:${name}`).bytes),
    random: b.world.random.fork(`phone:${name}:jitter`).bytes,
    cloud: b.cloud,
  });
  b.cloud.registerPhone(userId, phone.publicKey);
  phone.setUp(userId);
  const fetched = await runPromise(b.world, phone.fetchLocks());
  if (!fetched.ok) throw new Error('fetchLocks failed');
  return phone;
}

async function engineRate(): Promise<number> {
  const b = building(`${SEED}/engine`);
  const pairs: { door: Door; phone: Phone }[] = [];
  for (let i = 0; i < ENGINE_LOCKS; i++) {
    const door = commissionR(b, `Door ${i}`);
    b.radio.addLock(door.id, { position: { x: 100 * i, y: 0 } });
    const phone = await phoneAt(b, resident(b, [door], `Resident ${i}`), `r${i}`, 100 * i + 2);
    pairs.push({ door, phone });
  }
  // The first unlock delivers each credential; from then on the phones are offline.
  for (const { door, phone } of pairs) {
    const result = await runPromise(b.world, phone.unlock(door.id).result);
    if (result.outcome !== 'success') throw new Error(`engine unlock: ${result.outcome}`);
    phone.setOnline(false);
  }
  const batch = async (): Promise<number> => {
    for (const { door, phone } of pairs) {
      const result = await runPromise(b.world, phone.unlock(door.id).result);
      if (result.outcome !== 'success') throw new Error(`engine unlock: ${result.outcome}`);
    }
    return pairs.length;
  };
  return Math.max(await rateAsync(batch), await rateAsync(batch), await rateAsync(batch));
}

// ---- 4. the lossy radio ----

interface LossyReport {
  readonly lossRate: number;
  readonly unlocks: number;
  readonly successes: number;
  readonly successRate: number;
  /** Virtual ms of successful unlocks. */
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly meanAttempts: number;
  readonly failures: Record<string, number>;
  readonly stateSound: boolean;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function lossy(lossRate: number): Promise<LossyReport> {
  const b = building(`${SEED}/lossy`, { lossRate });
  const door = commissionR(b, 'Entrance');
  b.radio.addLock(door.id, { position: { x: 0, y: 0 } });
  pushNewest(b, door);
  const phones: Phone[] = [];
  for (let i = 0; i < LOSSY_PHONES; i++) {
    const userId = resident(b, [door], `Resident ${i}`);
    phones.push(await phoneAt(b, userId, `r${i}`, 2 + 2 * i, 1));
  }
  // The bundle every phone carries: the one with all ten residents' credentials.
  const carried = b.cloud.bundleFor(door.id).version;
  const results: UnlockResult[] = [];
  for (let n = 0; n < LOSSY_UNLOCKS; n++) {
    results.push(await runPromise(b.world, phones[n % LOSSY_PHONES]!.unlock(door.id).result));
    await advanceAsync(b.world, LOSSY_GAP_MS);
  }
  const successes = results.filter((r) => r.outcome === 'success');
  const latencies = successes.map((r) => r.endedAt - r.startedAt).sort((x, y) => x - y);
  const failures: Record<string, number> = {};
  for (const r of results) {
    if (r.outcome !== 'failed') continue;
    const detail = 'detail' in r.reason ? `: ${String(r.reason.detail)}` : '';
    const key = `${r.reason.kind}${detail}`;
    failures[key] = (failures[key] ?? 0) + 1;
  }
  // Sound: every decision the lock logged is in its audit ring, in sequence, and it holds the
  // bundle the phones carried (applied whole, never a mix).
  const lock = b.world.lock(door.id);
  const decisions = b.world.eventsOf(door.id).filter((e) => e.type === 'ACCESS').length;
  let inSequence = true;
  for (let from = lock.audit.tail; from < lock.audit.head; from += 32) {
    lock.audit.records(from, 32).forEach((r, i) => (inSequence &&= r.seq === from + i));
  }
  const stateSound = lock.audit.head === decisions && inSequence && lock.sync.version === carried;
  return {
    lossRate,
    unlocks: results.length,
    successes: successes.length,
    successRate: successes.length / results.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    meanAttempts: results.reduce((sum, r) => sum + r.attempts, 0) / results.length,
    failures,
    stateSound,
  };
}

async function main(): Promise<void> {
  console.log(`bench/unlock: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('unlocks per CPU-second, node:crypto, phone and lock on one core\n');

  const protocol = protocolRate();
  const floor = cryptoFloor(
    createNodeCrypto(new World({ seed: `${SEED}/floor` }).random.bytes),
    protocol.credentialBytes,
  );
  const engine = await engineRate();
  const k = (x: number): string => `${x.toFixed(0).padStart(7)} /s`;
  console.log(`  X25519 key generation                  ${k(floor.keyGenerations)}`);
  console.log(`  X25519 agreement                       ${k(floor.agreements)}`);
  console.log(`  Ed25519 verification                   ${k(floor.verifications)}`);
  console.log(`  crypto floor (2 keygen + 6 DH + 1 verify) ${k(floor.unlocks)} unlocks`);
  console.log(
    `  protocol unlocks (frames, Noise, CBOR, firmware) ${k(protocol.unlocks)}   ${(
      (100 * protocol.unlocks) /
      floor.unlocks
    ).toFixed(0)} % of the floor`,
  );
  console.log(
    `  engine unlocks (phone engine, virtual radio)     ${k(engine)}   ${(
      (100 * engine) /
      floor.unlocks
    ).toFixed(0)} % of the floor`,
  );
  console.log('  targets: ≥ 70 % of the floor, ≥ 2,000 unlocks/s/core (ARCHITECTURE.md §8)');

  console.log(
    `\nlossy radio: ${LOSSY_UNLOCKS} unlocks by ${LOSSY_PHONES} phones at one R, seed "${SEED}/lossy"`,
  );
  const lossyReports: LossyReport[] = [];
  for (const lossRate of LOSS_RATES) {
    const r = await lossy(lossRate);
    lossyReports.push(r);
    const failed = Object.entries(r.failures)
      .map(([reason, n]) => `${reason} ×${n}`)
      .join(', ');
    console.log(
      `  loss ${(100 * lossRate).toFixed(0).padStart(2)} %: success ${(100 * r.successRate).toFixed(1).padStart(5)} %, ` +
        `p50 ${r.p50Ms.toFixed(0).padStart(5)} ms, p95 ${r.p95Ms.toFixed(0).padStart(5)} ms, ` +
        `attempts ${r.meanAttempts.toFixed(2)}, state ${r.stateSound ? 'sound' : 'NOT SOUND'}` +
        (failed === '' ? '' : `; failed: ${failed}`),
    );
  }

  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `unlock-${new Date().toISOString().replaceAll(':', '-')}.json`);
  const results = {
    bench: 'unlock',
    node: process.version,
    cpu: cpus()[0]?.model,
    seconds: SECONDS,
    seed: SEED,
    floor,
    protocolUnlocks: protocol.unlocks,
    protocolOverFloor: protocol.unlocks / floor.unlocks,
    engineUnlocks: engine,
    engineOverFloor: engine / floor.unlocks,
    engineLocks: ENGINE_LOCKS,
    lossy: lossyReports,
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

await main();
