/**
 * The one GATT-level transport interface (ARCHITECTURE.md §6 "Transports"): what a central (a
 * phone, the hub) needs of Bluetooth LE to reach a keyway lock — scan, connect with an MTU, write
 * on `rx`, take notifications on `tx`, disconnect — and nothing else. The phone engine codes
 * against it only, so the same code runs on the virtual radio (`virtual-radio.ts`, on the World's
 * clock) and on noble (real Bluetooth, the host's clock).
 *
 * The interface stays at the GATT level: fragments (ATT values of at most ATT_MTU − 3 bytes) go
 * through it whole and in order; the frame codec, not the transport, cuts messages
 * (ARCHITECTURE.md §4 "Frames"). Refusals, sessions and messages are the protocol's business.
 */
import type { AdvertisementData, ScanResponseData } from '../../protocol/advertisement.js';

/** One keyway lock a scan saw (protocol/advertisement.ts, frames.md §4). */
export interface ScanResult {
  /** The radio's address of the peripheral, what `connect` takes. */
  readonly address: string;
  /** Received signal strength of the report, dBm. */
  readonly rssi: number;
  /** The advertising data, decoded: version, status flags and the lock id's prefix. */
  readonly advertisement: AdvertisementData;
  /**
   * The scan response, decoded, with the full lock id, when an active scan received it with the
   * advertisement (a passive scan, or a lost response, leaves the prefix alone).
   */
  readonly scanResponse?: ScanResponseData;
  /** False while the lock holds a connection (protocol/spec/session.md §7.1). */
  readonly connectable: boolean;
}

/**
 * Why a link ended: the peripheral ended it, this central did, or the link layer lost the peer
 * (Core Vol 6 Part B §4.5.2: no packet for the supervision timeout).
 */
export type DisconnectReason = 'remote' | 'local' | 'supervision-timeout';

/** One connection to a lock's keyway service. */
export interface GattConnection {
  readonly address: string;
  /** The negotiated ATT_MTU: values carry at most `mtu − 3` bytes. */
  readonly mtu: number;
  /**
   * ATT Write Without Response of one fragment on `rx`. Resolves once the link layer delivered
   * it; rejects with `DISCONNECTED` if the link went first.
   */
  write(value: Uint8Array): Promise<void>;
  /** Each notification on `tx`, in order, from the moment the listener is added. */
  onNotify(listener: (value: Uint8Array) => void): void;
  onDisconnect(listener: (reason: DisconnectReason) => void): void;
  /** Ends the link; resolves once it is gone. */
  disconnect(): Promise<void>;
}

export interface CentralTransport {
  /** Scans for keyway locks (service UUID) for `durationMs`; results as they would be reported. */
  scan(durationMs: number): Promise<ScanResult[]>;
  /**
   * Connects and negotiates the MTU (requested `mtu`, the peripheral's limit applies). Rejects
   * with a `TransportError` on timeout / out of range.
   */
  connect(
    address: string,
    options: { readonly timeoutMs: number; readonly mtu: number },
  ): Promise<GattConnection>;
  /** The central's clock and sleep (virtual on the radio, real on noble). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type TransportErrorCode = 'OUT_OF_RANGE' | 'TIMEOUT' | 'DISCONNECTED' | 'NOT_FOUND';

/** An expected transport failure: the peer is out of range, silent, gone or unknown. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string) {
    super(message);
    this.name = 'TransportError';
    this.code = code;
  }
}
