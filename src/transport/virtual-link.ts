/**
 * One connection on the virtual radio (ARCHITECTURE.md §6 "Transports"), seen from both ends: the
 * phone's `GattConnection` and the lock firmware's `BleLink` (firmware-sim/ble-server.ts), joined
 * by a model of the link layer on the World's clock.
 *
 * Connection events (Core spec Vol 6 Part B §4.5.1) come every connection interval from the
 * anchor. In each, the central transmits first: up to `packetsPerEvent` queued writes reach the
 * lock, then up to as many of the notifications the lock had queued before the event reach the
 * phone (a reply is never sent in the event of its request, as a peripheral's host cannot answer
 * within the 150 µs between packets). Each packet is lost with probability `lossRate`; a lost
 * packet is acknowledged by no one and sent again at the next event, with everything queued after
 * it, so data arrives later but never out of order (§4.5.9 acknowledgement and flow control).
 * When no packet gets through for the supervision timeout (lost events, the phone walked out of
 * range, the lock lost power), the link is lost on both sides (§4.5.2).
 *
 * Setup: the first connection event carries the phone's ATT Exchange MTU (Vol 3 Part F §3.4.2),
 * after which the lock's firmware gets the link at the negotiated MTU; the next carries the
 * phone's subscription to `tx`, after which the phone gets its `GattConnection`.
 *
 * Cost: a link schedules connection events only while something is queued; an idle link has one
 * watchdog timer per quarter of the supervision timeout, which notices a lock without power. A
 * move of the phone is checked at once (`checkAfterMove`). Random loss is not drawn for an idle
 * link's empty events: at any loss rate that lets data through, a supervision timeout's worth of
 * consecutive losses (133 events at the defaults; 0.3^133 ≈ 1e-70) does not happen.
 *
 * Nothing here calls back into the lock inside the lock's own call: `notify` and `close` only
 * queue, and delivery happens at a later connection event, on the scheduler (ble-server.ts).
 */
import { attPayloadBytes } from '../../protocol/gatt.js';
import type { RadioRandom } from './radio-model.js';
import { TransportError } from './types.js';
import type { DisconnectReason, GattConnection } from './types.js';

/** A lock's link as its firmware holds it (firmware-sim/ble-server.ts `BleLink`). */
export interface PeripheralLink {
  notify(fragment: Uint8Array): void;
  close(reason: number): void;
}

/** The scheduler, as `src/sim/scheduler.ts` provides it. */
export interface RadioScheduler {
  now(): number;
  at(time: number, callback: (now: number) => void): number;
  cancel(id: number): boolean;
}

/** The link-layer parameters of one connection. */
export interface LinkTiming {
  readonly connectionIntervalMs: number;
  readonly supervisionTimeoutMs: number;
  readonly packetsPerEvent: number;
  readonly lossRate: number;
}

/** What a link needs of the radio and of the lock behind it. */
export interface LinkPort {
  readonly scheduler: RadioScheduler;
  readonly random: RadioRandom;
  readonly timing: LinkTiming;
  /** True while the phone is in range of a powered lock. */
  reachable(): boolean;
  /** The lock's firmware takes the link at `mtu`: `connect(link, mtu, now, out)`. */
  lockConnect(link: PeripheralLink, mtu: number): void;
  lockWrite(link: PeripheralLink, bytes: Uint8Array): void;
  lockDisconnect(link: PeripheralLink): void;
  /** The link is gone; the radio forgets it. */
  released(link: VirtualLink): void;
}

interface PendingWrite {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** The lock's close, queued behind its notifications. */
const CLOSE = 'close';

type Phase = 'mtu-exchange' | 'subscribe' | 'open' | 'closed';

/** Setup's outcome, for the connect attempt that waits on it. */
export interface LinkSetup {
  established(link: VirtualLink): void;
  failed(error: TransportError): void;
}

export class VirtualLink implements GattConnection {
  readonly address: string;
  readonly mtu: number;
  /** The lock's side of the link: what its firmware notifies and closes. */
  readonly peripheral: PeripheralLink;
  readonly #port: LinkPort;
  #setup: LinkSetup | undefined;
  #phase: Phase = 'mtu-exchange';
  /** The first connection event; events follow every interval. */
  readonly #anchor: number;
  /** The last connection event in which a packet got through. */
  #lastHeard: number;
  #timer = 0;
  #timerIsEvent = false;
  #lockHasLink = false;
  #terminating = false;
  readonly #uplink: PendingWrite[] = [];
  readonly #downlink: (Uint8Array | typeof CLOSE)[] = [];
  readonly #notifyListeners: ((value: Uint8Array) => void)[] = [];
  readonly #disconnectListeners: ((reason: DisconnectReason) => void)[] = [];
  readonly #disconnectWaiters: (() => void)[] = [];
  readonly #onEvent = (now: number): void => this.#event(now);
  readonly #onWatchdog = (now: number): void => this.#watchdog(now);

  /** A link whose CONNECT_IND went out at `connectedAt`; its first event is an interval later. */
  constructor(port: LinkPort, address: string, mtu: number, connectedAt: number, setup: LinkSetup) {
    attPayloadBytes(mtu);
    this.#port = port;
    this.address = address;
    this.mtu = mtu;
    this.#setup = setup;
    this.#anchor = connectedAt + port.timing.connectionIntervalMs;
    this.#lastHeard = connectedAt;
    this.peripheral = {
      notify: (fragment) => this.#queueDown(fragment.slice()),
      close: () => this.#queueDown(CLOSE),
    };
    this.#schedule(this.#anchor, true);
  }

  /** A getter, so that TypeScript does not narrow `#phase` across calls that may end the link. */
  get #closed(): boolean {
    return this.#phase === 'closed';
  }

  get connected(): boolean {
    return this.#phase === 'open' && !this.#terminating;
  }

  // ---- GattConnection ----

  write(value: Uint8Array): Promise<void> {
    if (!this.connected) {
      return Promise.reject(new TransportError('DISCONNECTED', 'write: the link is gone'));
    }
    if (value.length > attPayloadBytes(this.mtu)) {
      return Promise.reject(
        new RangeError(`write: ${value.length} bytes over ATT_MTU ${this.mtu} − 3`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#uplink.push({ bytes: value.slice(), resolve, reject });
      this.#wake();
    });
  }

  onNotify(listener: (value: Uint8Array) => void): void {
    this.#notifyListeners.push(listener);
  }

  onDisconnect(listener: (reason: DisconnectReason) => void): void {
    this.#disconnectListeners.push(listener);
  }

  disconnect(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#disconnectWaiters.push(resolve);
      this.#terminating = true;
      this.#wake();
    });
  }

  // ---- the radio's side ----

  /** The connect attempt gave up (its timeout): the link goes without a word to the phone. */
  abandon(): void {
    if (this.#closed) return;
    this.#setup = undefined;
    this.#end(undefined);
  }

  /** The phone moved: a link that just lost its peer starts counting towards supervision. */
  checkAfterMove(now: number): void {
    if (this.#closed || this.#timerIsEvent) return;
    this.#lastHeard = this.#lastEventAtOrBefore(now);
    if (!this.#port.reachable()) this.#schedule(this.#nextEventAfter(now), true);
  }

  // ---- the link layer ----

  #queueDown(item: Uint8Array | typeof CLOSE): void {
    if (this.#closed || this.#downlink.at(-1) === CLOSE) return;
    this.#downlink.push(item);
    this.#wake();
  }

  /** Something was queued: run connection events until it is through. */
  #wake(): void {
    if (this.#timerIsEvent || this.#closed) return;
    this.#schedule(this.#nextEventAfter(this.#port.scheduler.now()), true);
  }

  #schedule(time: number, isEvent: boolean): void {
    const { scheduler } = this.#port;
    if (this.#timer !== 0) scheduler.cancel(this.#timer);
    this.#timerIsEvent = isEvent;
    this.#timer = scheduler.at(time, isEvent ? this.#onEvent : this.#onWatchdog);
  }

  #nextEventAfter(t: number): number {
    const interval = this.#port.timing.connectionIntervalMs;
    if (t < this.#anchor) return this.#anchor;
    return this.#anchor + (Math.floor((t - this.#anchor) / interval) + 1) * interval;
  }

  #lastEventAtOrBefore(t: number): number {
    const interval = this.#port.timing.connectionIntervalMs;
    if (t < this.#anchor) return this.#lastHeard;
    return this.#anchor + Math.floor((t - this.#anchor) / interval) * interval;
  }

  #lost(): boolean {
    const { lossRate } = this.#port.timing;
    return lossRate > 0 && this.#port.random.nextFloat() < lossRate;
  }

  #event(now: number): void {
    this.#timer = 0;
    this.#timerIsEvent = false;
    const { timing } = this.#port;
    if (!this.#port.reachable() || this.#lost()) {
      if (now - this.#lastHeard >= timing.supervisionTimeoutMs) this.#end('supervision-timeout');
      else this.#schedule(this.#nextEventAfter(now), true);
      return;
    }
    this.#lastHeard = now;
    // Notifications the lock queued before this event; replies to this event's writes wait.
    const ready = this.#downlink.length;
    if (this.#phase === 'open') this.#sendUp();
    if (this.#terminating && this.#uplink.length === 0) {
      this.#end('local');
      return;
    }
    this.#receiveDown(ready);
    if (this.#closed) return;
    this.#advanceSetup();
    this.#idleOrContinue(now);
  }

  #sendUp(): void {
    const { packetsPerEvent } = this.#port.timing;
    for (let sent = 0; sent < packetsPerEvent && this.#uplink.length > 0; sent++) {
      if (this.#lost()) return;
      const write = this.#uplink.shift()!;
      this.#port.lockWrite(this.peripheral, write.bytes);
      write.resolve();
    }
  }

  #receiveDown(ready: number): void {
    const { packetsPerEvent } = this.#port.timing;
    for (let received = 0; received < Math.min(packetsPerEvent, ready); received++) {
      if (this.#lost()) return;
      const item = this.#downlink.shift()!;
      if (item === CLOSE) {
        this.#end('remote');
        return;
      }
      // A notification before the phone subscribed (during setup) is not sent.
      if (this.#phase !== 'open') continue;
      for (const listener of this.#notifyListeners) listener(item);
    }
  }

  /** One setup exchange went through (the event was heard). */
  #advanceSetup(): void {
    if (this.#phase === 'mtu-exchange') {
      this.#phase = 'subscribe';
      this.#lockHasLink = true;
      this.#port.lockConnect(this.peripheral, this.mtu);
    } else if (this.#phase === 'subscribe') {
      this.#phase = 'open';
      const setup = this.#setup;
      this.#setup = undefined;
      setup?.established(this);
    }
  }

  #idleOrContinue(now: number): void {
    // A write or a disconnect during the event may have scheduled the next one already.
    if (this.#timer !== 0) return;
    const busy =
      this.#phase !== 'open' ||
      this.#terminating ||
      this.#uplink.length > 0 ||
      this.#downlink.length > 0;
    if (busy) this.#schedule(this.#nextEventAfter(now), true);
    else this.#schedule(now + this.#watchdogPeriod(), false);
  }

  #watchdogPeriod(): number {
    const { connectionIntervalMs, supervisionTimeoutMs } = this.#port.timing;
    return Math.max(connectionIntervalMs, Math.floor(supervisionTimeoutMs / 4));
  }

  /** An idle link: still reachable, it was heard all along; else events run until supervision. */
  #watchdog(now: number): void {
    this.#timer = 0;
    if (this.#port.reachable()) {
      this.#lastHeard = this.#lastEventAtOrBefore(now);
      this.#schedule(now + this.#watchdogPeriod(), false);
    } else {
      this.#schedule(this.#nextEventAfter(now), true);
    }
  }

  /** The link is gone; `reason` for the phone's listeners, none when the attempt abandoned it. */
  #end(reason: DisconnectReason | undefined): void {
    const wasOpen = this.#phase === 'open';
    this.#phase = 'closed';
    if (this.#timer !== 0) this.#port.scheduler.cancel(this.#timer);
    this.#timer = 0;
    this.#timerIsEvent = false;
    // The lock learns of a loss or of the phone's leaving; a close it made itself it knows.
    if (this.#lockHasLink && reason !== 'remote') this.#port.lockDisconnect(this.peripheral);
    this.#downlink.length = 0;
    const gone = new TransportError('DISCONNECTED', 'the link is gone');
    for (const write of this.#uplink.splice(0)) write.reject(gone);
    this.#port.released(this);
    const setup = this.#setup;
    this.#setup = undefined;
    setup?.failed(gone);
    if (wasOpen && reason !== undefined) {
      for (const listener of this.#disconnectListeners) listener(reason);
    }
    for (const resolve of this.#disconnectWaiters.splice(0)) resolve();
  }
}
