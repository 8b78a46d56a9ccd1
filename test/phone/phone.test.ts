// The phone's unlock engine (ARCHITECTURE.md §6 "Phone") against real lock firmware in a World,
// through the stand-in radio and cloud of fixtures.ts: the event stream, passive sync before the
// unlock (a new resident's bundle, a lost clock), refusals, BUSY retries, range, cancel, and the
// cache's life across users and the network going away.
import { describe, expect, it } from 'vitest';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { openAuditUpload } from '../../protocol/formats/audit-upload.js';
import type { AuditRecord } from '../../protocol/formats/audit-upload.js';
import type { Phone } from '../../src/phone/phone.js';
import type { UnlockEvent, UnlockRun } from '../../src/phone/unlock-events.js';
import { World } from '../../src/sim/world.js';
import { DAY, HOUR, ids, phoneOn, settle, START, TestCloud, TestRadio } from './fixtures.js';

const RESIDENT = { id: ids(0xc0, 1), user: ids(0x05, 1) };
const GUEST = { id: ids(0xc0, 2), user: ids(0x05, 2), role: 'guest' as const };

interface Setup {
  world: World;
  radio: TestRadio;
  cloud: TestCloud;
}

function setup(seed: string, model: 'M' | 'R' = 'M', doors = ['front']): Setup {
  const world = new World({ seed, start: START });
  for (const id of doors)
    world.addLock(model === 'R' ? { id, model, wiring: 'fail-secure' } : { id, model });
  return { world, radio: new TestRadio(world), cloud: new TestCloud(world) };
}

/** A phone set up for `token`, its package fetched. */
async function signedIn(s: Setup, name: string, token: string): Promise<Phone> {
  const phone = phoneOn(s.radio, name, { cloud: s.cloud });
  phone.setUp(token);
  const fetched = await settle(s.world, phone.fetchLocks());
  expect(fetched.ok).toBe(true);
  return phone;
}

function pauseFor(world: World, ms: number): Promise<void> {
  return new Promise((resolve) => world.scheduler.at(world.now() + ms, () => resolve()));
}

/** The events without their times. */
function shapes(run: UnlockRun): object[] {
  return run.events.map(({ at: _at, ...rest }: UnlockEvent) => rest);
}

function records(s: Setup, door: string, uploads: readonly Uint8Array[]): AuditRecord[] {
  const { lockId, lockSecret } = s.world.lock(door).identity;
  return uploads.flatMap((upload) => {
    const opened = openAuditUpload(upload, lockSecret, lockId, s.world.crypto);
    if (!opened.ok) throw new Error(`audit upload did not open: ${opened.code}`);
    return opened.value.records;
  });
}

describe('unlock, with the lock in sync', () => {
  it('reports Started, ConnectForUnlock, Unlock, Success, and the audit reaches the cloud', async () => {
    const s = setup('phone-success');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = await signedIn(s, 'alice', 'alice');
    // The lock already holds the credential (a hub pushed it).
    s.cloud.publish('front', [RESIDENT.id]);
    expect(s.world.pushSealedBundle('front', s.cloud.sealed('front')!).ok).toBe(true);
    await settle(s.world, phone.fetchLocks());

    const run = phone.unlock('front');
    const result = await settle(s.world, run.result);

    expect(result).toMatchObject({ outcome: 'success', attempts: 1, doorId: 'front' });
    expect(shapes(run)).toEqual([
      { type: 'Started', doorId: 'front' },
      { type: 'ConnectForUnlock', attempt: 1 },
      { type: 'Unlock', attempt: 1 },
      { type: 'Success' },
    ]);
    expect(result.endedAt).toBeGreaterThan(result.startedAt);
    expect(s.world.eventsOf('front')).toContainEqual(
      expect.objectContaining({ type: 'ACCESS', method: 'BLE', result: 'SUCCESS' }),
    );
    expect(records(s, 'front', s.cloud.audit)).toMatchObject([
      { seq: 0, method: 'BLE', result: 'SUCCESS', credential: RESIDENT.id },
    ]);
    // The link is let go: once the radio carried the disconnect, the lock takes connections.
    await settle(s.world, pauseFor(s.world, s.radio.latencyMs));
    expect(s.world.lock('front').advertisement(s.world.now()).connectable).toBe(true);
  });

  it('is an async iterable of the same events, replayed to a late reader', async () => {
    const s = setup('phone-iterate');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = await signedIn(s, 'alice', 'alice');
    s.cloud.publish('front', [RESIDENT.id]);
    await settle(s.world, phone.fetchLocks());
    const run = phone.unlock('front');
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of run) seen.push(event.type);
    })();
    await settle(s.world, run.result);
    await reading;
    expect(seen).toEqual(run.events.map((e) => e.type));
    expect(seen.at(-1)).toBe('Success');
  });
});

describe('passive sync before the unlock', () => {
  it('a new resident: NOT_PROVISIONED is fixed by the bundle push in the same connection', async () => {
    const s = setup('phone-new-resident');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = phoneOn(s.radio, 'alice', { cloud: s.cloud });
    phone.setUp('alice');
    // Neighbours make the bundle span several sync-push chunks.
    const neighbours = Array.from({ length: 400 }, (_, n) => ids(0xc1, n));
    s.cloud.publish('front', [...neighbours, RESIDENT.id]);
    await settle(s.world, phone.fetchLocks());
    expect(s.world.lock('front').sync.version).toBe(0);

    const run = phone.unlock('front');
    const result = await settle(s.world, run.result);

    expect(result).toMatchObject({ outcome: 'success', attempts: 1 });
    expect(shapes(run)).toEqual([
      { type: 'Started', doorId: 'front' },
      { type: 'ConnectForUnlock', attempt: 1 },
      { type: 'SetupSync', attempt: 1 },
      { type: 'Unlock', attempt: 1 },
      { type: 'Success' },
    ]);
    expect(s.radio.connections.get('front')).toBe(1);
    expect(s.world.lock('front').sync.version).toBe(1);
    const types = s.world.eventsOf('front').map((e) => e.type);
    expect(types.indexOf('SYNC_APPLIED')).toBeLessThan(types.indexOf('ACCESS'));
  });

  it('an offline phone pushes its cached bundle and queues the audit for the next online moment', async () => {
    const s = setup('phone-offline');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = phoneOn(s.radio, 'alice', { cloud: s.cloud });
    phone.setUp('alice');
    s.cloud.publish('front', [RESIDENT.id]);
    await settle(s.world, phone.fetchLocks());
    phone.setOnline(false);

    const result = await settle(s.world, phone.unlock('front').result);
    expect(result.outcome).toBe('success');
    expect(s.cloud.audit).toHaveLength(0);
    expect(phone.pendingAuditUploads).toBe(1);

    phone.setOnline(true);
    await settle(s.world, phone.fetchLocks());
    expect(phone.pendingAuditUploads).toBe(0);
    expect(records(s, 'front', s.cloud.audit)).toMatchObject([{ seq: 0, result: 'SUCCESS' }]);
  });

  it('a lost clock: CLOCK_INVALID is fixed by a nonce-bound anchor from the cloud', async () => {
    const s = setup('phone-clock-online');
    s.cloud.grant('guest', 'front', GUEST);
    const phone = phoneOn(s.radio, 'guest', { cloud: s.cloud });
    phone.setUp('guest');
    s.cloud.publish('front', [GUEST.id]);
    s.world.pushSealedBundle('front', s.cloud.sealed('front')!);
    await settle(s.world, phone.fetchLocks());
    s.world.swapBattery('front');
    expect(s.world.lock('front').clockReading(s.world.now())).toBeUndefined();

    const run = phone.unlock('front');
    const result = await settle(s.world, run.result);

    expect(result).toMatchObject({ outcome: 'success', attempts: 1 });
    expect(shapes(run).map((e) => (e as { type: string }).type)).toContain('SetupSync');
    expect(s.cloud.nonceAnchors).toBe(1);
    expect(s.world.lock('front').clockReading(s.world.now())).toBeDefined();
  });

  it('a lost clock, offline: the cached window anchor and the phone clock fix it', async () => {
    const s = setup('phone-clock-offline');
    s.cloud.grant('guest', 'front', GUEST);
    s.cloud.issueWindowAnchor('front', START - HOUR, START + DAY);
    const phone = phoneOn(s.radio, 'guest', { cloud: s.cloud });
    phone.setUp('guest');
    s.cloud.publish('front', [GUEST.id]);
    s.world.pushSealedBundle('front', s.cloud.sealed('front')!);
    await settle(s.world, phone.fetchLocks());
    phone.setOnline(false);
    s.world.swapBattery('front');

    const result = await settle(s.world, phone.unlock('front').result);

    expect(result.outcome).toBe('success');
    expect(s.cloud.nonceAnchors).toBe(0);
    // The lock took the phone's reading as it was sent, one radio hop ago.
    expect(s.world.lock('front').clockReading(s.world.now())).toBe(
      s.world.now() - s.radio.latencyMs,
    );
  });

  it('a lost clock and no anchor: Denied(CLOCK_INVALID)', async () => {
    const s = setup('phone-clock-none');
    s.cloud.grant('guest', 'front', GUEST);
    const phone = phoneOn(s.radio, 'guest', { cloud: s.cloud });
    phone.setUp('guest');
    s.cloud.publish('front', [GUEST.id]);
    s.world.pushSealedBundle('front', s.cloud.sealed('front')!);
    await settle(s.world, phone.fetchLocks());
    phone.setOnline(false);
    s.world.swapBattery('front');

    const result = await settle(s.world, phone.unlock('front').result);
    expect(result).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'Denied', code: WIRE_ERRORS.CLOCK_INVALID, name: 'CLOCK_INVALID' },
    });
  });
});

describe('refusals', () => {
  it('a revoked resident is told REVOKED, once a newer bundle carried the revocation', async () => {
    const s = setup('phone-revoked');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = phoneOn(s.radio, 'alice', { cloud: s.cloud });
    phone.setUp('alice');
    s.cloud.publish('front', [RESIDENT.id]);
    await settle(s.world, phone.fetchLocks());
    // The phone keeps its old bundle (v1, offline); the lock already holds v2 with the revocation.
    phone.setOnline(false);
    s.cloud.publish('front', [], [RESIDENT.id]);
    s.world.pushSealedBundle('front', s.cloud.sealed('front')!);

    const run = phone.unlock('front');
    const result = await settle(s.world, run.result);
    expect(result).toMatchObject({
      outcome: 'failed',
      attempts: 1,
      reason: { kind: 'Denied', code: WIRE_ERRORS.REVOKED, name: 'REVOKED' },
    });
    // Its older bundle was not pushed over the newer one.
    expect(shapes(run).map((e) => (e as { type: string }).type)).not.toContain('SetupSync');
    expect(s.world.lock('front').sync.version).toBe(2);
  });

  it('a credential not yet valid on the lock clock is OutOfSchedule', async () => {
    const s = setup('phone-not-yet');
    const early = { ...GUEST, notBefore: START + DAY };
    s.cloud.grant('guest', 'front', early);
    const phone = phoneOn(s.radio, 'guest', { cloud: s.cloud });
    phone.setUp('guest');
    s.cloud.publish('front', [early.id]);
    await settle(s.world, phone.fetchLocks());
    const result = await settle(s.world, phone.unlock('front').result);
    expect(result).toMatchObject({
      outcome: 'failed',
      reason: { kind: 'OutOfSchedule', code: WIRE_ERRORS.NOT_YET_VALID },
    });
  });

  it('a directory with the wrong lock key: AuthFailed after one fresh download and a second try', async () => {
    const s = setup('phone-auth', 'M', ['front', 'back']);
    s.cloud.grant('alice', 'front', RESIDENT);
    s.cloud.directoryOverrides.set('front', {
      staticPublicKey: s.world.lock('back').identity.staticKey.publicKey,
    });
    const phone = await signedIn(s, 'alice', 'alice');
    const result = await settle(s.world, phone.unlock('front').result);
    expect(result).toMatchObject({
      outcome: 'failed',
      attempts: 2,
      reason: { kind: 'AuthFailed' },
    });
  });
});

describe('BUSY, range and cancel', () => {
  it('phones that arrive together at one R all get in, BUSY handled by retry', async () => {
    const s = setup('phone-busy', 'R');
    const phones: Phone[] = [];
    const credentials: Uint8Array[] = [];
    for (let n = 0; n < 5; n++) {
      const token = `resident-${n}`;
      const grant = { id: ids(0xc0, n), user: ids(0x05, n) };
      s.cloud.grant(token, 'front', grant);
      const phone = phoneOn(s.radio, token, { cloud: s.cloud });
      phone.setUp(token);
      phones.push(phone);
      credentials.push(grant.id);
    }
    s.cloud.publish('front', credentials);
    await settle(s.world, Promise.all(phones.map((p) => p.fetchLocks())));

    const runs = phones.map((p) => p.unlock('front'));
    const results = await settle(s.world, Promise.all(runs.map((r) => r.result)));

    expect(results.map((r) => r.outcome)).toEqual(Array(5).fill('success'));
    expect(Math.max(...results.map((r) => r.attempts))).toBeGreaterThan(1);
    const granted = s.world
      .eventsOf('front')
      .filter((e) => e.type === 'ACCESS' && (e as { result?: string }).result === 'SUCCESS');
    expect(granted).toHaveLength(5);
  });

  it('a lock out of range is LockNotFound, a door not in the directory too', async () => {
    const s = setup('phone-range');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = await signedIn(s, 'alice', 'alice');
    s.radio.setInRange('front', false);
    const away = await settle(s.world, phone.unlock('front').result);
    expect(away).toMatchObject({
      outcome: 'failed',
      attempts: 1,
      reason: { kind: 'LockNotFound', detail: 'not-in-range' },
    });
    const unknown = await settle(s.world, phone.unlock('garage').result);
    expect(unknown).toMatchObject({
      outcome: 'failed',
      attempts: 0,
      reason: { kind: 'LockNotFound', detail: 'not-in-directory' },
    });
  });

  it('Bluetooth off fails at once', async () => {
    const s = setup('phone-bt');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = await signedIn(s, 'alice', 'alice');
    phone.setBluetoothEnabled(false);
    const result = await settle(s.world, phone.unlock('front').result);
    expect(result).toMatchObject({ outcome: 'failed', reason: { kind: 'BluetoothDisabled' } });
  });

  it('cancelUnlock ends the run with Canceled and lets go of the lock', async () => {
    const s = setup('phone-cancel');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = await signedIn(s, 'alice', 'alice');
    const run = phone.unlock('front');
    // Mid-scan.
    await settle(s.world, pauseFor(s.world, 200));
    phone.cancelUnlock();
    const result = await settle(s.world, run.result);
    expect(result.outcome).toBe('canceled');
    expect(run.events.at(-1)?.type).toBe('Canceled');
    expect(s.world.eventsOf('front').filter((e) => e.type === 'ACCESS')).toHaveLength(0);
  });

  it('a new unlock cancels the one in flight', async () => {
    const s = setup('phone-replace', 'M', ['front', 'back']);
    s.cloud.grant('alice', 'front', RESIDENT);
    s.cloud.grant('alice', 'back', RESIDENT);
    const phone = phoneOn(s.radio, 'alice', { cloud: s.cloud });
    phone.setUp('alice');
    s.cloud.publish('front', [RESIDENT.id]);
    s.cloud.publish('back', [RESIDENT.id]);
    await settle(s.world, phone.fetchLocks());
    const first = phone.unlock('front');
    const second = phone.unlock('back');
    const [a, b] = await settle(s.world, Promise.all([first.result, second.result]));
    expect(a.outcome).toBe('canceled');
    expect(b.outcome).toBe('success');
  });
});

describe('the cache', () => {
  it('works offline, and is wiped when another user sets up', async () => {
    const s = setup('phone-cache');
    s.cloud.grant('alice', 'front', RESIDENT);
    s.cloud.grant('bob', 'front', { id: ids(0xc0, 7), user: ids(0x05, 7) });
    const phone = await signedIn(s, 'alice', 'alice');
    phone.setOnline(false);
    const offline = await settle(s.world, phone.fetchLocks());
    expect(offline).toMatchObject({ ok: true, source: 'cache' });
    expect(phone.locks().map((l) => l.doorId)).toEqual(['front']);
    phone.setUp('bob');
    expect(phone.locks()).toEqual([]);
  });

  it('an invalid token wipes the cache; listeners hear every download', async () => {
    const s = setup('phone-token');
    s.cloud.grant('alice', 'front', RESIDENT);
    const phone = await signedIn(s, 'alice', 'alice');
    const heard: string[][] = [];
    const stop = phone.listenForLocks((locks) => heard.push(locks.map((l) => l.doorId)));
    await settle(s.world, phone.fetchLocks());
    stop();
    await settle(s.world, phone.fetchLocks());
    expect(heard).toEqual([['front'], ['front']]);
    s.cloud.grants.delete('alice');
    const refused = await settle(s.world, phone.fetchLocks());
    expect(refused).toEqual({ ok: false, reason: 'InvalidToken' });
    expect(phone.locks()).toEqual([]);
  });
});
