// The virtual radio in a World (src/transport/virtual-radio.ts): scans see the locks in range
// with a plausible RSSI and their firmware's advertisement, connections negotiate the MTU, a real
// phone (PhoneSession, frame codec, reassembler) unlocks a World lock through the radio, a second
// phone is refused BUSY while the first holds the lock (protocol/spec/session.md §7.1), and the
// same seed gives the same run.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { peekCredential, signCredential } from '../../protocol/formats/credential.js';
import type { Credential } from '../../protocol/formats/credential.js';
import { sealSyncBundle } from '../../protocol/formats/sync-bundle.js';
import { RESULT_OK } from '../../protocol/messages.js';
import { generateKeyPair } from '../../protocol/noise/handshake-xk.js';
import { advanceAsync, runPromise } from '../../src/sim/async.js';
import { World } from '../../src/sim/world.js';
import { TransportError } from '../../src/transport/types.js';
import type { DisconnectReason, ScanResult } from '../../src/transport/types.js';
import type { VirtualRadioOptions } from '../../src/transport/virtual-radio.js';
import { VirtualRadio } from '../../src/transport/virtual-radio.js';
import { FramedLink, handshake, request } from './session-client.js';
import type { SessionPhone } from './session-client.js';

const DAY = 86_400_000;
/** Monday 2026-03-02 15:00 UTC. */
const START = Date.UTC(2026, 2, 2, 15);
const BUSY = WIRE_ERRORS.BUSY;

function worldWith(seed: string, locks: { id: string; model: 'M' | 'R' }[]): World {
  const world = new World({ seed, start: START });
  for (const { id, model } of locks) {
    world.addLock({ id, model, wiring: 'fail-secure' });
  }
  return world;
}

/** A phone whose credential for `door` the lock already holds (a sealed bundle pushed first). */
function provisionedPhone(world: World, door: string, n: number): SessionPhone {
  const key = generateKeyPair(world.crypto);
  const { lockId } = world.lock(door).identity;
  const credential: Credential = {
    id: Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0xc0 : i === 15 ? n : 0)),
    user: Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x05 : i === 15 ? n : 0)),
    phoneKey: key.publicKey,
    doors: [lockId],
    notBefore: START - DAY,
    expires: START + DAY,
    epoch: 1,
    role: 'resident',
  };
  return {
    crypto: world.crypto,
    key,
    credential: signCredential(credential, world.authority.seed, world.crypto),
  };
}

function pushBundle(world: World, door: string, phones: SessionPhone[]): void {
  const { lockId, lockSecret } = world.lock(door).identity;
  const sealed = sealSyncBundle(
    {
      lockId,
      version: 1,
      baseVersion: 0,
      kind: 'full',
      credentials: phones.map((p) => {
        const read = peekCredential(p.credential);
        if (!read.ok) throw new Error(`credential: ${read.code}`);
        return read.value.id;
      }),
      doorcodes: [],
    },
    lockSecret,
    world.crypto,
  );
  const applied = world.pushSealedBundle(door, sealed);
  if (!applied.ok) throw new Error(`bundle refused: ${applied.code}`);
}

function lockKeys(world: World, door: string) {
  const { identity } = world.lock(door);
  return { staticKey: identity.staticKey.publicKey, lockId: identity.lockId };
}

function byAddress(results: ScanResult[], address: string): ScanResult | undefined {
  return results.find((r) => r.address === address);
}

describe('scanning', () => {
  const placed = () => {
    const world = worldWith('scan', [
      { id: 'near', model: 'M' },
      { id: 'mid', model: 'M' },
      { id: 'far', model: 'R' },
      { id: 'dark', model: 'R' },
    ]);
    const radio = new VirtualRadio(world);
    const near = radio.addLock('near', { position: { x: 2, y: 0 } });
    const mid = radio.addLock('mid', { position: { x: 0, y: 20 } });
    const far = radio.addLock('far', { position: { x: 40, y: 0 } });
    const dark = radio.addLock('dark', { position: { x: 5, y: 5 } });
    world.cutPower('dark');
    return { world, radio, near, mid, far, dark };
  };

  it('finds the locks in range with a plausible RSSI, not those beyond it or without power', async () => {
    const { world, radio, near, mid } = placed();
    const phone = radio.phone({ position: { x: 0, y: 0 } });
    // A battery lock advertises every 200 ms + advDelay ≤ 10 ms: any 211 ms window holds an event.
    const results = await runPromise(world, phone.scan(211));
    expect(results.map((r) => r.address).sort()).toEqual([near, mid].sort());
    const nearResult = byAddress(results, near)!;
    const midResult = byAddress(results, mid)!;
    // Log-distance: about −66 dBm at 2 m and −92 dBm at 20 m, give or take the shadowing.
    expect(nearResult.rssi).toBeGreaterThan(-76);
    expect(nearResult.rssi).toBeLessThan(-56);
    expect(midResult.rssi).toBeGreaterThan(-102);
    expect(midResult.rssi).toBeLessThan(-82);
    const { lockId } = world.lock('near').identity;
    expect(nearResult).toMatchObject({
      connectable: true,
      advertisement: {
        protocolVersion: 1,
        lockIdPrefix: lockId.subarray(0, 4),
        status: { needsUpdate: false, lowBattery: false, syncPending: false },
      },
      scanResponse: { lockId },
    });
    expect(world.now()).toBe(START + 211);
  });

  it('hears nothing in a window shorter than the first event, and the far lock once near it', async () => {
    const { world, radio, far } = placed();
    const phone = radio.phone({ position: { x: 0, y: 0 } });
    expect(await runPromise(world, phone.scan(0))).toEqual([]);
    phone.moveTo({ x: 35, y: 0 });
    // An R advertises every 100 ms.
    const results = await runPromise(world, phone.scan(111));
    expect(results.map((r) => r.address)).toContain(far);
    expect(radio.addressOf('far')).toBe(far);
  });

  it('reports the needs-update flag the firmware advertises', async () => {
    const { world, radio, near } = placed();
    world.swapBattery('near');
    const phone = radio.phone({ position: { x: 0, y: 0 } });
    const results = await runPromise(world, phone.scan(500));
    expect(byAddress(results, near)?.advertisement.status.needsUpdate).toBe(true);
  });
});

describe('connecting', () => {
  it('negotiates ATT_MTU as min(requested, the lock’s limit), never below 23', async () => {
    const world = worldWith('mtu', [
      { id: 'a', model: 'M' },
      { id: 'b', model: 'R' },
    ]);
    const radio = new VirtualRadio(world);
    const a = radio.addLock('a', { position: { x: 0, y: 3 } });
    const b = radio.addLock('b', { position: { x: 0, y: -3 }, mtu: 100 });
    const phone = radio.phone({ position: { x: 0, y: 0 } });
    const mtus: number[] = [];
    for (const [address, mtu] of [
      [a, 517],
      [a, 185],
      [a, 23],
      [b, 247],
    ] as const) {
      const connection = await runPromise(world, phone.connect(address, { timeoutMs: 2_000, mtu }));
      mtus.push(connection.mtu);
      await runPromise(world, connection.disconnect());
    }
    expect(mtus).toEqual([247, 185, 23, 100]);
    await expect(phone.connect(a, { timeoutMs: 1_000, mtu: 22 })).rejects.toThrow(RangeError);
  });

  it('rejects an unknown address, a lock out of range and a lock without power', async () => {
    const world = worldWith('refusals', [
      { id: 'far', model: 'M' },
      { id: 'dark', model: 'R' },
    ]);
    const radio = new VirtualRadio(world);
    const far = radio.addLock('far', { position: { x: 50, y: 0 } });
    const dark = radio.addLock('dark', { position: { x: 1, y: 0 } });
    world.cutPower('dark');
    const phone = radio.phone({ position: { x: 0, y: 0 } });
    const attempt = (address: string) =>
      runPromise(world, phone.connect(address, { timeoutMs: 1_000, mtu: 247 })).then(
        () => 'connected',
        (error: TransportError) => error.code,
      );
    expect(await attempt('c0:00:00:00:00:00')).toBe('NOT_FOUND');
    const before = world.now();
    expect(await attempt(far)).toBe('OUT_OF_RANGE');
    expect(world.now()).toBe(before + 1_000);
    expect(await attempt(dark)).toBe('TIMEOUT');
  });
});

describe('a phone unlocks a World lock through the radio', () => {
  it.each([
    { model: 'M', mtu: 247 },
    { model: 'R', mtu: 23 },
  ] as const)(
    'handshake, unlock and a clean disconnect ($model, MTU $mtu)',
    async ({ model, mtu }) => {
      const world = worldWith(`unlock-${model}`, [{ id: 'door', model }]);
      const resident = provisionedPhone(world, 'door', 1);
      pushBundle(world, 'door', [resident]);
      const radio = new VirtualRadio(world);
      const address = radio.addLock('door', { position: { x: 0, y: 0 } });
      const central = radio.phone({ position: { x: 1.5, y: 0.5 } });

      const unlock = async () => {
        const seen = await central.scan(300);
        const target = seen.find((r) =>
          r.scanResponse?.lockId.every((b, i) => b === lockKeys(world, 'door').lockId[i]),
        );
        if (target === undefined) throw new Error('door not seen');
        const connection = await central.connect(target.address, { timeoutMs: 3_000, mtu });
        const reasons: DisconnectReason[] = [];
        connection.onDisconnect((reason) => reasons.push(reason));
        const link = new FramedLink(connection, central);
        const session = await handshake(link, central, resident, lockKeys(world, 'door'));
        const answer = await request(link, central, session, {
          type: 'unlock-request',
          id: 1,
          body: {},
        });
        await connection.disconnect();
        return { answer, reasons, mtu: connection.mtu, address: target.address };
      };
      const outcome = await runPromise(world, unlock(), 30_000);
      expect(outcome).toEqual({
        answer: { type: 'unlock-response', id: 1, body: { result: RESULT_OK, auditSeq: 0 } },
        reasons: ['local'],
        mtu,
        address,
      });
      await advanceAsync(world, 5_000);
      const types = world.eventsOf('door').map((e) => e.type);
      expect(types.filter((t) => t === 'BLE_CONNECTED' || t === 'BLE_DISCONNECTED')).toEqual([
        'BLE_CONNECTED',
        'BLE_DISCONNECTED',
      ]);
      expect(types).toContain('UNLOCKED');
      expect(world.lock('door').advertisement(world.now()).connectable).toBe(true);
    },
  );
});

/** Two phones at one R: the first handshakes and holds the link, the second tries meanwhile. */
async function twoPhones(options: VirtualRadioOptions) {
  const world = worldWith('busy', [{ id: 'door', model: 'R' }]);
  const [first, second] = [1, 2].map((n) => provisionedPhone(world, 'door', n)) as [
    SessionPhone,
    SessionPhone,
  ];
  pushBundle(world, 'door', [first, second]);
  const radio = new VirtualRadio(world, options);
  const address = radio.addLock('door', { position: { x: 0, y: 0 } });
  const phoneA = radio.phone({ position: { x: 1, y: 0 } });
  const phoneB = radio.phone({ position: { x: 0, y: 2 } });
  const keys = lockKeys(world, 'door');

  const connectionA = await runPromise(
    world,
    phoneA.connect(address, { timeoutMs: 2_000, mtu: 247 }),
  );
  const linkA = new FramedLink(connectionA, phoneA);
  const sessionA = await runPromise(world, handshake(linkA, phoneA, first, keys));
  const seenByB = await runPromise(world, phoneB.scan(300));
  return {
    world,
    radio,
    address,
    phoneA,
    phoneB,
    connectionA,
    linkA,
    sessionA,
    second,
    keys,
    seenByB,
  };
}

describe('one connection at a time (session.md §7.1)', () => {
  it('a second phone sees the lock non-connectable, and is refused BUSY when it connects anyway', async () => {
    const { world, address, phoneB, connectionA, linkA, sessionA, seenByB } = await twoPhones({});
    expect(seenByB).toEqual([expect.objectContaining({ address, connectable: false })]);

    const connectionB = await runPromise(
      world,
      phoneB.connect(address, { timeoutMs: 2_000, mtu: 247 }),
    );
    const reasons: DisconnectReason[] = [];
    connectionB.onDisconnect((reason) => reasons.push(reason));
    const linkB = new FramedLink(connectionB, phoneB);
    // Any first write (message 1 here) is answered with the refusal, then the lock hangs up.
    await runPromise(world, linkB.send(new Uint8Array(49)));
    expect(await runPromise(world, linkB.next())).toEqual({ kind: 'refusal', code: BUSY });
    expect(await runPromise(world, linkB.next())).toBeUndefined();
    expect(reasons).toEqual(['remote']);

    // The first phone's session went on untouched.
    const answer = await runPromise(
      world,
      request(linkA, phoneB, sessionA, { type: 'unlock-request', id: 1, body: {} }),
    );
    expect(answer).toMatchObject({ type: 'unlock-response', body: { result: RESULT_OK } });
    await runPromise(world, connectionA.disconnect());
  });

  it('with connectWhileHeld "wait", the second phone times out while the lock is held, then gets in', async () => {
    const { world, address, phoneB, connectionA, second, keys } = await twoPhones({
      connectWhileHeld: 'wait',
    });
    await expect(
      runPromise(world, phoneB.connect(address, { timeoutMs: 1_000, mtu: 247 })),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    const released = world.now() + 300;
    world.scheduler.at(released, () => void connectionA.disconnect());
    const connectionB = await runPromise(
      world,
      phoneB.connect(address, { timeoutMs: 2_000, mtu: 247 }),
    );
    expect(world.now()).toBeGreaterThan(released);
    const linkB = new FramedLink(connectionB, phoneB);
    const session = await runPromise(world, handshake(linkB, phoneB, second, keys));
    const answer = await runPromise(
      world,
      request(linkB, phoneB, session, { type: 'unlock-request', id: 1, body: {} }),
    );
    expect(answer).toMatchObject({ body: { result: RESULT_OK } });
  });
});

describe('link loss at a World lock', () => {
  it('an R losing power drops the phone’s link by supervision timeout', async () => {
    const world = worldWith('outage', [{ id: 'door', model: 'R' }]);
    const radio = new VirtualRadio(world);
    const address = radio.addLock('door', { position: { x: 0, y: 0 } });
    const phone = radio.phone({ position: { x: 2, y: 0 } });
    const connection = await runPromise(
      world,
      phone.connect(address, { timeoutMs: 2_000, mtu: 247 }),
    );
    const reasons: DisconnectReason[] = [];
    connection.onDisconnect((reason) => reasons.push(reason));
    world.cutPower('door');
    await advanceAsync(world, 6_000);
    expect(reasons).toEqual(['supervision-timeout']);
    await expect(connection.write(new Uint8Array(1))).rejects.toBeInstanceOf(TransportError);
  });

  it('a lossy radio still unlocks, and repeats by seed', async () => {
    const run = async (seed: string) => {
      const world = worldWith(seed, [{ id: 'door', model: 'M' }]);
      const resident = provisionedPhone(world, 'door', 1);
      pushBundle(world, 'door', [resident]);
      const radio = new VirtualRadio(world, { lossRate: 0.2 });
      const address = radio.addLock('door', { position: { x: 0, y: 0 } });
      const central = radio.phone({ position: { x: 3, y: 3 } });
      const unlock = async () => {
        const connection = await central.connect(address, { timeoutMs: 5_000, mtu: 23 });
        const link = new FramedLink(connection, central);
        const session = await handshake(link, central, resident, lockKeys(world, 'door'));
        return request(link, central, session, { type: 'unlock-request', id: 1, body: {} });
      };
      const answer = await runPromise(world, unlock(), 60_000);
      return { answer, at: world.now() - START, log: world.toJsonLines() };
    };
    const one = await run('lossy');
    expect(one.answer).toMatchObject({ body: { result: RESULT_OK } });
    expect(await run('lossy')).toEqual(one);
  });
});
