/**
 * The virtual air between virtual HCI controllers (ARCHITECTURE.md §6 "Transports"): every
 * advertising event reaches every other controller on it, connections join two of them, and
 * everything takes `latencyMs` to cross. noble and bleno run on real time, so the air runs on host
 * timers (a latency of 0 is the next turn of the event loop, so a host is never called back inside
 * its own call); it tracks each one, and `close()` cancels them all so a process or a test runner
 * is never held open by the air.
 */
import { VirtualController } from './controller.js';
import type { AdvertisingPdu, Medium, VirtualControllerOptions } from './controller.js';

export interface VirtualAirOptions {
  /** One-way delay of advertising, connection set-up and data on the air, ms: 0 by default. */
  readonly latencyMs?: number;
  /**
   * Largest link-layer data PDU payload, bytes: 251 by default (Data Length Extension), 27 for a
   * controller without it (Core Vol 6 Part B §2.4.2.21). The receiving host gets one ACL packet
   * per PDU.
   */
  readonly linkLayerPayloadBytes?: number;
  /** Signal strength each receiver measures, dBm: -50 by default. */
  readonly rssiDbm?: number;
}

export class VirtualAir implements Medium {
  readonly latencyMs: number;
  readonly linkLayerPayloadBytes: number;
  readonly rssiDbm: number;
  readonly #controllers = new Map<number, VirtualController>();
  readonly #immediates = new Set<NodeJS.Immediate>();
  readonly #timeouts = new Set<NodeJS.Timeout>();
  #nextDevId = 0;
  #closed = false;

  constructor(options: VirtualAirOptions = {}) {
    const latencyMs = options.latencyMs ?? 0;
    const payload = options.linkLayerPayloadBytes ?? 251;
    const rssiDbm = options.rssiDbm ?? -50;
    if (!Number.isFinite(latencyMs) || latencyMs < 0) {
      throw new RangeError('latencyMs must be a finite number of milliseconds >= 0');
    }
    if (!Number.isInteger(payload) || payload < 27 || payload > 251) {
      throw new RangeError('linkLayerPayloadBytes must be an integer in 27..251');
    }
    if (!Number.isInteger(rssiDbm) || rssiDbm < -127 || rssiDbm > 20) {
      throw new RangeError('rssiDbm must be an integer in -127..20');
    }
    this.latencyMs = latencyMs;
    this.linkLayerPayloadBytes = payload;
    this.rssiDbm = rssiDbm;
  }

  /** Controllers on the air, by device id. */
  get controllers(): readonly VirtualController[] {
    return [...this.#controllers.values()];
  }

  /** Host timers the air has pending (0 once everything settled or after `close`). */
  get pendingTimers(): number {
    return this.#immediates.size + this.#timeouts.size;
  }

  /** Adds a controller, `hci<devId>`; device ids count from 0 in order of addition. */
  addController(options: VirtualControllerOptions = {}): VirtualController {
    if (this.#closed) throw new TypeError('the air is closed');
    const devId = this.#nextDevId++;
    const controller = new VirtualController(this, devId, options);
    this.#controllers.set(devId, controller);
    return controller;
  }

  controller(devId: number): VirtualController | undefined {
    return this.#controllers.get(devId);
  }

  schedule(delayMs: number, task: () => void): () => void {
    if (this.#closed) return () => {};
    if (delayMs <= 0) {
      const immediate = setImmediate(() => {
        this.#immediates.delete(immediate);
        task();
      });
      this.#immediates.add(immediate);
      return () => {
        clearImmediate(immediate);
        this.#immediates.delete(immediate);
      };
    }
    const timeout = setTimeout(() => {
      this.#timeouts.delete(timeout);
      task();
    }, delayMs);
    this.#timeouts.add(timeout);
    return () => {
      clearTimeout(timeout);
      this.#timeouts.delete(timeout);
    };
  }

  broadcast(pdu: AdvertisingPdu): void {
    for (const controller of this.#controllers.values()) {
      if (controller === pdu.advertiser) continue;
      this.schedule(this.latencyMs, () => controller.receiveAdvertisement(pdu));
    }
  }

  remove(controller: VirtualController): void {
    if (this.#controllers.get(controller.devId) === controller) {
      this.#controllers.delete(controller.devId);
    }
  }

  /** Closes every controller and cancels every pending timer. */
  close(): void {
    if (this.#closed) return;
    for (const controller of [...this.#controllers.values()]) controller.close();
    this.#closed = true;
    for (const immediate of this.#immediates) clearImmediate(immediate);
    for (const timeout of this.#timeouts) clearTimeout(timeout);
    this.#immediates.clear();
    this.#timeouts.clear();
  }
}
