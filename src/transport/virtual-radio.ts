/**
 * The virtual radio (ARCHITECTURE.md §6 "Transports"): Bluetooth LE between the World's locks and
 * its centrals (phones, the hub) on the World's clock, behind the transport interface of
 * `types.ts`, so the phone engine runs on it unchanged.
 *
 * - Where: locks (by World lock id) and centrals stand at 2-D positions in metres. A central
 *   hears a lock within `rangeM` (default 30 m, indoors), with an RSSI from the log-distance
 *   path-loss model (`radio-model.ts`).
 * - Advertising: each lock advertises every `advertisingIntervalMs` plus advDelay (0–10 ms, Core
 *   Vol 6 Part B §4.4.2.2.1): by default 200 ms for a battery lock, 100 ms for the mains-powered
 *   R. A scan sees a lock at the first of its advertising events in the window that reaches the
 *   scanner, with the advertising data, scan response and connectable flag the firmware gives at
 *   that instant (`lock.advertisement(now)`); a lock without power does not advertise.
 * - Connecting: at the lock's next advertising event heard, the central sends its CONNECT_IND;
 *   the link (`virtual-link.ts`) then runs its setup, exchanges data and models loss at
 *   connection-event granularity. ATT_MTU = min(requested, the lock's limit, default 247), never
 *   below 23.
 * - A lock holding a connection advertises non-connectable (protocol/spec/session.md §7.1). With
 *   `connectWhileHeld: 'refused'` (default) the lock's stack takes the link anyway, as one that
 *   accepts several links does, and the firmware answers `BUSY` at the first write
 *   (firmware-sim/ble-server.ts); with `'wait'` the central only answers connectable advertising
 *   (Core Vol 6 Part B §4.4.4: an initiator sends CONNECT_IND in reply to ADV_IND), so it waits
 *   until the lock is free or its timeout passes.
 *
 * Several centrals share the air and interleave on the scheduler; each link has its own queues,
 * so no data crosses links. All randomness comes from `random.fork('radio')`, drawn in scheduler
 * order, so a run repeats by seed.
 *
 * Layering (§1): transports never import the simulator or the firmware. The World is reached
 * through `RadioHost`, which it satisfies as it is: its scheduler, its seeded random, and
 * `withLock(id, (lock, now, out) => …)` to run a firmware call at world time. That port is also
 * the seam for any other peripheral the World hosts later; the hub, a central, takes a
 * `VirtualCentral` of the same radio.
 */
import { decodeAdvertisement, decodeScanResponse } from '../../protocol/advertisement.js';
import { ATT_MTU_MAX, ATT_MTU_MIN } from '../../protocol/gatt.js';
import {
  advertisingEventAfter,
  advertisingSchedule,
  assertPosition,
  distance,
  rssiAt,
  staticRandomAddress,
} from './radio-model.js';
import type { AdvertisingSchedule, PathLoss, Position, RadioRandom } from './radio-model.js';
import { TransportError } from './types.js';
import type { CentralTransport, GattConnection, ScanResult } from './types.js';
import { VirtualLink } from './virtual-link.js';
import type { LinkPort, LinkTiming, PeripheralLink, RadioScheduler } from './virtual-link.js';

export type { Position, RadioRandom } from './radio-model.js';
export type { PeripheralLink, RadioScheduler } from './virtual-link.js';

/** What the firmware puts on the air (firmware-sim/ble-server.ts `BleAdvertising`). */
export interface PeripheralAdvertising {
  readonly advertisingData: Uint8Array;
  readonly scanResponse: Uint8Array;
  readonly connectable: boolean;
}

/** A lock's firmware as the radio reaches it (firmware-sim/lock.ts `Lock`). */
export interface PeripheralFirmware<Out> {
  readonly powered: boolean;
  readonly actuator: { readonly model: string };
  advertisement(now: number): PeripheralAdvertising;
  connect(link: PeripheralLink, mtu: number, now: number, out: Out): boolean;
  write(link: PeripheralLink, bytes: Uint8Array, now: number, out: Out): void;
  disconnect(link: PeripheralLink, now: number, out: Out): void;
}

/** What the radio needs of its World (src/sim/world.ts satisfies it). */
export interface RadioHost<Out> {
  readonly scheduler: RadioScheduler;
  readonly random: RadioRandom;
  withLock<T>(
    lock: string,
    call: (firmware: PeripheralFirmware<Out>, now: number, out: Out) => T,
  ): T;
}

export interface VirtualRadioOptions {
  /** How far a central hears a lock, metres; default 30. */
  readonly rangeM?: number;
  /** Default 30 ms. */
  readonly connectionIntervalMs?: number;
  /** Default 4 s. */
  readonly supervisionTimeoutMs?: number;
  /** Data packets per direction per connection event; default 4. */
  readonly packetsPerEvent?: number;
  /** Probability that one packet (advertising or data) is lost; default 0. */
  readonly lossRate?: number;
  /** A lock's ATT_MTU limit when `addLock` does not give one; default 247. */
  readonly peripheralMtu?: number;
  /** What a connection request to a lock holding a connection does (module comment). */
  readonly connectWhileHeld?: 'refused' | 'wait';
  readonly pathLoss?: Partial<PathLoss>;
}

export interface RadioLockOptions {
  readonly position: Position;
  /** Default 100 ms for the R (mains), 200 ms for a battery lock. */
  readonly advertisingIntervalMs?: number;
  /** The lock's ATT_MTU limit; default the radio's `peripheralMtu`. */
  readonly mtu?: number;
}

export interface CentralOptions {
  readonly position: Position;
}

export const RADIO_DEFAULTS = Object.freeze({
  rangeM: 30,
  connectionIntervalMs: 30,
  supervisionTimeoutMs: 4_000,
  packetsPerEvent: 4,
  lossRate: 0,
  peripheralMtu: 247,
  connectWhileHeld: 'refused',
  pathLoss: Object.freeze({ rssiAt1mDbm: -59, exponent: 2.5, shadowingDb: 2 }),
  mainsAdvertisingIntervalMs: 100,
  batteryAdvertisingIntervalMs: 200,
} as const);

interface PlacedLock {
  readonly id: string;
  readonly address: string;
  readonly position: Position;
  readonly schedule: AdvertisingSchedule;
  readonly mtu: number;
}

interface ResolvedOptions {
  readonly rangeM: number;
  readonly timing: LinkTiming;
  readonly peripheralMtu: number;
  readonly connectWhileHeld: 'refused' | 'wait';
  readonly pathLoss: PathLoss;
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name}: expected a finite number > 0`);
  }
  return value;
}

const isAttMtu = (value: number): boolean =>
  Number.isInteger(value) && value >= ATT_MTU_MIN && value <= ATT_MTU_MAX;

function attMtu(value: number, name: string): number {
  if (!isAttMtu(value)) {
    throw new RangeError(`${name}: expected an ATT_MTU in ${ATT_MTU_MIN}..${ATT_MTU_MAX}`);
  }
  return value;
}

function resolveOptions(options: VirtualRadioOptions): ResolvedOptions {
  const d = RADIO_DEFAULTS;
  const lossRate = options.lossRate ?? d.lossRate;
  if (!(lossRate >= 0 && lossRate <= 1)) throw new RangeError('lossRate: expected 0..1');
  const packetsPerEvent = options.packetsPerEvent ?? d.packetsPerEvent;
  if (!Number.isSafeInteger(packetsPerEvent) || packetsPerEvent < 1) {
    throw new RangeError('packetsPerEvent: expected an integer >= 1');
  }
  const pathLoss = { ...d.pathLoss, ...options.pathLoss };
  if (!Number.isFinite(pathLoss.rssiAt1mDbm)) throw new RangeError('pathLoss.rssiAt1mDbm');
  positive(pathLoss.exponent, 'pathLoss.exponent');
  if (!(pathLoss.shadowingDb >= 0)) throw new RangeError('pathLoss.shadowingDb: expected >= 0');
  return {
    rangeM: positive(options.rangeM ?? d.rangeM, 'rangeM'),
    timing: {
      connectionIntervalMs: positive(
        options.connectionIntervalMs ?? d.connectionIntervalMs,
        'connectionIntervalMs',
      ),
      supervisionTimeoutMs: positive(
        options.supervisionTimeoutMs ?? d.supervisionTimeoutMs,
        'supervisionTimeoutMs',
      ),
      packetsPerEvent,
      lossRate,
    },
    peripheralMtu: attMtu(options.peripheralMtu ?? d.peripheralMtu, 'peripheralMtu'),
    connectWhileHeld: options.connectWhileHeld ?? d.connectWhileHeld,
    pathLoss,
  };
}

/** The radio as its centrals see it. */
interface Air {
  readonly scheduler: RadioScheduler;
  readonly random: RadioRandom;
  readonly options: ResolvedOptions;
  placed(): Iterable<PlacedLock>;
  lockAt(address: string): PlacedLock | undefined;
  inRange(position: Position, lock: PlacedLock): boolean;
  powered(lock: PlacedLock): boolean;
  advertising(lock: PlacedLock): PeripheralAdvertising;
  /** The port of a link from the central at `position()` to `lock`. */
  linkPort(
    position: () => Position,
    lock: PlacedLock,
    released: (link: VirtualLink) => void,
  ): LinkPort;
}

export class VirtualRadio<Out> {
  readonly #host: RadioHost<Out>;
  readonly #random: RadioRandom;
  readonly #options: ResolvedOptions;
  readonly #locks = new Map<string, PlacedLock>();
  readonly #byAddress = new Map<string, PlacedLock>();
  readonly #air: Air;

  constructor(host: RadioHost<Out>, options: VirtualRadioOptions = {}) {
    this.#host = host;
    this.#random = host.random.fork('radio');
    this.#options = resolveOptions(options);
    this.#air = this.#makeAir();
  }

  /** Puts World lock `lockId` on the air at a position; returns its address. */
  addLock(lockId: string, options: RadioLockOptions): string {
    if (this.#locks.has(lockId)) throw new RangeError(`lock "${lockId}" is already on the radio`);
    assertPosition(options.position, 'position');
    const model = this.#host.withLock(lockId, (firmware) => firmware.actuator.model);
    const interval =
      options.advertisingIntervalMs ??
      (model === 'R'
        ? RADIO_DEFAULTS.mainsAdvertisingIntervalMs
        : RADIO_DEFAULTS.batteryAdvertisingIntervalMs);
    // Its own stream: placing another lock never changes this one's address or timing.
    const draw = this.#random.fork(`lock:${lockId}`);
    let address = staticRandomAddress(draw);
    while (this.#byAddress.has(address)) address = staticRandomAddress(draw);
    const placed: PlacedLock = {
      id: lockId,
      address,
      position: { x: options.position.x, y: options.position.y },
      schedule: advertisingSchedule(interval, this.#host.scheduler.now(), draw),
      mtu: attMtu(options.mtu ?? this.#options.peripheralMtu, 'mtu'),
    };
    this.#locks.set(lockId, placed);
    this.#byAddress.set(address, placed);
    return address;
  }

  /** The radio address of lock `lockId`. */
  addressOf(lockId: string): string {
    const placed = this.#locks.get(lockId);
    if (placed === undefined) throw new RangeError(`lock "${lockId}" is not on the radio`);
    return placed.address;
  }

  /** A new central (a phone, the hub) at a position. */
  central(options: CentralOptions): VirtualCentral {
    return new VirtualCentral(this.#air, options.position);
  }

  /** A new phone: a central. */
  phone(options: CentralOptions): VirtualCentral {
    return this.central(options);
  }

  #makeAir(): Air {
    const host = this.#host;
    const options = this.#options;
    const random = this.#random;
    const powered = (lock: PlacedLock): boolean =>
      host.withLock(lock.id, (firmware) => firmware.powered);
    const inRange = (position: Position, lock: PlacedLock): boolean =>
      distance(position, lock.position) <= options.rangeM;
    return {
      scheduler: host.scheduler,
      random,
      options,
      placed: () => this.#locks.values(),
      lockAt: (address) => this.#byAddress.get(address),
      inRange,
      powered,
      advertising: (lock) => host.withLock(lock.id, (firmware, now) => firmware.advertisement(now)),
      linkPort: (position, lock, released) => ({
        scheduler: host.scheduler,
        random,
        timing: options.timing,
        reachable: () => inRange(position(), lock) && powered(lock),
        lockConnect: (link, mtu) => {
          host.withLock(lock.id, (firmware, now, out) => firmware.connect(link, mtu, now, out));
        },
        lockWrite: (link, bytes) =>
          host.withLock(lock.id, (firmware, now, out) => firmware.write(link, bytes, now, out)),
        lockDisconnect: (link) =>
          host.withLock(lock.id, (firmware, now, out) => firmware.disconnect(link, now, out)),
        released,
      }),
    };
  }
}

/** A central on the virtual radio: a phone or the hub (`CentralTransport`). */
export class VirtualCentral implements CentralTransport {
  readonly #air: Air;
  #position: Position;
  readonly #links = new Set<VirtualLink>();
  readonly #whereAmI = (): Position => this.#position;
  readonly #released = (link: VirtualLink): void => {
    this.#links.delete(link);
  };

  constructor(air: Air, position: Position) {
    assertPosition(position, 'position');
    this.#air = air;
    this.#position = { x: position.x, y: position.y };
  }

  get position(): Position {
    return this.#position;
  }

  /** Walks to `position`; a link that loses its lock by the move starts towards supervision. */
  moveTo(position: Position): void {
    assertPosition(position, 'position');
    this.#position = { x: position.x, y: position.y };
    const now = this.#air.scheduler.now();
    for (const link of this.#links) link.checkAfterMove(now);
  }

  now(): number {
    return this.#air.scheduler.now();
  }

  sleep(ms: number): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      return Promise.reject(new RangeError('sleep: expected a finite number of ms >= 0'));
    }
    const { scheduler } = this.#air;
    return new Promise((resolve) => {
      scheduler.at(scheduler.now() + ms, () => resolve());
    });
  }

  /**
   * An active scan of `durationMs` (one result per lock, at its first advertising event heard in
   * the window, in the order heard) among the locks in range when it starts.
   */
  scan(durationMs: number): Promise<ScanResult[]> {
    if (!(durationMs >= 0) || !Number.isFinite(durationMs)) {
      return Promise.reject(new RangeError('scan: expected a finite durationMs >= 0'));
    }
    const air = this.#air;
    const { scheduler } = air;
    const end = scheduler.now() + durationMs;
    const results: ScanResult[] = [];
    const listen = (lock: PlacedLock) => (now: number) => {
      const report = this.#report(lock);
      if (report !== undefined) {
        if (report !== 'unheard') results.push(report);
        return;
      }
      const next = advertisingEventAfter(lock.schedule, now);
      if (next < end) scheduler.at(next, listen(lock));
    };
    for (const lock of air.placed()) {
      if (!air.inRange(this.#position, lock)) continue;
      const first = advertisingEventAfter(lock.schedule, scheduler.now());
      if (first < end) scheduler.at(first, listen(lock));
    }
    return new Promise((resolve) => {
      scheduler.at(end, () => resolve(results));
    });
  }

  /**
   * What one advertising event of `lock` gives, now: a result, `'unheard'` for a device that
   * is not a keyway lock (nothing to wait for), or `undefined` when the event did not reach us.
   */
  #report(lock: PlacedLock): ScanResult | 'unheard' | undefined {
    const air = this.#air;
    if (!air.inRange(this.#position, lock) || !air.powered(lock) || this.#lost()) return undefined;
    const advertising = air.advertising(lock);
    const advertisement = decodeAdvertisement(advertising.advertisingData);
    if (!advertisement.ok) return 'unheard';
    const response = this.#lost() ? undefined : decodeScanResponse(advertising.scanResponse);
    const metres = distance(this.#position, lock.position);
    return {
      address: lock.address,
      rssi: rssiAt(metres, air.options.pathLoss, air.random),
      advertisement: advertisement.value,
      ...(response?.ok === true ? { scanResponse: response.value } : {}),
      connectable: advertising.connectable,
    };
  }

  #lost(): boolean {
    const { lossRate } = this.#air.options.timing;
    return lossRate > 0 && this.#air.random.nextFloat() < lossRate;
  }

  connect(
    address: string,
    options: { readonly timeoutMs: number; readonly mtu: number },
  ): Promise<GattConnection> {
    const { timeoutMs, mtu } = options;
    if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(new RangeError('connect: expected a finite timeoutMs >= 0'));
    }
    if (!isAttMtu(mtu)) {
      return Promise.reject(
        new RangeError(`connect: expected an mtu in ${ATT_MTU_MIN}..${ATT_MTU_MAX}`),
      );
    }
    const air = this.#air;
    const lock = air.lockAt(address);
    if (lock === undefined) {
      return Promise.reject(new TransportError('NOT_FOUND', `connect: no device at ${address}`));
    }
    return new Promise((resolve, reject) => this.#initiate(lock, timeoutMs, mtu, resolve, reject));
  }

  /**
   * The initiating state: waits for an advertising event of `lock` that reaches us (and, with
   * `connectWhileHeld: 'wait'`, is connectable), then hands over to a link until it is set up.
   */
  #initiate(
    lock: PlacedLock,
    timeoutMs: number,
    requestedMtu: number,
    resolve: (connection: GattConnection) => void,
    reject: (error: Error) => void,
  ): void {
    const air = this.#air;
    const { scheduler } = air;
    const deadline = scheduler.now() + timeoutMs;
    let everInRange = false;
    let advertisingTimer = 0;
    let link: VirtualLink | undefined;
    const timeout = scheduler.at(deadline, () => {
      if (advertisingTimer !== 0) scheduler.cancel(advertisingTimer);
      link?.abandon();
      reject(
        everInRange
          ? new TransportError('TIMEOUT', `connect: ${lock.address} did not answer in time`)
          : new TransportError('OUT_OF_RANGE', `connect: ${lock.address} is out of range`),
      );
    });
    const onAdvertising = (now: number): void => {
      advertisingTimer = 0;
      if (air.inRange(this.#position, lock)) {
        everInRange = true;
        if (air.powered(lock) && !this.#lost() && this.#mayConnect(lock)) {
          const mtu = Math.max(ATT_MTU_MIN, Math.min(requestedMtu, lock.mtu));
          const port = air.linkPort(this.#whereAmI, lock, this.#released);
          link = new VirtualLink(port, lock.address, mtu, now, {
            established: (connection) => {
              scheduler.cancel(timeout);
              resolve(connection);
            },
            failed: (error) => {
              scheduler.cancel(timeout);
              reject(error);
            },
          });
          this.#links.add(link);
          return;
        }
      }
      const next = advertisingEventAfter(lock.schedule, now);
      if (next < deadline) advertisingTimer = scheduler.at(next, onAdvertising);
    };
    const first = advertisingEventAfter(lock.schedule, scheduler.now());
    if (first < deadline) advertisingTimer = scheduler.at(first, onAdvertising);
  }

  #mayConnect(lock: PlacedLock): boolean {
    const air = this.#air;
    return air.options.connectWhileHeld === 'refused' || air.advertising(lock).connectable;
  }
}
