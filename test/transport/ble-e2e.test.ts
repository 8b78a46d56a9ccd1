// The real stacks end to end with no Bluetooth hardware (issue 7 acceptance): bleno serves a
// virtual lock (src/transport/bleno) and noble carries the phone engine (src/transport/noble),
// each on its own virtual HCI controller of one virtual air (src/transport/virtual-hci), the
// World on the wall clock (src/sim/realtime.ts). A full unlock — advertise, scan, connect, MTU,
// Noise, unlock, passive sync, disconnect — at the default MTU, at the minimum MTU and with a
// single LE buffer; the phone side's btsnoop capture is read back with tshark.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Peripheral as NoblePeripheral } from '@abandonware/noble';
import { afterEach, describe, expect, it } from 'vitest';
import { CHARACTERISTICS, decodeLockInfo, SERVICE_UUID } from '../../protocol/gatt.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import { bleBuilding } from '../../src/cli/commands/ble-building.js';
import type { BleBuilding } from '../../src/cli/commands/ble-building.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import { Phone } from '../../src/phone/phone.js';
import type { UnlockResult } from '../../src/phone/unlock-events.js';
import { BtsnoopWriter, decodeBtsnoop } from '../../src/transport/btsnoop.js';
import { LockPeripheral } from '../../src/transport/bleno/lock-peripheral.js';
import type { PeripheralEvent } from '../../src/transport/bleno/lock-peripheral.js';
import type { Bleno } from '../../src/transport/bleno/bleno-api.js';
import { NobleCentral } from '../../src/transport/noble/central.js';
import type { Noble } from '../../src/transport/noble/noble-api.js';
import type { CentralTransport } from '../../src/transport/types.js';
import {
  loadBlenoWithVirtualHci,
  loadNobleWithVirtualHci,
  VirtualAir,
} from '../../src/transport/virtual-hci/index.js';
import type {
  AclBuffers,
  VirtualBleno,
  VirtualNoble,
} from '../../src/transport/virtual-hci/index.js';

interface RunOptions {
  readonly seed: string;
  /** The lock's ATT_MTU limit (bleno's `maxMtu`); default 256. */
  readonly lockMtu?: number;
  /** The ATT_MTU the phone asks for; default the phone's 247. */
  readonly phoneMtu?: number;
  /** Both controllers' LE ACL buffers, and the air's link-layer payload to match. */
  readonly leAclBuffers?: AclBuffers;
}

interface Rig {
  readonly building: BleBuilding;
  readonly lockStack: VirtualBleno;
  readonly phoneStack: VirtualNoble;
  readonly peripheral: LockPeripheral<unknown>;
  readonly lockEvents: PeripheralEvent[];
  readonly central: NobleCentral;
  /** The phone controller's HCI traffic, as btsnoop. */
  capture(): Uint8Array;
}

interface Run {
  readonly result: UnlockResult;
  readonly phoneEvents: readonly string[];
  /** The ATT_MTU of the phone's connection, as the transport reported it. */
  readonly connectionMtu: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A lock on bleno and a phone's noble on one virtual air; everything is torn down after the test. */
async function rig(options: RunOptions): Promise<Rig> {
  const building = bleBuilding({
    model: 'M',
    doorName: 'Unit 4B',
    seed: options.seed,
    now: Date.now(),
  });
  building.driver.start();
  cleanups.push(() => building.driver.stop());
  const buffers = options.leAclBuffers;
  const air = new VirtualAir(
    buffers === undefined ? {} : { linkLayerPayloadBytes: buffers.length },
  );
  cleanups.push(() => air.close());
  const chunks: Uint8Array[] = [];
  const capture = new BtsnoopWriter((bytes) => chunks.push(bytes));
  const controller = buffers === undefined ? {} : { leAclBuffers: buffers };
  const lockStack = await loadBlenoWithVirtualHci(air, controller);
  cleanups.push(() => lockStack.close());
  const phoneStack = await loadNobleWithVirtualHci(air, { ...controller, capture });
  cleanups.push(() => phoneStack.close());

  const peripheral = await LockPeripheral.start({
    host: building.driver,
    lockId: building.door.id,
    info: building.info,
    bleno: lockStack.bleno as unknown as Bleno,
    ...(options.lockMtu === undefined ? {} : { maxMtu: options.lockMtu }),
  });
  cleanups.push(() => peripheral.stop());
  const lockEvents: PeripheralEvent[] = [];
  peripheral.onEvent((event) => lockEvents.push(event));
  const central = await NobleCentral.open({ noble: phoneStack.noble as unknown as Noble });
  cleanups.push(() => central.close());
  return {
    building,
    lockStack,
    phoneStack,
    peripheral,
    lockEvents,
    central,
    capture: () => concat(chunks),
  };
}

/** The demo resident's phone on the rig's central unlocks the door. */
async function unlock(r: Rig, options: RunOptions): Promise<Run> {
  const { building, central } = r;
  let connectionMtu = 0;
  const transport: CentralTransport = {
    now: () => central.now(),
    sleep: (ms) => central.sleep(ms),
    scan: (ms) => central.scan(ms),
    connect: async (address, connect) => {
      const connection = await central.connect(address, connect);
      connectionMtu = connection.mtu;
      return connection;
    },
  };
  const phone = new Phone({
    transport,
    crypto: createNodeCrypto(building.world.random.fork('phone').bytes),
    random: building.world.random.fork('phone:jitter').bytes,
    cloud: building.cloud,
    staticKey: generateKeyPair(createNodeCrypto(building.world.random.fork('phone-key').bytes)),
    timing: options.phoneMtu === undefined ? {} : { mtu: options.phoneMtu },
  });
  building.cloud.registerPhone(building.residentId, phone.publicKey);
  phone.setUp(building.residentId);
  expect((await phone.fetchLocks()).ok).toBe(true);
  const run = phone.unlock(building.door.id);
  const result = await run.result;
  // The lock hears the central go once the phone's disconnect has crossed the air.
  await until(() => r.lockEvents.some((event) => event.type === 'disconnect'));
  return { result, phoneEvents: run.events.map((event) => event.type), connectionMtu };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Every step of a full unlock, seen from the phone, from bleno and in the lock's own log. */
function expectFullUnlock(r: Rig, run: Run): void {
  const { building } = r;
  expect(run.result).toMatchObject({ outcome: 'success', attempts: 1 });
  expect(run.phoneEvents).toEqual([
    'Started',
    'ConnectForUnlock',
    'SetupSync',
    'Unlock',
    'Success',
  ]);
  const peripheralSteps = r.lockEvents.map((event) => event.type);
  expect(peripheralSteps[0]).toBe('accept');
  expect(peripheralSteps).toContain('mtu');
  expect(peripheralSteps.indexOf('mtu')).toBeLessThan(peripheralSteps.indexOf('subscribe'));
  expect(peripheralSteps.indexOf('subscribe')).toBeLessThan(peripheralSteps.indexOf('write'));
  expect(peripheralSteps).toContain('notify');
  expect(r.lockEvents.at(-1)).toMatchObject({ type: 'disconnect', by: 'central' });
  // Noise, the pushed bundle, the unlock and the close, in the lock's own words.
  const log = building.world.eventsOf(building.door.id).map((event) => event.type);
  expect(log.slice(1)).toEqual([
    'BLE_CONNECTED',
    'SYNC_APPLIED',
    'ACCESS',
    'BOLT',
    'BLE_DISCONNECTED',
  ]);
  expect(building.world.eventsOf(building.door.id)[3]).toMatchObject({ result: 'SUCCESS' });
  // Passive sync: the lock took the newer bundle, its audit reached the cloud.
  expect(building.world.lock(building.door.id).sync.version).toBe(2);
  expect(building.cloud.auditLog(building.door.id).map((e) => e.record.result)).toContain(
    'SUCCESS',
  );
}

/** tshark's reading of a capture: one `opcode` line per ATT PDU, or `undefined` without tshark. */
function attOpcodes(capture: Uint8Array): string[] | undefined {
  const found = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  if (found.error !== undefined || found.status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'keyway-btsnoop-'));
  try {
    const file = join(dir, 'phone.btsnoop');
    writeFileSync(file, capture);
    const read = spawnSync(
      'tshark',
      ['-r', file, '-Y', 'btatt', '-T', 'fields', '-e', 'btatt.opcode'],
      {
        encoding: 'utf8',
      },
    );
    expect(read.status).toBe(0);
    return read.stdout.split('\n').filter((line) => line !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('noble and bleno over the virtual HCI pair', () => {
  it('unlock end to end at the default MTU, the lock timers running on the wall clock', async () => {
    const options = { seed: 'ble-e2e-default' };
    const r = await rig(options);
    const run = await unlock(r, options);
    expectFullUnlock(r, run);
    // noble asks for 256 and bleno agrees; the phone asked for 247 and writes within it.
    expect(r.lockEvents).toContainEqual({ type: 'mtu', mtu: 256 });
    expect(run.connectionMtu).toBe(247);
    expect(decodeBtsnoop(r.capture()).ok).toBe(true);
    // The bolt's travel ends on a lock timer the real-time driver runs at its virtual instant.
    const { world, door } = r.building;
    await until(() => world.eventsOf(door.id).some((event) => event.type === 'UNLOCKED'));
    const events = world.eventsOf(door.id);
    const access = events.find((event) => event.type === 'ACCESS');
    const unlocked = events.find((event) => event.type === 'UNLOCKED');
    expect(unlocked!.t - access!.t).toBe(1_000);
  });

  it('unlock end to end at the minimum ATT_MTU: every fragment within 20 bytes', async () => {
    const options = { seed: 'ble-e2e-min-mtu', lockMtu: 23, phoneMtu: 23 };
    const r = await rig(options);
    const run = await unlock(r, options);
    expectFullUnlock(r, run);
    expect(r.lockEvents).toContainEqual({ type: 'mtu', mtu: 23 });
    expect(run.connectionMtu).toBe(23);
    for (const event of r.lockEvents) {
      if (event.type === 'write' || event.type === 'notify')
        expect(event.bytes).toBeLessThanOrEqual(20);
    }
  });

  it('unlock end to end with a single LE buffer of 27 bytes in each controller', async () => {
    const options = { seed: 'ble-e2e-one-buffer', leAclBuffers: { length: 27, count: 1 } };
    const r = await rig(options);
    const run = await unlock(r, options);
    expectFullUnlock(r, run);
    for (const { controller } of [r.lockStack, r.phoneStack]) {
      expect(controller.stats.maxBuffersInUse).toBe(1);
      expect(controller.stats.bufferOverflows).toBe(0);
      expect(controller.stats.oversizedAcl).toBe(0);
    }
  });

  it('the btsnoop capture of an unlock shows ATT write commands and notifications in tshark', async (context) => {
    const options = { seed: 'ble-e2e-capture', lockMtu: 23, phoneMtu: 23 };
    const r = await rig(options);
    const run = await unlock(r, options);
    expect(run.result.outcome).toBe('success');
    const capture = r.capture();
    expect(decodeBtsnoop(capture).ok).toBe(true);
    const opcodes = attOpcodes(capture);
    if (opcodes === undefined) {
      context.skip('tshark is not installed (Debian package tshark): the capture check is skipped');
      return;
    }
    const writes = opcodes.filter((opcode) => opcode === '0x52').length;
    const notifications = opcodes.filter((opcode) => opcode === '0x1b').length;
    const fromPhone = r.lockEvents.filter((event) => event.type === 'write').length;
    const fromLock = r.lockEvents.filter((event) => event.type === 'notify').length;
    expect(writes).toBe(fromPhone);
    expect(notifications).toBe(fromLock);
    expect(opcodes).toContain('0x02'); // Exchange MTU Request
  });

  it('the info characteristic reads as the lock’s encoded info', async () => {
    const r = await rig({ seed: 'ble-e2e-info' });
    const noble = r.phoneStack.noble;
    const peripheral = await new Promise<NoblePeripheral>((resolve) => {
      noble.on('discover', resolve);
      void noble.startScanningAsync([SERVICE_UUID.replaceAll('-', '')], false);
    });
    await noble.stopScanningAsync();
    await peripheral.connectAsync();
    const { characteristics } = await peripheral.discoverSomeServicesAndCharacteristicsAsync(
      [SERVICE_UUID.replaceAll('-', '')],
      [CHARACTERISTICS.info.uuid.replaceAll('-', '')],
    );
    const value = await characteristics[0]!.readAsync();
    await peripheral.disconnectAsync();
    const info = decodeLockInfo(new Uint8Array(value));
    expect(info).toEqual({ ok: true, value: r.building.info });
  });
});
