/**
 * bench/ble — wall-clock unlock latency with the real stacks (ARCHITECTURE.md §6 "Transports";
 * issue 7): the phone engine on noble unlocks a virtual M on bleno, each stack on its own virtual
 * HCI controller of one virtual air with no added latency (`latencyMs` 0: a packet crosses on
 * the next turn of the event loop), the lock's World on the wall clock. What is measured is what
 * the stacks and keyway cost on this host: HCI encoding and flow control in both stacks, GATT
 * discovery, Noise XK, CBOR, the firmware, audit pull, in one process on one core.
 *
 * Each unlock is timed from `Started` to `Success` and split where the phone asks the transport
 * to connect: the scan before it (the phone scans for a fixed `scanMs`, 300 ms here rather than the engine's default
 * 1 s, so it is mostly that wait) and the connection after it (connect, MTU, discovery,
 * subscription, handshake, unlock, audit pull, disconnect). Two set-ups: the defaults (ATT_MTU
 * 256 agreed, the phone writes at 247, 251-byte LE buffers × 8) and the least (ATT_MTU 23, one
 * 27-byte LE buffer per controller). The first unlock of each set-up is checked (success, the
 * lock's ACCESS record) and not timed, nor are two more warm-up runs; p50 / p95 over the rest.
 *
 * Run: npm run build --silent && node dist/bench/ble.js   (writes bench/results/ble-<time>.json)
 * BENCH_SECONDS scales the number of timed unlocks (default 1: 20 per set-up).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from '../protocol/noise/handshake-xk.js';
import { bleBuilding, provisionPhone } from '../src/cli/commands/ble-building.js';
import { createNodeCrypto } from '../src/core/node-crypto-provider.js';
import { Phone } from '../src/phone/phone.js';
import type { Bleno } from '../src/transport/bleno/bleno-api.js';
import { LockPeripheral } from '../src/transport/bleno/lock-peripheral.js';
import { NobleCentral } from '../src/transport/noble/central.js';
import type { Noble } from '../src/transport/noble/noble-api.js';
import type { CentralTransport } from '../src/transport/types.js';
import {
  loadBlenoWithVirtualHci,
  loadNobleWithVirtualHci,
  VirtualAir,
} from '../src/transport/virtual-hci/index.js';
import type { AclBuffers } from '../src/transport/virtual-hci/index.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: this file runs from dist/bench/. */
const root = join(here, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 1);
const TIMED = Math.max(5, Math.round(20 * SECONDS));
const WARM_UP = 2;
const SCAN_MS = 300;

interface SetUp {
  readonly name: string;
  /** The lock's ATT_MTU limit, and what the phone asks for. */
  readonly lockMtu?: number;
  readonly phoneMtu?: number;
  readonly buffers?: AclBuffers;
}

interface Latency {
  readonly p50: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

/** Sub-millisecond wall clock, ms since the Unix epoch. */
const clock = (): number => performance.timeOrigin + performance.now();

function percentiles(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p95: at(0.95), min: sorted[0]!, max: sorted.at(-1)! };
}

async function measure(setUp: SetUp): Promise<{
  total: Latency;
  scan: Latency;
  connection: Latency;
  unlocks: number;
}> {
  const building = bleBuilding({
    model: 'M',
    doorName: 'Bench',
    seed: `bench/ble/${setUp.name}`,
    now: Date.now(),
  });
  building.driver.start();
  const air = new VirtualAir(
    setUp.buffers === undefined ? {} : { linkLayerPayloadBytes: setUp.buffers.length },
  );
  const controller = setUp.buffers === undefined ? {} : { leAclBuffers: setUp.buffers };
  const lockStack = await loadBlenoWithVirtualHci(air, controller);
  const phoneStack = await loadNobleWithVirtualHci(air, controller);
  const peripheral = await LockPeripheral.start({
    host: building.driver,
    lockId: building.door.id,
    info: building.info,
    bleno: lockStack.bleno as unknown as Bleno,
    ...(setUp.lockMtu === undefined ? {} : { maxMtu: setUp.lockMtu }),
  });
  let disconnects = 0;
  peripheral.onEvent((event) => {
    if (event.type === 'disconnect') disconnects++;
  });
  const central = await NobleCentral.open({ noble: phoneStack.noble as unknown as Noble, clock });
  const crypto = createNodeCrypto(building.world.random.fork('phone').bytes);
  const provision = provisionPhone(building, generateKeyPair(crypto));
  // When the phone, its scan done, asks to connect: splits scan from connection.
  let connectCalledAt = 0;
  const transport: CentralTransport = {
    now: () => central.now(),
    sleep: (ms) => central.sleep(ms),
    scan: (ms) => central.scan(ms),
    connect: (address, options) => {
      connectCalledAt = central.now();
      return central.connect(address, options);
    },
  };
  const phone = new Phone({
    transport,
    crypto,
    random: building.world.random.fork('jitter').bytes,
    cloud: building.cloud,
    staticKey: provision.staticKey,
    timing: { scanMs: SCAN_MS, ...(setUp.phoneMtu === undefined ? {} : { mtu: setUp.phoneMtu }) },
  });
  phone.setUp(provision.token);
  if (!(await phone.fetchLocks()).ok) throw new Error('bench/ble: the phone package was refused');

  const total: number[] = [];
  const scan: number[] = [];
  const connection: number[] = [];
  for (let i = 0; i < 1 + WARM_UP + TIMED; i++) {
    const run = phone.unlock(building.door.id);
    const result = await run.result;
    if (result.outcome !== 'success') throw new Error(`bench/ble: unlock ${i} ${result.outcome}`);
    // The next run starts once the lock has seen this one's central go.
    while (disconnects <= i) await new Promise((resolve) => setTimeout(resolve, 1));
    if (i === 0) {
      const access = building.world.eventsOf(building.door.id).filter((e) => e.type === 'ACCESS');
      if (access.length !== 1 || access[0]!['result'] !== 'SUCCESS') {
        throw new Error('bench/ble: the lock did not record the first unlock');
      }
    }
    if (i <= WARM_UP) continue;
    const connect = connectCalledAt;
    total.push(result.endedAt - result.startedAt);
    scan.push(connect - result.startedAt);
    connection.push(result.endedAt - connect);
  }
  await central.close();
  await peripheral.stop();
  phoneStack.close();
  lockStack.close();
  air.close();
  building.driver.stop();
  return {
    total: percentiles(total),
    scan: percentiles(scan),
    connection: percentiles(connection),
    unlocks: total.length,
  };
}

const SET_UPS: readonly SetUp[] = [
  { name: 'defaults (ATT_MTU 256, LE buffers 251 × 8)' },
  {
    name: 'least (ATT_MTU 23, one 27-byte LE buffer)',
    lockMtu: 23,
    phoneMtu: 23,
    buffers: { length: 27, count: 1 },
  },
];

const ms = (value: number): string => `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  console.log(
    `bench/ble: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; virtual HCI pair, air latency 0, phone scan ${SCAN_MS} ms, ${TIMED} timed unlocks per set-up`,
  );
  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  for (const setUp of SET_UPS) {
    const measured = await measure(setUp);
    results[setUp.name] = measured;
    console.log(`  ${setUp.name}`);
    console.log(
      `    unlock (Started → Success)   p50 ${ms(measured.total.p50)}   p95 ${ms(measured.total.p95)}`,
    );
    console.log(
      `    scan (the phone's ${SCAN_MS} ms)     p50 ${ms(measured.scan.p50)}   p95 ${ms(measured.scan.p95)}`,
    );
    console.log(
      `    connection → disconnect      p50 ${ms(measured.connection.p50)}   p95 ${ms(measured.connection.p95)}`,
    );
  }
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `ble-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ bench: 'ble', node: process.version, cpu: cpus()[0]?.model, seconds: SECONDS, scanMs: SCAN_MS, airLatencyMs: 0, results }, null, 2)}\n`,
  );
  console.log(`  wrote ${file}`);
}

await main();
