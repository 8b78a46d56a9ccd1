// A lobby door opened by every resident of a large building (ARCHITECTURE.md §3 "Mobile keys",
// "Passive sync"; §4 "Sync bundle"; protocol/spec/messages.md §5.6): the real cloud issues a key
// to each of 1,200 residents, the bundle listing their credential ids travels through a phone
// to the R in sync-push chunks at full fidelity, several residents get in, the lock fills up to
// MAX_BUNDLE_CREDENTIALS keys, and the cloud refuses one more with CAPACITY.
import { describe, expect, it } from 'vitest';
import { syncPushChunks } from '../../protocol/messages.js';
import { MAX_BUNDLE_CREDENTIALS } from '../../protocol/formats/sync-bundle.js';
import { CloudError } from '../../src/cloud/errors.js';
import { fromHex } from '../../src/cloud/ids.js';
import { Random } from '../../src/sim/random.js';
import { runPromise } from '../../src/sim/async.js';
import { building, commission, phoneOf } from './building.js';

const RESIDENTS = 1_200;

describe('a lobby door with every resident’s key', () => {
  it(`holds ${RESIDENTS} residents’ keys, then ${MAX_BUNDLE_CREDENTIALS}; one more is CAPACITY`, async () => {
    const b = building('e2e-lobby');
    const lobby = commission(b, 'Lobby', 'R');
    const key = b.cloud.createKey({ doors: [lobby.id] });
    const phoneKeys = new Random('lobby phones');
    /** A resident with the lobby key and one registered phone; returns its credential id. */
    const enrol = (n: number): string => {
      const user = b.cloud.addUser({ name: `Resident ${n}`, role: 'resident' });
      b.cloud.shareKey(key.id, user.id);
      const publicKey = b.world.crypto.x25519PublicKey(phoneKeys.bytes(32));
      const [credential] = b.cloud.registerPhone(user.id, publicKey);
      return credential!.id;
    };
    const residents = Array.from({ length: RESIDENTS - 3 }, (_, n) => enrol(n));

    // Three residents with phones of their own: the first to arrive carries the bundle.
    const walkers = await Promise.all(
      ['Ana', 'Ben', 'Cy'].map(async (name) => {
        const user = b.cloud.addUser({ name, role: 'resident' });
        b.cloud.shareKey(key.id, user.id);
        return phoneOf(b, user.id, name);
      }),
    );
    const offer = b.cloud.bundleFor(lobby.id);
    expect(syncPushChunks(offer.sealed).length).toBeGreaterThan(5);
    expect(b.world.lock(lobby.id).sync.hasCredential(fromHex(residents[0]!))).toBe(false);

    const first = walkers[0]!.unlock(lobby.id);
    expect(await runPromise(b.world, first.result)).toMatchObject({ outcome: 'success' });
    expect(first.events.map((e) => e.type)).toContain('SetupSync');
    const sync = b.world.lock(lobby.id).sync;
    expect(sync.version).toBe(offer.version);
    expect(residents.every((id) => sync.hasCredential(fromHex(id)))).toBe(true);
    for (const phone of walkers.slice(1)) {
      const run = phone.unlock(lobby.id);
      expect(await runPromise(b.world, run.result)).toMatchObject({ outcome: 'success' });
      expect(run.events.map((e) => e.type)).not.toContain('SetupSync');
    }
    const grants = b.cloud.auditLog(lobby.id).filter((e) => e.record.result === 'SUCCESS');
    expect(grants).toHaveLength(3);

    // Up to the limit: one full bundle still carries every id, and the lock takes it.
    const more = Array.from({ length: MAX_BUNDLE_CREDENTIALS - RESIDENTS }, (_, n) =>
      enrol(RESIDENTS + n),
    );
    const full = b.cloud.bundleFor(lobby.id, { baseVersion: 0 });
    expect(full.kind).toBe('full');
    expect(b.world.pushSealedBundle(lobby.id, full.sealed)).toEqual({
      ok: true,
      value: full.version,
    });
    expect([...residents, ...more].every((id) => sync.hasCredential(fromHex(id)))).toBe(true);

    const refused = (() => {
      try {
        enrol(MAX_BUNDLE_CREDENTIALS);
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(CloudError);
    expect(refused).toMatchObject({ code: 'CAPACITY' });
  });
});
