// The transport contract (src/transport/types.ts), one suite run against every CentralTransport:
// the virtual radio on the World's virtual clock, and noble on real time against a lock on bleno
// over the virtual HCI pair (src/transport/noble, src/transport/bleno, src/transport/virtual-hci).
// Whatever the phone engine may rely on is asserted here, identically for each.
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_ID_PREFIX_BYTES } from '../../protocol/advertisement.js';
import { decodeRefusal } from '../../protocol/ble-refusal.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import { SUPPORTED_VERSIONS } from '../../protocol/noise/prologue.js';
import { Reassembler } from '../../protocol/reassembler.js';
import type { Effects } from '../../firmware-sim/effects.js';
import { bleBuilding, provisionPhone } from '../../src/cli/commands/ble-building.js';
import type { BleBuilding, PhoneProvision } from '../../src/cli/commands/ble-building.js';
import { createNodeCrypto } from '../../src/core/node-crypto-provider.js';
import type { DoorEntry } from '../../src/phone/cloud-api.js';
import { LockLink } from '../../src/phone/lock-link.js';
import { CancelSignal } from '../../src/phone/step-timing.js';
import { runPromise } from '../../src/sim/async.js';
import type { Bleno } from '../../src/transport/bleno/bleno-api.js';
import { LockPeripheral } from '../../src/transport/bleno/lock-peripheral.js';
import { NobleCentral } from '../../src/transport/noble/central.js';
import type { Noble } from '../../src/transport/noble/noble-api.js';
import { TransportError } from '../../src/transport/types.js';
import type {
  CentralTransport,
  DisconnectReason,
  GattConnection,
  ScanResult,
} from '../../src/transport/types.js';
import {
  loadBlenoWithVirtualHci,
  loadNobleWithVirtualHci,
  VirtualAir,
} from '../../src/transport/virtual-hci/index.js';
import { VirtualRadio } from '../../src/transport/virtual-radio.js';

/** One transport under test, with a lock to reach and what a phone needs to speak to it. */
interface ContractRig {
  readonly transport: CentralTransport;
  readonly building: BleBuilding;
  readonly phone: PhoneProvision;
  /** Runs `promise` to its end on the transport's clock (virtual time needs driving). */
  settle<T>(promise: Promise<T>): Promise<T>;
  /** An address no device has. */
  readonly unknownAddress: string;
}

interface RigOptions {
  readonly seed: string;
  /** The lock's ATT_MTU limit; default the transport's. */
  readonly lockMtu?: number;
}

type RigFactory = (options: RigOptions) => Promise<ContractRig>;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function building(seed: string): { b: BleBuilding; phone: PhoneProvision } {
  const b = bleBuilding({ model: 'M', doorName: 'Unit 1', seed, now: Date.UTC(2026, 2, 2, 15) });
  const phone = provisionPhone(
    b,
    generateKeyPair(createNodeCrypto(b.world.random.fork('phone').bytes)),
  );
  return { b, phone };
}

const virtualRadio: RigFactory = ({ seed, lockMtu }) => {
  const { b, phone } = building(seed);
  const radio = new VirtualRadio<Effects>(b.world);
  radio.addLock(b.door.id, {
    position: { x: 0, y: 0 },
    ...(lockMtu === undefined ? {} : { mtu: lockMtu }),
  });
  return Promise.resolve({
    transport: radio.phone({ position: { x: 2, y: 0 } }),
    building: b,
    phone,
    settle: (promise) => runPromise(b.world, promise, 120_000),
    unknownAddress: 'c0:00:00:00:00:01',
  });
};

const nobleOnBleno: RigFactory = async ({ seed, lockMtu }) => {
  const { b, phone } = building(seed);
  b.driver.start();
  cleanups.push(() => b.driver.stop());
  const air = new VirtualAir();
  cleanups.push(() => air.close());
  const lockStack = await loadBlenoWithVirtualHci(air);
  cleanups.push(() => lockStack.close());
  const phoneStack = await loadNobleWithVirtualHci(air);
  cleanups.push(() => phoneStack.close());
  const peripheral = await LockPeripheral.start({
    host: b.driver,
    lockId: b.door.id,
    info: b.info,
    bleno: lockStack.bleno as unknown as Bleno,
    ...(lockMtu === undefined ? {} : { maxMtu: lockMtu }),
  });
  cleanups.push(() => peripheral.stop());
  const central = await NobleCentral.open({ noble: phoneStack.noble as unknown as Noble });
  cleanups.push(() => central.close());
  return {
    transport: central,
    building: b,
    phone,
    settle: (promise) => promise,
    unknownAddress: 'c0:00:00:00:00:01',
  };
};

/** The lock of the rig, as the phone's directory names it. */
function doorOf(rig: ContractRig): DoorEntry {
  const door = rig.phone.package.directory.find((d) => d.doorId === rig.building.door.id);
  if (door === undefined) throw new Error('the door is not in the directory');
  return door;
}

/** Scans until the rig's lock shows with its scan response (a second scan if one was unlucky). */
async function findLock(rig: ContractRig): Promise<ScanResult> {
  const lockId = rig.building.door.lockId;
  for (let scan = 0; scan < 3; scan++) {
    const results = await rig.transport.scan(300);
    const found = results.find((r) => r.scanResponse !== undefined);
    if (found !== undefined && found.scanResponse?.lockId.every((b, i) => b === lockId[i])) {
      return found;
    }
  }
  throw new Error('the lock was not found');
}

async function connectToLock(rig: ContractRig, mtu = 247): Promise<GattConnection> {
  const found = await findLock(rig);
  return rig.transport.connect(found.address, { timeoutMs: 5_000, mtu });
}

/** Everything the lock notifies, reassembled into whole messages. */
function messagesOf(rig: ContractRig, connection: GattConnection): Uint8Array[] {
  const reassembler = new Reassembler();
  const messages: Uint8Array[] = [];
  connection.onNotify((value) => {
    const pushed = reassembler.push(value, rig.transport.now());
    if (pushed.ok && pushed.value !== undefined) messages.push(pushed.value);
  });
  return messages;
}

function gone(connection: GattConnection): Promise<DisconnectReason> {
  return new Promise((resolve) => connection.onDisconnect(resolve));
}

const transports: readonly [string, RigFactory][] = [
  ['the virtual radio', virtualRadio],
  ['noble against bleno over the virtual HCI pair', nobleOnBleno],
];

describe.each(transports)('transport contract: %s', (_name, makeRig) => {
  it('a scan reports the lock: its id prefix, the full id in the scan response, connectable', async () => {
    const rig = await makeRig({ seed: 'contract-scan' });
    const found = await rig.settle(findLock(rig));
    const { lockId } = rig.building.door;
    expect(found.advertisement.lockIdPrefix).toEqual(lockId.slice(0, LOCK_ID_PREFIX_BYTES));
    expect(found.advertisement.protocolVersion).toBe(SUPPORTED_VERSIONS.at(-1));
    expect(found.advertisement.status).toEqual({
      needsUpdate: false,
      lowBattery: false,
      syncPending: false,
    });
    expect(found.scanResponse?.lockId).toEqual(lockId);
    expect(found.connectable).toBe(true);
    expect(found.rssi).toBeLessThan(0);
  });

  it('connecting to an address no scan heard is NOT_FOUND', async () => {
    const rig = await makeRig({ seed: 'contract-unknown' });
    const attempt = rig.transport.connect(rig.unknownAddress, { timeoutMs: 1_000, mtu: 247 });
    await expect(rig.settle(attempt)).rejects.toMatchObject({
      name: 'TransportError',
      code: 'NOT_FOUND',
    });
  });

  it('the MTU is what the phone asked for, within the lock’s limit, never below 23', async () => {
    const rig = await makeRig({ seed: 'contract-mtu', lockMtu: 100 });
    const asked = await rig.settle(connectToLock(rig, 64));
    expect(asked.mtu).toBe(64);
    await rig.settle(asked.disconnect());
    const capped = await rig.settle(connectToLock(rig, 247));
    expect(capped.mtu).toBe(100);
    await rig.settle(capped.disconnect());
  });

  it('a write over ATT_MTU − 3 bytes is refused before it reaches the air', async () => {
    const rig = await makeRig({ seed: 'contract-oversize', lockMtu: 23 });
    const connection = await rig.settle(connectToLock(rig, 23));
    await expect(connection.write(new Uint8Array(21))).rejects.toBeInstanceOf(RangeError);
    await rig.settle(connection.disconnect());
  });

  it('writes reach the lock in order and its notifications come back: a Noise handshake', async () => {
    const rig = await makeRig({ seed: 'contract-handshake' });
    const door = doorOf(rig);
    const exchange = async () => {
      const connection = await connectToLock(rig);
      const link = new LockLink({
        connection,
        transport: rig.transport,
        crypto: createNodeCrypto(rig.building.world.random.fork('contract').bytes),
        signal: new CancelSignal(),
        responseTimeoutMs: 5_000,
      });
      const hello = await link.handshake(
        door,
        SUPPORTED_VERSIONS,
        rig.phone.staticKey,
        rig.phone.package.credentialByLock.get(rig.building.door.lockIdHex)!,
      );
      const status = await link.request('status-request', {});
      await link.close();
      return { hello, status };
    };
    const { hello, status } = await rig.settle(exchange());
    expect(hello.ok).toBe(true);
    expect(status).toMatchObject({ ok: true, value: { syncVersion: 1 } });
  });

  it('disconnect() resolves once the link is gone: listeners hear local, writes are refused', async () => {
    const rig = await makeRig({ seed: 'contract-local' });
    const connection = await rig.settle(connectToLock(rig));
    const reason = gone(connection);
    await rig.settle(connection.disconnect());
    expect(await reason).toBe('local');
    await expect(connection.write(new Uint8Array(1))).rejects.toSatisfy(
      (error) => error instanceof TransportError && error.code === 'DISCONNECTED',
    );
  });

  it('a lock that refuses the phone notifies its refusal, then the link ends: remote', async () => {
    const rig = await makeRig({ seed: 'contract-remote' });
    const run = async () => {
      const connection = await connectToLock(rig);
      const messages = messagesOf(rig, connection);
      const reason = gone(connection);
      // Two bytes: no fragment is that short (protocol/frame-codec.ts), so the frame is bad.
      await connection.write(Uint8Array.of(0x80, 0x00));
      return { reason: await reason, messages };
    };
    const { reason, messages } = await rig.settle(run());
    expect(reason).toBe('remote');
    expect(messages).toHaveLength(1);
    expect(decodeRefusal(messages[0]!)).toEqual({ ok: true, value: WIRE_ERRORS.FAILED });
  });

  it('sleep() lets the transport’s clock run at least that long', async () => {
    const rig = await makeRig({ seed: 'contract-sleep' });
    const before = rig.transport.now();
    await rig.settle(rig.transport.sleep(40));
    expect(rig.transport.now() - before).toBeGreaterThanOrEqual(40);
  });
});
