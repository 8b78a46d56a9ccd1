/**
 * A keyway lock as a real BLE peripheral on bleno (ARCHITECTURE.md §6 "Transports", §4 "GATT"):
 * the lock's firmware, hosted in a World that runs on the wall clock (`src/sim/realtime.ts`),
 * answers real centrals — noble on another adapter, a phone, or noble over the virtual HCI pair.
 *
 * - GATT: the keyway service of `protocol/gatt.ts` — `rx` (write without response) into
 *   `lock.write`, `tx` (notify) from the lock's link, `info` (read) with `encodeLockInfo`.
 * - Advertising: the 31 bytes of advertising data and the scan response the firmware gives
 *   (`lock.advertisement(now)`, protocol/advertisement.ts), re-read after every connection and
 *   every `refreshMs`, and put on the air again only when they changed (a lost clock sets
 *   needs-update, a drained pack low-battery). While a central is connected the controller does
 *   not advertise (bleno advertises connectable only), so a second phone sees no lock rather
 *   than a non-connectable one; the firmware's `BUSY` path is the virtual radio's to exercise.
 * - Links: bleno accepts the connection at ATT_MTU 23; the central's MTU exchange follows, then
 *   its subscription to `tx`. The firmware gets the link at that subscription (`lock.connect`
 *   with ATT_MTU = bleno's `maxValueSize` + 3), as on the virtual radio, where the lock sees a
 *   link once its MTU is agreed; a write that comes first connects it at the MTU of the moment.
 *   bleno's disconnect reaches `lock.disconnect`, unless the lock closed the link itself.
 * - MTU: bleno agrees to at most 256 (`maxMtu` lowers it, down to 23) and silently cuts a
 *   notification to ATT_MTU − 3 bytes; the firmware's frame codec already cuts every fragment to
 *   the link's MTU − 3 (protocol/frame-codec.ts), so nothing is ever cut.
 * - Re-entrancy: the lock must not be called back from inside its own call (ble-server.ts), and
 *   bleno's send may hand bytes to a controller that answers at once (the virtual one does), so
 *   the lock's notifications and its close are queued and sent from `setImmediate`, in order.
 *
 * Layering (§1): this file never imports the firmware or the simulator; the lock is reached
 * through `PeripheralHost.withLock`, which `RealTimeDriver` satisfies as it is (and `World`, for
 * a caller that keeps time itself).
 */
import {
  encodeLockInfo,
  CHARACTERISTICS,
  ATT_MTU_MIN,
  SERVICE_UUID,
} from '../../../protocol/gatt.js';
import type { LockInfo } from '../../../protocol/gatt.js';
import {
  BleUnavailableError,
  explainAdapterState,
  explainBleFailure,
  loadBleStack,
} from '../ble-stack.js';
import type { PeripheralFirmware } from '../virtual-radio.js';
import type { PeripheralLink } from '../virtual-link.js';
import { BLENO_RESULT_INVALID_OFFSET, BLENO_RESULT_SUCCESS } from './bleno-api.js';
import type { Bleno } from './bleno-api.js';

/** How long a close waits at most for the notifications before it to leave, ms. */
const CLOSE_GRACE_MS = 500;
const CLOSE_POLL_MS = 2;

/** bleno's own ceiling on the ATT_MTU it agrees to. */
export const BLENO_MAX_MTU = 256;

/** What the peripheral needs of its World: a firmware call at the present. */
export interface PeripheralHost<Out> {
  withLock<T>(
    lock: string,
    call: (firmware: PeripheralFirmware<Out>, now: number, out: Out) => T,
  ): T;
}

export interface LockPeripheralOptions<Out> {
  /** The World, through its real-time driver (`src/sim/realtime.ts`). */
  readonly host: PeripheralHost<Out>;
  /** The lock's id in the World. */
  readonly lockId: string;
  /** The `info` value: model, firmware version, lock id, protocol versions. */
  readonly info: LockInfo;
  /** A loaded bleno (the virtual HCI controller gives one); default the real one, loaded now. */
  readonly bleno?: Bleno;
  /** The HCI adapter index for the real bleno (`hciN`); default bleno's choice. */
  readonly adapter?: number;
  /** The highest ATT_MTU to agree to, 23..256; default 256. */
  readonly maxMtu?: number;
  /** How often the advertisement is re-read from the firmware, ms; default 1 000. */
  readonly refreshMs?: number;
  /** How long bleno may take to power on, ms; default 5 000. */
  readonly readyTimeoutMs?: number;
  /** Hears every event from the start (the first advertising included); `onEvent` adds more. */
  readonly onEvent?: (event: PeripheralEvent) => void;
}

/** What the peripheral did, for a log or a step-by-step printout. */
export type PeripheralEvent =
  | {
      readonly type: 'advertising';
      readonly advertisingData: Uint8Array;
      readonly scanResponse: Uint8Array;
    }
  | { readonly type: 'accept'; readonly central: string }
  | { readonly type: 'mtu'; readonly mtu: number }
  | { readonly type: 'subscribe'; readonly mtu: number }
  | { readonly type: 'write'; readonly bytes: number }
  | { readonly type: 'notify'; readonly bytes: number }
  | { readonly type: 'disconnect'; readonly central: string; readonly by: 'central' | 'lock' };

/** One central's connection, from bleno's accept to its disconnect. */
interface Connection {
  readonly central: string;
  mtu: number;
  /** The firmware's link, once the lock has it. */
  link: QueuedLink | undefined;
  sendNotification: ((value: Buffer) => void) | undefined;
}

/** The lock's side of a connection: notifications and the close, queued (module comment). */
class QueuedLink implements PeripheralLink {
  readonly #queue: Uint8Array[] = [];
  #closing = false;
  #flushing = false;
  closed = false;
  readonly #send: (fragment: Uint8Array) => void;
  readonly #end: () => void;

  constructor(send: (fragment: Uint8Array) => void, end: () => void) {
    this.#send = send;
    this.#end = end;
  }

  notify(fragment: Uint8Array): void {
    if (this.closed || this.#closing) return;
    this.#queue.push(fragment.slice());
    this.#schedule();
  }

  close(): void {
    if (this.closed || this.#closing) return;
    this.#closing = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => {
      this.#flushing = false;
      if (this.closed) return;
      for (let fragment = this.#queue.shift(); fragment; fragment = this.#queue.shift()) {
        this.#send(fragment);
      }
      if (this.#closing) {
        this.closed = true;
        this.#end();
      }
    });
  }
}

const undashed = (uuid: string): string => uuid.replaceAll('-', '');

function assertMaxMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < ATT_MTU_MIN || mtu > BLENO_MAX_MTU) {
    throw new RangeError(`maxMtu: expected an integer in ${ATT_MTU_MIN}..${BLENO_MAX_MTU}`);
  }
  return mtu;
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean =>
  a !== undefined && a.length === b.length && a.every((byte, i) => byte === b[i]);

/** Loads the real bleno for adapter `hciN` (bleno reads the adapter from its environment). */
function loadBleno(adapter: number | undefined): Bleno {
  if (adapter !== undefined) process.env['BLENO_HCI_DEVICE_ID'] = String(adapter);
  return loadBleStack('@abandonware/bleno', adapter) as Bleno;
}

export class LockPeripheral<Out> {
  readonly #bleno: Bleno;
  readonly #host: PeripheralHost<Out>;
  readonly #lockId: string;
  readonly #refreshMs: number;
  readonly #listeners = new Set<(event: PeripheralEvent) => void>();
  #connection: Connection | undefined;
  #advertised: { data: Uint8Array; scan: Uint8Array } | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #unlisten: () => void = () => undefined;

  private constructor(bleno: Bleno, options: LockPeripheralOptions<Out>) {
    this.#bleno = bleno;
    this.#host = options.host;
    this.#lockId = options.lockId;
    this.#refreshMs = options.refreshMs ?? 1_000;
    if (!(this.#refreshMs > 0)) throw new RangeError('refreshMs: expected a number > 0');
  }

  /**
   * Powers bleno on, publishes the keyway service and starts advertising. Rejects with a
   * `BleUnavailableError` when the real bleno cannot run here (no package, adapter or
   * permission) or the adapter does not come up in time.
   */
  static async start<Out>(options: LockPeripheralOptions<Out>): Promise<LockPeripheral<Out>> {
    const maxMtu = assertMaxMtu(options.maxMtu ?? BLENO_MAX_MTU);
    const bleno = options.bleno ?? loadBleno(options.adapter);
    const peripheral = new LockPeripheral(bleno, options);
    if (options.onEvent !== undefined) peripheral.onEvent(options.onEvent);
    const gatt = bleno._bindings?._gatt;
    if (gatt !== undefined) gatt.maxMtu = maxMtu;
    else if (maxMtu !== BLENO_MAX_MTU) throw new RangeError('maxMtu: this bleno cannot lower it');
    await poweredOn(bleno, options.readyTimeoutMs ?? 5_000, options.adapter);
    await new Promise<void>((resolve, reject) =>
      bleno.setServices([peripheral.#service(options.info)], (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    peripheral.#listen();
    await peripheral.#advertise(true);
    peripheral.#armRefresh();
    return peripheral;
  }

  /** The adapter's address. */
  get address(): string {
    return this.#bleno.address;
  }

  /** The connected central's address, if any. */
  get central(): string | undefined {
    return this.#connection?.central;
  }

  onEvent(listener: (event: PeripheralEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops advertising and ends a connection; bleno itself stays loaded (it is a singleton). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    const connection = this.#connection;
    if (connection !== undefined) {
      const gone = new Promise<void>((resolve) => {
        const onDisconnect = (): void => {
          this.#bleno.removeListener('disconnect', onDisconnect);
          resolve();
        };
        this.#bleno.on('disconnect', onDisconnect);
      });
      this.#bleno.disconnect();
      await gone;
    }
    this.#unlisten();
    await new Promise<void>((resolve) => this.#bleno.stopAdvertising(resolve));
  }

  #emit(event: PeripheralEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #service(info: LockInfo): object {
    const { Characteristic, PrimaryService } = this.#bleno;
    const rx = new Characteristic({
      uuid: undashed(CHARACTERISTICS.rx.uuid),
      properties: ['writeWithoutResponse'],
      onWriteRequest: (data, offset, _withoutResponse, callback) => {
        if (offset !== 0) {
          callback(BLENO_RESULT_INVALID_OFFSET);
          return;
        }
        this.#written(data);
        callback(BLENO_RESULT_SUCCESS);
      },
    });
    const tx = new Characteristic({
      uuid: undashed(CHARACTERISTICS.tx.uuid),
      properties: ['notify'],
      onSubscribe: (maxValueSize, updateValueCallback) =>
        this.#subscribed(maxValueSize, updateValueCallback),
      onUnsubscribe: () => {
        if (this.#connection !== undefined) this.#connection.sendNotification = undefined;
      },
    });
    const infoCharacteristic = new Characteristic({
      uuid: undashed(CHARACTERISTICS.info.uuid),
      properties: ['read'],
      value: Buffer.from(encodeLockInfo(info)),
    });
    return new PrimaryService({
      uuid: undashed(SERVICE_UUID),
      characteristics: [rx, tx, infoCharacteristic],
    });
  }

  #listen(): void {
    const bleno = this.#bleno;
    const onAccept = (central: string): void => {
      this.#connection = {
        central,
        mtu: ATT_MTU_MIN,
        link: undefined,
        sendNotification: undefined,
      };
      this.#emit({ type: 'accept', central });
    };
    const onMtu = (mtu: number): void => {
      if (this.#connection === undefined) return;
      this.#connection.mtu = mtu;
      this.#emit({ type: 'mtu', mtu });
    };
    const onDisconnect = (central: string): void => this.#disconnected(central);
    bleno.on('accept', onAccept).on('mtuChange', onMtu).on('disconnect', onDisconnect);
    this.#unlisten = () => {
      bleno.removeListener('accept', onAccept);
      bleno.removeListener('mtuChange', onMtu);
      bleno.removeListener('disconnect', onDisconnect);
    };
  }

  #subscribed(maxValueSize: number, send: (value: Buffer) => void): void {
    const connection = this.#connection;
    if (connection === undefined) return;
    connection.mtu = maxValueSize + 3;
    connection.sendNotification = send;
    this.#emit({ type: 'subscribe', mtu: connection.mtu });
    this.#firmwareLink(connection);
  }

  #written(data: Buffer): void {
    const connection = this.#connection;
    if (connection === undefined) return;
    const link = this.#firmwareLink(connection);
    if (link.closed) return;
    this.#emit({ type: 'write', bytes: data.length });
    const bytes = new Uint8Array(data);
    this.#host.withLock(this.#lockId, (firmware, now, out) =>
      firmware.write(link, bytes, now, out),
    );
  }

  /** The firmware's link of `connection`, connecting it at the current MTU on first use. */
  #firmwareLink(connection: Connection): QueuedLink {
    if (connection.link !== undefined) return connection.link;
    const link = new QueuedLink(
      (fragment) => {
        if (connection.sendNotification === undefined) return;
        this.#emit({ type: 'notify', bytes: fragment.length });
        connection.sendNotification(Buffer.from(fragment));
      },
      () => this.#disconnectOnceSent(),
    );
    connection.link = link;
    const { mtu } = connection;
    this.#host.withLock(this.#lockId, (firmware, now, out) =>
      firmware.connect(link, mtu, now, out),
    );
    return link;
  }

  /**
   * Disconnects once every notification queued so far has left the host: bleno sends its HCI
   * Disconnect at once, ahead of ACL packets still waiting for controller buffers, and the
   * controller then drops them, so a refusal the lock notified just before closing would never
   * reach the phone. Without bleno's HCI counters to watch, it waits `CLOSE_GRACE_MS` instead.
   */
  #disconnectOnceSent(): void {
    const hci = this.#bleno._bindings?._hci;
    const started = Date.now();
    const check = (): void => {
      const queued = hci?._aclOutQueue?.length ?? 0;
      const inFlight = Object.values(hci?._handleAclsInProgress ?? {}).reduce((a, b) => a + b, 0);
      const drained = hci !== undefined && queued === 0 && inFlight === 0;
      if (drained || Date.now() - started >= CLOSE_GRACE_MS) this.#bleno.disconnect();
      else setTimeout(check, CLOSE_POLL_MS);
    };
    check();
  }

  #disconnected(central: string): void {
    const connection = this.#connection;
    this.#connection = undefined;
    const link = connection?.link;
    const byLock = link?.closed === true;
    if (link !== undefined && !byLock) {
      link.closed = true;
      this.#host.withLock(this.#lockId, (firmware, now, out) =>
        firmware.disconnect(link, now, out),
      );
    }
    this.#emit({ type: 'disconnect', central, by: byLock ? 'lock' : 'central' });
    // bleno restarts advertising with the data it had; the firmware's may have changed since.
    if (!this.#stopped) void this.#advertise(false).catch(() => undefined);
  }

  #armRefresh(): void {
    this.#refreshTimer = setTimeout(() => {
      if (this.#stopped) return;
      if (this.#connection === undefined) void this.#advertise(false).catch(() => undefined);
      this.#armRefresh();
    }, this.#refreshMs);
  }

  /** Puts the firmware's advertisement on the air when `force`d or changed. */
  async #advertise(force: boolean): Promise<void> {
    const advertising = this.#host.withLock(this.#lockId, (firmware, now) =>
      firmware.advertisement(now),
    );
    const data = advertising.advertisingData;
    const scan = advertising.scanResponse;
    const previous = this.#advertised;
    if (!force && sameBytes(previous?.data, data) && sameBytes(previous?.scan, scan)) return;
    this.#advertised = { data, scan };
    await new Promise<void>((resolve, reject) =>
      this.#bleno.startAdvertisingWithEIRData(Buffer.from(data), Buffer.from(scan), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    this.#emit({ type: 'advertising', advertisingData: data, scanResponse: scan });
  }
}

/** Resolves once bleno reports `poweredOn`; a state that will not change is explained. */
function poweredOn(bleno: Bleno, timeoutMs: number, adapter: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      bleno.removeListener('stateChange', onState);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onState = (state: string): void => {
      if (state === 'poweredOn') finish();
      else {
        const problem = explainAdapterState(state, adapter);
        if (problem !== undefined && state !== 'poweredOff') finish(problem);
      }
    };
    const timer = setTimeout(() => {
      finish(
        explainAdapterState(bleno.state, adapter) ??
          new BleUnavailableError(
            'adapter-off',
            `bleno did not power on within ${timeoutMs} ms (state ${bleno.state})`,
            'Check the adapter with "hciconfig"; with BlueZ running, stop it: sudo systemctl stop bluetooth.',
          ),
      );
    }, timeoutMs);
    try {
      // The first stateChange listener makes bleno open its HCI socket: errno failures surface here.
      bleno.on('stateChange', onState);
    } catch (error) {
      finish(explainBleFailure(error, '@abandonware/bleno', adapter) ?? (error as Error));
      return;
    }
    if (bleno.state === 'poweredOn') finish();
  });
}
