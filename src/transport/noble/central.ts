/**
 * A phone as a real BLE central on noble (ARCHITECTURE.md §6 "Transports"): the
 * `CentralTransport` of `../types.ts` over `@abandonware/noble`, so the phone engine
 * (`src/phone/phone.ts`) runs unchanged against a real lock — a virtual lock on bleno on another
 * adapter, a device, or bleno over the virtual HCI pair — on the host's clock.
 *
 * - Scan: noble scans for the keyway service UUID with duplicates reported, and the last report
 *   of each device in the window is its result. noble keeps parsed AD fields, not the bytes, and
 *   one manufacturer data field per device, the last heard (protocol/advertisement.ts explains why
 *   either decodes): the adapter re-encodes that AD structure and decodes it with the protocol's
 *   own decoders — as a scan response (full lock id) when it is one, else as the advertisement's
 *   (the id's prefix). noble reports a connectable device only after its scan response or a
 *   second advertisement.
 * - Connect: LE connection, then noble's ATT MTU exchange (it always asks for 256; the
 *   peripheral's limit applies), discovery of the service's `rx` and `tx`, and the subscription
 *   to `tx`; the connection is handed over after that, like the virtual radio's. The MTU the
 *   connection reports is the agreed ATT_MTU capped at the one the phone asked for, so at a
 *   request of 23 the phone writes 20-byte fragments whatever was agreed. A connection that
 *   cannot be established (the controller reports a failure) is tried again after a capped
 *   doubling backoff, within the timeout; one that drops during setup is `DISCONNECTED` at once,
 *   since a lock that drops a new link is busy and the phone's own retry policy handles that.
 *   Every step is bounded by the timeout (`TIMEOUT`, the half-made link is let go).
 * - Write: ATT Write Command on `rx`; it resolves once noble has queued it to the controller,
 *   which paces it by Number of Completed Packets, and rejects `DISCONNECTED` when the link went
 *   first.
 * - Disconnect reasons map from the HCI code of the Disconnection Complete event: 0x08
 *   (connection timeout) is `supervision-timeout`, a disconnect this side asked for is `local`,
 *   anything else `remote`.
 * - Time: `now()` is the wall clock, `sleep()` a host timer. `close()` clears every timer still
 *   pending, so a process (or a test run) ends when the work does.
 *
 * noble is an optional dependency loaded at `open` (`../ble-stack.ts`); a missing package,
 * adapter or permission is a `BleUnavailableError` that says how to fix it.
 */
import {
  decodeAdvertisement,
  decodeScanResponse,
  AD_TYPES,
  LOCK_ID_PREFIX_BYTES,
} from '../../../protocol/advertisement.js';
import type { AdvertisementData, ScanResponseData } from '../../../protocol/advertisement.js';
import {
  attPayloadBytes,
  ATT_MTU_MAX,
  ATT_MTU_MIN,
  CHARACTERISTICS,
  SERVICE_UUID,
  encodeUuid128,
} from '../../../protocol/gatt.js';
import {
  BleUnavailableError,
  explainAdapterState,
  explainBleFailure,
  loadBleStack,
} from '../ble-stack.js';
import { TransportError } from '../types.js';
import type { CentralTransport, DisconnectReason, GattConnection, ScanResult } from '../types.js';
import { HCI_REASON } from './noble-api.js';
import type { Noble, NobleCharacteristic, NoblePeripheral } from './noble-api.js';

export interface ConnectBackoff {
  /** The first retry's delay, ms. */
  readonly baseMs: number;
  /** The delay stops doubling here, ms. */
  readonly maxMs: number;
}

export interface NobleCentralOptions {
  /** A loaded noble (the virtual HCI controller gives one); default the real one, loaded now. */
  readonly noble?: Noble;
  /** The HCI adapter index for the real noble (`hciN`); default noble's choice. */
  readonly adapter?: number;
  /** The wall clock, ms; default `Date.now`. */
  readonly clock?: () => number;
  /** How long noble may take to power on, ms; default 5 000. */
  readonly readyTimeoutMs?: number;
  /** Between attempts to establish one connection; default 100 ms doubling to 1 s. */
  readonly connectBackoff?: ConnectBackoff;
}

const DEFAULT_BACKOFF: ConnectBackoff = Object.freeze({ baseMs: 100, maxMs: 1_000 });

const undashed = (uuid: string): string => uuid.replaceAll('-', '');
const SERVICE = undashed(SERVICE_UUID);
const RX = undashed(CHARACTERISTICS.rx.uuid);
const TX = undashed(CHARACTERISTICS.tx.uuid);
const SERVICE_LIST = Uint8Array.of(
  17,
  AD_TYPES.COMPLETE_UUID128_LIST,
  ...encodeUuid128(SERVICE_UUID),
);

/** The decoded advertisement of a device noble reported, or `undefined` if it is no keyway lock. */
export function scanResultOf(peripheral: NoblePeripheral): ScanResult | undefined {
  const { manufacturerData, serviceUuids } = peripheral.advertisement;
  if (manufacturerData === undefined || manufacturerData.length > 29) return undefined;
  const structure = Uint8Array.of(
    manufacturerData.length + 1,
    AD_TYPES.MANUFACTURER_DATA,
    ...manufacturerData,
  );
  let advertisement: AdvertisementData;
  let scanResponse: ScanResponseData | undefined;
  const response = decodeScanResponse(structure);
  if (response.ok) {
    scanResponse = response.value;
    advertisement = {
      protocolVersion: scanResponse.protocolVersion,
      status: scanResponse.status,
      lockIdPrefix: scanResponse.lockId.slice(0, LOCK_ID_PREFIX_BYTES),
    };
  } else {
    if (serviceUuids?.includes(SERVICE) !== true) return undefined;
    const decoded = decodeAdvertisement(Uint8Array.of(...SERVICE_LIST, ...structure));
    if (!decoded.ok) return undefined;
    advertisement = decoded.value;
  }
  return {
    address: peripheral.address,
    rssi: peripheral.rssi,
    advertisement,
    ...(scanResponse === undefined ? {} : { scanResponse }),
    connectable: peripheral.connectable,
  };
}

function loadNoble(adapter: number | undefined): Noble {
  if (adapter === undefined) return loadBleStack('@abandonware/noble') as Noble;
  // A noble of its own on `hciN` (the default export binds whichever adapter comes first).
  const withBinding = loadBleStack(
    '@abandonware/noble',
    adapter,
    '/with-custom-binding',
  ) as (options: { deviceId: number }) => Noble;
  try {
    return withBinding({ deviceId: adapter });
  } catch (error) {
    throw explainBleFailure(error, '@abandonware/noble', adapter) ?? error;
  }
}

function assertMs(ms: number, name: string): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) {
    throw new RangeError(`${name}: expected a finite number of ms >= 0`);
  }
}

export class NobleCentral implements CentralTransport {
  readonly #noble: Noble;
  readonly #clock: () => number;
  readonly #backoff: ConnectBackoff;
  /** Devices heard in scans, by address: what `connect` takes. */
  readonly #heard = new Map<string, NoblePeripheral>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #connections = new Set<NobleConnection>();
  /** Scans run one at a time: noble has one scan state. */
  #scanning: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(noble: Noble, options: NobleCentralOptions) {
    this.#noble = noble;
    this.#clock = options.clock ?? Date.now;
    this.#backoff = options.connectBackoff ?? DEFAULT_BACKOFF;
    if (!(this.#backoff.baseMs > 0) || !(this.#backoff.maxMs >= this.#backoff.baseMs)) {
      throw new RangeError('connectBackoff: expected 0 < baseMs <= maxMs');
    }
  }

  /**
   * A central once noble is powered on. Rejects with a `BleUnavailableError` when the real noble
   * cannot run here (no package, adapter or permission) or the adapter does not come up in time.
   */
  static async open(options: NobleCentralOptions = {}): Promise<NobleCentral> {
    const noble = options.noble ?? loadNoble(options.adapter);
    await poweredOn(noble, options.readyTimeoutMs ?? 5_000, options.adapter);
    return new NobleCentral(noble, options);
  }

  now(): number {
    return this.#clock();
  }

  async sleep(ms: number): Promise<void> {
    assertMs(ms, 'sleep');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      if (!this.#closed) this.#timers.add(timer);
      else clearTimeout(timer);
    });
  }

  async scan(durationMs: number): Promise<ScanResult[]> {
    assertMs(durationMs, 'scan');
    const run = this.#scanning.then(() => this.#scan(durationMs));
    this.#scanning = run.catch(() => undefined);
    return run;
  }

  async #scan(durationMs: number): Promise<ScanResult[]> {
    const noble = this.#noble;
    const results = new Map<string, ScanResult>();
    const onDiscover = (peripheral: NoblePeripheral): void => {
      const result = scanResultOf(peripheral);
      if (result === undefined) return;
      results.delete(result.address);
      results.set(result.address, result);
      this.#heard.set(result.address, peripheral);
    };
    noble.on('discover', onDiscover);
    try {
      await new Promise<void>((resolve, reject) =>
        noble.startScanning([SERVICE], true, (error) => (error ? reject(error) : resolve())),
      );
      await this.sleep(durationMs);
    } finally {
      noble.removeListener('discover', onDiscover);
      await new Promise<void>((resolve) => noble.stopScanning(() => resolve()));
    }
    return [...results.values()];
  }

  async connect(
    address: string,
    options: { readonly timeoutMs: number; readonly mtu: number },
  ): Promise<GattConnection> {
    const { timeoutMs, mtu } = options;
    assertMs(timeoutMs, 'connect: timeoutMs');
    if (!Number.isInteger(mtu) || mtu < ATT_MTU_MIN || mtu > ATT_MTU_MAX) {
      throw new RangeError(`connect: expected an mtu in ${ATT_MTU_MIN}..${ATT_MTU_MAX}`);
    }
    const peripheral = this.#heard.get(address);
    if (peripheral === undefined) {
      throw new TransportError('NOT_FOUND', `connect: no device ${address} heard in a scan`);
    }
    const deadline = this.now() + timeoutMs;
    for (let retry = 1; ; retry++) {
      const attempt = await this.#attempt(peripheral, deadline, mtu);
      if (attempt instanceof NobleConnection) return attempt;
      const delay = Math.min(
        this.#backoff.maxMs,
        this.#backoff.baseMs * 2 ** Math.min(retry - 1, 20),
      );
      if (this.now() + delay >= deadline) {
        throw new TransportError(
          'TIMEOUT',
          `connect: ${address} failed to connect (${attempt.message})`,
        );
      }
      await this.sleep(delay);
    }
  }

  /**
   * One attempt: the link, MTU, discovery and subscription before `deadline`. Resolves with the
   * connection, or with the controller's error when the link could not be made (worth another
   * try); rejects with a `TransportError` otherwise.
   */
  #attempt(
    peripheral: NoblePeripheral,
    deadline: number,
    requestedMtu: number,
  ): Promise<NobleConnection | Error> {
    const { address } = peripheral;
    return new Promise((resolve, reject) => {
      let phase: 'link' | 'setup' | 'done' = 'link';
      const timer = setTimeout(
        () => fail(new TransportError('TIMEOUT', `connect: ${address} did not answer in time`)),
        Math.max(0, deadline - this.now()),
      );
      const onDisconnect = (): void => {
        phase = 'done';
        fail(new TransportError('DISCONNECTED', `connect: ${address} dropped the link at setup`));
      };
      const settle = (): void => {
        clearTimeout(timer);
        peripheral.removeListener('disconnect', onDisconnect);
      };
      const fail = (error: TransportError): void => {
        if (phase === 'done' && error.code !== 'DISCONNECTED') return;
        const was = phase;
        phase = 'done';
        settle();
        if (was === 'link') peripheral.cancelConnect();
        else if (was === 'setup') peripheral.disconnect();
        reject(error);
      };
      peripheral.mtu = null;
      peripheral.connect((error) => {
        if (phase !== 'link') {
          // Too late: the attempt gave up; a link that came up after all is let go.
          if (!error && peripheral.state === 'connected') peripheral.disconnect();
          return;
        }
        if (error) {
          phase = 'done';
          settle();
          resolve(error);
          return;
        }
        phase = 'setup';
        peripheral.once('disconnect', onDisconnect);
        peripheral.discoverSomeServicesAndCharacteristics(
          [SERVICE],
          [RX, TX],
          (found, _, characteristics) => {
            if (phase !== 'setup') return;
            const rx = characteristics.find((c) => c.uuid === RX);
            const tx = characteristics.find((c) => c.uuid === TX);
            if (found !== null || rx === undefined || tx === undefined) {
              fail(new TransportError('NOT_FOUND', `connect: ${address} has no keyway service`));
              return;
            }
            const mtu = Math.max(
              ATT_MTU_MIN,
              Math.min(requestedMtu, peripheral.mtu ?? ATT_MTU_MIN),
            );
            const connection = new NobleConnection(peripheral, rx, tx, mtu, this.#connections);
            tx.subscribe((subscribed) => {
              if (phase !== 'setup') {
                connection.dispose();
                return;
              }
              if (subscribed) {
                connection.dispose();
                fail(
                  new TransportError('NOT_FOUND', `connect: ${address} refused the subscription`),
                );
                return;
              }
              phase = 'done';
              settle();
              this.#connections.add(connection);
              resolve(connection);
            });
          },
        );
      });
    });
  }

  /**
   * Stops scanning, disconnects every open connection and clears every pending timer (their
   * sleeps never resolve). noble itself stays loaded.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([...this.#connections].map((connection) => connection.disconnect()));
    await new Promise<void>((resolve) => this.#noble.stopScanning(() => resolve()));
  }
}

/** One link to a lock's keyway service. */
class NobleConnection implements GattConnection {
  readonly address: string;
  readonly mtu: number;
  readonly #peripheral: NoblePeripheral;
  readonly #rx: NobleCharacteristic;
  readonly #tx: NobleCharacteristic;
  readonly #registry: Set<NobleConnection>;
  readonly #notifyListeners: ((value: Uint8Array) => void)[] = [];
  readonly #disconnectListeners: ((reason: DisconnectReason) => void)[] = [];
  readonly #pendingWrites = new Set<(error: Error) => void>();
  readonly #gone: Promise<void>;
  #connected = true;
  #localClose = false;
  readonly #onData = (data: Buffer): void => {
    const value = new Uint8Array(data);
    for (const listener of this.#notifyListeners) listener(value);
  };
  readonly #onDisconnect = (reason?: number): void => this.#disconnected(reason);

  constructor(
    peripheral: NoblePeripheral,
    rx: NobleCharacteristic,
    tx: NobleCharacteristic,
    mtu: number,
    registry: Set<NobleConnection>,
  ) {
    this.address = peripheral.address;
    this.mtu = mtu;
    this.#peripheral = peripheral;
    this.#rx = rx;
    this.#tx = tx;
    this.#registry = registry;
    tx.on('data', this.#onData);
    this.#gone = new Promise((resolve) => {
      this.#disconnectListeners.push(() => resolve());
    });
    peripheral.on('disconnect', this.#onDisconnect);
  }

  write(value: Uint8Array): Promise<void> {
    if (!this.#connected) {
      return Promise.reject(new TransportError('DISCONNECTED', `write: ${this.address} is gone`));
    }
    // noble would turn a longer value into a queued long write; a fragment never is one.
    if (value.length > attPayloadBytes(this.mtu)) {
      return Promise.reject(
        new RangeError(`write: ${value.length} bytes over ATT_MTU ${this.mtu} − 3`),
      );
    }
    return new Promise((resolve, reject) => {
      const abort = (error: Error): void => reject(error);
      this.#pendingWrites.add(abort);
      this.#rx.write(Buffer.from(value), true, (error) => {
        if (!this.#pendingWrites.delete(abort)) return;
        if (error) reject(new TransportError('DISCONNECTED', `write: ${error.message}`));
        else resolve();
      });
    });
  }

  onNotify(listener: (value: Uint8Array) => void): void {
    this.#notifyListeners.push(listener);
  }

  onDisconnect(listener: (reason: DisconnectReason) => void): void {
    this.#disconnectListeners.push(listener);
  }

  disconnect(): Promise<void> {
    if (this.#connected && !this.#localClose) {
      this.#localClose = true;
      this.#peripheral.disconnect();
    }
    return this.#gone;
  }

  /** Drops the listeners of a connection that was never handed out. */
  dispose(): void {
    this.#tx.removeAllListeners('data');
    this.#peripheral.removeListener('disconnect', this.#onDisconnect);
  }

  #disconnected(code: number | undefined): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.dispose();
    this.#registry.delete(this);
    const reason: DisconnectReason =
      code === HCI_REASON.CONNECTION_TIMEOUT
        ? 'supervision-timeout'
        : this.#localClose
          ? 'local'
          : 'remote';
    const error = new TransportError('DISCONNECTED', `${this.address} disconnected`);
    for (const abort of this.#pendingWrites) abort(error);
    this.#pendingWrites.clear();
    for (const listener of this.#disconnectListeners) listener(reason);
  }
}

/** Resolves once noble reports `poweredOn`; a state that will not change is explained. */
function poweredOn(noble: Noble, timeoutMs: number, adapter: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let state: string;
    try {
      // Reading the state the first time makes noble open its HCI socket: errno failures surface here.
      state = noble.state;
    } catch (error) {
      reject(explainBleFailure(error, '@abandonware/noble', adapter) ?? (error as Error));
      return;
    }
    if (state === 'poweredOn') {
      resolve();
      return;
    }
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      noble.removeListener('stateChange', onState);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onState = (next: string): void => {
      if (next === 'poweredOn') finish();
      else if (next === 'unauthorized' || next === 'unsupported') {
        finish(explainAdapterState(next, adapter));
      }
    };
    const timer = setTimeout(() => {
      finish(
        explainAdapterState(noble.state, adapter) ??
          new BleUnavailableError(
            'adapter-off',
            `noble did not power on within ${timeoutMs} ms (state ${noble.state})`,
            'Check the adapter with "hciconfig"; with BlueZ running, stop it: sudo systemctl stop bluetooth.',
          ),
      );
    }, timeoutMs);
    noble.on('stateChange', onState);
  });
}
