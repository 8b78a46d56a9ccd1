// The library API as a test author meets it: `import { ... } from 'keyway'`.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as keyway from '../src/index.js';

const root = new URL('../', import.meta.url);

describe("import from 'keyway'", () => {
  it('resolves the package name to the built library, with both providers and the protocol', () => {
    const script =
      "import('keyway').then((k) => console.log(JSON.stringify([typeof k.createNodeCrypto, " +
      'typeof k.createNobleCrypto, typeof k.PhoneSession, typeof k.DoorcodeKernel, k.PROTOCOL_VERSION])))';
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function', 'function', 1]);
  });

  it('gives what a first program needs: a handshake between a phone and a lock, then a daily code check', () => {
    const random = (length: number): Uint8Array =>
      Uint8Array.from({ length }, (_, i) => (i * 37 + 11) & 0xff);
    const crypto = keyway.createNodeCrypto(random);
    const lockKey = keyway.generateKeyPair(crypto);
    const phoneKey = keyway.generateKeyPair(crypto);
    const lockId = new Uint8Array(16).fill(1);
    const now = Date.UTC(2026, 10, 21, 12);
    const phone = new keyway.PhoneSession({
      crypto,
      phoneStaticKey: phoneKey,
      lockStaticKey: lockKey.publicKey,
      lockId,
      lockVersions: [1],
      now,
    });
    const lock = new keyway.LockSession({ crypto, lockStaticKey: lockKey, lockId, now });
    const step = <T>(r: keyway.Result<T>): T => {
      if (!r.ok) throw new Error(`failed with ${keyway.wireErrorName(r.code)}`);
      return r.value;
    };
    step(lock.readMessage1(step(phone.writeMessage1(now)), now));
    step(phone.readMessage2(step(lock.writeMessage2(new Uint8Array(1), now)), now));
    const hello = step(lock.readMessage3(step(phone.writeMessage3(new Uint8Array(3), now)), now));
    expect(hello.phoneStaticKey).toEqual(phoneKey.publicKey);

    const doorKey = keyway.deriveDoorKey(new Uint8Array(32).fill(2), 'lobby');
    const table = new keyway.DayTable(
      { deriver: keyway.createDoorcodeKernel(), doorKey, timeZone: 'America/New_York' },
      now,
    );
    const codes = new Uint32Array(1);
    const day = keyway.dayLabelAt(now, 'America/New_York');
    keyway.referenceDayCodes(
      { doorKey, day, keyVersion: 1, firstSlot: 5, count: 1, digits: 7 },
      codes,
    );
    expect(
      table.check(keyway.formatCode(codes[0]!, 7), now, { graceMs: keyway.graceMs(0) }),
    ).toMatchObject({ ok: true, day, slot: 5 });
  });

  it('drives a World as a test author does: a lock, a sync, a mobile key, the events', () => {
    const world = new keyway.World({ seed: 'library', start: Date.UTC(2026, 2, 2, 15) });
    world.addLock({ id: 'unit-4b', model: 'M' });
    const { lockId } = world.lock('unit-4b').identity;
    const credential: keyway.Credential = {
      id: new Uint8Array(16).fill(0xc1),
      user: new Uint8Array(16).fill(0x05),
      phoneKey: new Uint8Array(32).fill(0x11),
      doors: [lockId],
      notBefore: world.now() - 1,
      expires: world.now() + 86_400_000,
      epoch: 1,
      role: 'resident',
    };
    const version = world.applyBundle('unit-4b', {
      lockId,
      version: 1,
      baseVersion: 0,
      kind: 'full',
      credentials: [credential.id],
      doorcodes: [],
    });
    expect(version).toEqual({ ok: true, value: 1 });
    expect(world.presentMobileKey('unit-4b', credential)).toMatchObject({ ok: true });
    world.advance(60_000);
    const types = world.eventsOf('unit-4b').map((event) => event.type);
    expect(types).toEqual(
      expect.arrayContaining(['SYNC_APPLIED', 'ACCESS', 'UNLOCKED', 'RELOCKED']),
    );
  });
});
