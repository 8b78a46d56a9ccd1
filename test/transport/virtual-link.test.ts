// The virtual radio's link layer (src/transport/virtual-link.ts) against a stand-in peripheral
// that records what it receives and echoes it back: connection-event timing, loss as
// retransmission delay (later, never out of order), the supervision timeout on both sides, links
// kept apart, and the same trace for the same seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advanceAsync, runPromise } from '../../src/sim/async.js';
import { Random } from '../../src/sim/random.js';
import { Scheduler } from '../../src/sim/scheduler.js';
import type {
  PeripheralAdvertising,
  PeripheralFirmware,
  PeripheralLink,
  RadioHost,
  VirtualRadioOptions,
} from '../../src/transport/virtual-radio.js';
import { VirtualRadio } from '../../src/transport/virtual-radio.js';
import type { DisconnectReason, GattConnection } from '../../src/transport/types.js';
import { TransportError } from '../../src/transport/types.js';
import { encodeAdvertisement, encodeScanResponse } from '../../protocol/advertisement.js';
import { propertyRuns } from '../support/properties.js';

const INTERVAL = 30;

/** A peripheral that takes any number of links and echoes every write, tagged, as it arrives. */
class EchoFirmware implements PeripheralFirmware<undefined> {
  powered = true;
  readonly actuator = { model: 'R' };
  readonly received: { link: PeripheralLink; bytes: number[]; t: number }[] = [];
  readonly connected: { link: PeripheralLink; mtu: number; t: number }[] = [];
  readonly disconnected: { link: PeripheralLink; t: number }[] = [];
  readonly #advertising: PeripheralAdvertising;

  constructor() {
    const advert = {
      protocolVersion: 1,
      status: { needsUpdate: false, lowBattery: false, syncPending: false },
      lockId: new Uint8Array(16).fill(7),
    };
    this.#advertising = {
      advertisingData: encodeAdvertisement(advert),
      scanResponse: encodeScanResponse(advert),
      connectable: true,
    };
  }

  advertisement(): PeripheralAdvertising {
    return this.#advertising;
  }

  connect(link: PeripheralLink, mtu: number, now: number): boolean {
    this.connected.push({ link, mtu, t: now });
    return true;
  }

  write(link: PeripheralLink, bytes: Uint8Array, now: number): void {
    this.received.push({ link, bytes: [...bytes], t: now });
    link.notify(Uint8Array.of(0xee, ...bytes));
  }

  disconnect(link: PeripheralLink, now: number): void {
    this.disconnected.push({ link, t: now });
  }
}

class EchoHost implements RadioHost<undefined> {
  readonly scheduler = new Scheduler({ start: 0 });
  readonly random: Random;
  readonly firmware = new EchoFirmware();

  constructor(seed: number | string) {
    this.random = new Random(seed);
  }

  withLock<T>(
    _lock: string,
    call: (firmware: PeripheralFirmware<undefined>, now: number, out: undefined) => T,
  ): T {
    return call(this.firmware, this.scheduler.now(), undefined);
  }
}

function setUp(seed: number | string, options: VirtualRadioOptions = {}) {
  const host = new EchoHost(seed);
  const radio = new VirtualRadio(host, options);
  const address = radio.addLock('echo', { position: { x: 0, y: 0 } });
  return { host, radio, address };
}

interface Trace {
  readonly notified: { bytes: number[]; t: number }[];
  readonly disconnects: { reason: DisconnectReason; t: number }[];
}

function watch(connection: GattConnection, host: EchoHost): Trace {
  const trace: Trace = { notified: [], disconnects: [] };
  connection.onNotify((value) =>
    trace.notified.push({ bytes: [...value], t: host.scheduler.now() }),
  );
  connection.onDisconnect((reason) => trace.disconnects.push({ reason, t: host.scheduler.now() }));
  return trace;
}

/** Writes `count` one-byte values at once and runs until all went through (or the link went). */
async function burst(seed: number, lossRate: number, count: number) {
  const { host, radio, address } = setUp(seed, { lossRate, supervisionTimeoutMs: 60_000 });
  const phone = radio.phone({ position: { x: 1, y: 0 } });
  const connection = await runPromise(host, phone.connect(address, { timeoutMs: 60_000, mtu: 23 }));
  const trace = watch(connection, host);
  const start = host.scheduler.now();
  const writes = Array.from({ length: count }, (_, i) => connection.write(Uint8Array.of(i)));
  await runPromise(host, Promise.all(writes));
  await advanceAsync(host, 60_000);
  const arrivals = host.firmware.received.map(({ bytes, t }) => ({
    value: bytes[0]!,
    t: t - start,
  }));
  const echoes = trace.notified.map(({ bytes, t }) => ({ value: bytes[1]!, t: t - start }));
  return { arrivals, echoes, trace };
}

describe('connection events', () => {
  it('set the link up in two events, then carry a write per event and its echo the next', async () => {
    const { host, radio, address } = setUp('timing');
    const phone = radio.phone({ position: { x: 3, y: 4 } });
    const asked = host.scheduler.now();
    const connection = await runPromise(
      host,
      phone.connect(address, { timeoutMs: 5_000, mtu: 100 }),
    );
    const [connected] = host.firmware.connected;
    expect(connected?.mtu).toBe(100);
    expect(connection.mtu).toBe(100);
    // The lock took the link at the MTU exchange; the phone got it one event later.
    expect(host.scheduler.now() - connected!.t).toBe(INTERVAL);
    // Within one advertising interval (200 ms + advDelay) and the setup's events.
    expect(host.scheduler.now() - asked).toBeLessThanOrEqual(210 + 2 * INTERVAL);

    const trace = watch(connection, host);
    const sentAt = host.scheduler.now();
    await runPromise(host, connection.write(Uint8Array.of(1, 2, 3)));
    expect(host.firmware.received).toEqual([
      { link: connected!.link, bytes: [1, 2, 3], t: sentAt + INTERVAL },
    ]);
    await advanceAsync(host, 1_000);
    expect(trace.notified).toEqual([{ bytes: [0xee, 1, 2, 3], t: sentAt + 2 * INTERVAL }]);
  });

  it('carry at most packetsPerEvent values per event, in order', async () => {
    const { arrivals } = await burst(1, 0, 10);
    const first = arrivals[0]!.t;
    expect(arrivals.map((a) => a.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(arrivals.map((a) => (a.t - first) / INTERVAL)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
  });

  it('refuse a value over ATT_MTU − 3 and a write after the link went', async () => {
    const { host, radio, address } = setUp('sizes');
    const phone = radio.phone({ position: { x: 0, y: 1 } });
    const connection = await runPromise(
      host,
      phone.connect(address, { timeoutMs: 5_000, mtu: 23 }),
    );
    await expect(connection.write(new Uint8Array(21))).rejects.toThrow(RangeError);
    await runPromise(host, connection.write(new Uint8Array(20)));
    await runPromise(host, connection.disconnect());
    await expect(connection.write(new Uint8Array(1))).rejects.toMatchObject({
      code: 'DISCONNECTED',
    });
  });
});

describe('loss', () => {
  it('delays values, never reorders or drops them (property over seeds and loss rates)', async () => {
    const lossless = await burst(0, 0, 24);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.double({ min: 0.05, max: 0.5, noNaN: true }),
        async (seed, lossRate) => {
          const lossy = await burst(seed, lossRate, 24);
          expect(lossy.arrivals.map((a) => a.value)).toEqual(lossless.arrivals.map((a) => a.value));
          expect(lossy.echoes.map((a) => a.value)).toEqual(lossless.echoes.map((a) => a.value));
          lossy.arrivals.forEach((arrival, i) => {
            expect(arrival.t).toBeGreaterThanOrEqual(lossless.arrivals[i]!.t);
          });
          expect(lossy.trace.disconnects).toEqual([]);
        },
      ),
      { numRuns: propertyRuns(15, 200) },
    );
  });

  it('makes a lossy run later overall, and the same seed gives the same trace', async () => {
    const lossless = await burst(5, 0, 40);
    const lossy = await burst(5, 0.3, 40);
    expect(lossy.arrivals.at(-1)!.t).toBeGreaterThan(lossless.arrivals.at(-1)!.t);
    expect(await burst(5, 0.3, 40)).toEqual(lossy);
    expect(await burst(6, 0.3, 40)).not.toEqual(lossy);
  });

  it('past the supervision timeout drops the link on both sides and fails pending writes', async () => {
    const { host, radio, address } = setUp('supervision', { supervisionTimeoutMs: 4_000 });
    const phone = radio.phone({ position: { x: 1, y: 1 } });
    const connection = await runPromise(
      host,
      phone.connect(address, { timeoutMs: 5_000, mtu: 23 }),
    );
    const trace = watch(connection, host);
    await runPromise(host, connection.write(Uint8Array.of(1)));
    const heard = host.firmware.received[0]!.t;
    // The phone walks away: no packet gets through any more.
    phone.moveTo({ x: 100, y: 0 });
    const pending = connection.write(Uint8Array.of(2));
    await expect(runPromise(host, pending)).rejects.toBeInstanceOf(TransportError);
    const drop = trace.disconnects[0]!.t;
    expect(trace.disconnects).toEqual([{ reason: 'supervision-timeout', t: drop }]);
    expect(drop - heard).toBeGreaterThanOrEqual(4_000);
    expect(drop - heard).toBeLessThan(4_000 + INTERVAL + 2 * INTERVAL);
    expect(host.firmware.disconnected).toEqual([
      { link: host.firmware.connected[0]!.link, t: drop },
    ]);
    expect(host.firmware.received).toHaveLength(1);
    expect(connection.mtu).toBe(23);
  });

  it('notices an idle link whose peripheral lost power, within its watchdog', async () => {
    const { host, radio, address } = setUp('power');
    const phone = radio.phone({ position: { x: 1, y: 1 } });
    const connection = await runPromise(
      host,
      phone.connect(address, { timeoutMs: 5_000, mtu: 23 }),
    );
    const trace = watch(connection, host);
    const off = host.scheduler.now() + 500;
    host.scheduler.at(off, () => {
      host.firmware.powered = false;
    });
    await advanceAsync(host, 10_000);
    expect(trace.disconnects.map((d) => d.reason)).toEqual(['supervision-timeout']);
    // Up to one watchdog period (a quarter of the timeout) early or late.
    expect(Math.abs(trace.disconnects[0]!.t - (off + 4_000))).toBeLessThanOrEqual(1_000 + INTERVAL);
  });
});

describe('several phones', () => {
  it('interleave on the scheduler and never see each other’s data', async () => {
    const { host, radio, address } = setUp('many');
    const phones = [0, 1, 2].map((n) => radio.phone({ position: { x: n, y: 2 } }));
    const connections = await runPromise(
      host,
      Promise.all(phones.map((p) => p.connect(address, { timeoutMs: 5_000, mtu: 23 }))),
    );
    const traces = connections.map((c) => watch(c, host));
    await runPromise(
      host,
      Promise.all(
        connections.flatMap((c, n) => [c.write(Uint8Array.of(n, 0)), c.write(Uint8Array.of(n, 1))]),
      ),
    );
    await advanceAsync(host, 1_000);
    traces.forEach((trace, n) => {
      expect(trace.notified.map((x) => x.bytes)).toEqual([
        [0xee, n, 0],
        [0xee, n, 1],
      ]);
    });
    // Each write reached the lock on its own phone's link.
    const links = host.firmware.connected.map((c) => c.link);
    expect(new Set(links).size).toBe(3);
    for (const { link, bytes } of host.firmware.received) {
      expect(links.indexOf(link)).toBe(bytes[0]);
    }
  });
});
