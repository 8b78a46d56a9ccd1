/**
 * Captures of HCI traffic as btsnoop files (ARCHITECTURE.md §6 "Transports"), the format
 * Wireshark, tshark and btmon open: whatever crosses a controller's host interface — the virtual
 * HCI controller's (`virtual-hci/`) or a real adapter's socket — is recorded so a run can be read
 * packet by packet.
 *
 * Format (RFC 1761's snoop, as BlueZ's btsnoop adapts it): a 16-byte header — "btsnoop\0",
 * version 1, datalink 1002 (HCI UART, H4: each packet starts with its packet indicator byte) — then
 * one record per packet: original length, included length, flags (bit 0: 0 sent by the host,
 * 1 received by it; bit 1: 1 for commands and events, 0 for data), cumulative drops, and a
 * timestamp in microseconds since midnight, 1 January of year 0 (all big-endian), then the bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { fail, ok } from '../../protocol/result.js';
import type { Result } from '../../protocol/result.js';

/** Datalink type of the records: HCI UART (H4), the packet indicator byte first. */
export const BTSNOOP_DATALINK_H4 = 1002;
const MAGIC = new Uint8Array([0x62, 0x74, 0x73, 0x6e, 0x6f, 0x6f, 0x70, 0x00]); // "btsnoop\0"
const VERSION = 1;
const HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 24;
/** Microseconds from 0000-01-01T00:00Z to the Unix epoch, as btsnoop timestamps count. */
export const BTSNOOP_EPOCH_OFFSET_US = 0x00dcddb30f2f8000n;
const H4_COMMAND = 0x01;
const H4_EVENT = 0x04;
const FLAG_RECEIVED = 0b01;
const FLAG_COMMAND_OR_EVENT = 0b10;

/** Which way a packet crossed the host interface. */
export type HciDirection = 'host-to-controller' | 'controller-to-host';

/** Anything that takes a copy of each HCI packet (H4 framed: the packet indicator first). */
export interface HciTap {
  record(packet: Uint8Array, direction: HciDirection): void;
}

/** One decoded record. */
export interface BtsnoopRecord {
  readonly direction: HciDirection;
  /** Bit 1 of the flags: a command or an event rather than data. */
  readonly commandOrEvent: boolean;
  /** Microseconds since the Unix epoch. */
  readonly timestampUs: bigint;
  readonly drops: number;
  /** The packet as captured, H4 framed. */
  readonly packet: Uint8Array;
}

/** The 16-byte file header. */
export function encodeBtsnoopHeader(): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  view.setUint32(8, VERSION);
  view.setUint32(12, BTSNOOP_DATALINK_H4);
  return header;
}

/** One record: its 24-byte header then the packet, `timestampUs` counted from the Unix epoch. */
export function encodeBtsnoopRecord(
  packet: Uint8Array,
  direction: HciDirection,
  timestampUs: bigint,
  drops = 0,
): Uint8Array {
  if (packet.length === 0) throw new RangeError('an HCI packet has at least its indicator byte');
  const record = new Uint8Array(RECORD_HEADER_BYTES + packet.length);
  const view = new DataView(record.buffer);
  const indicator = packet[0];
  const commandOrEvent = indicator === H4_COMMAND || indicator === H4_EVENT;
  const flags =
    (direction === 'controller-to-host' ? FLAG_RECEIVED : 0) |
    (commandOrEvent ? FLAG_COMMAND_OR_EVENT : 0);
  view.setUint32(0, packet.length);
  view.setUint32(4, packet.length);
  view.setUint32(8, flags);
  view.setUint32(12, drops);
  view.setBigInt64(16, timestampUs + BTSNOOP_EPOCH_OFFSET_US);
  record.set(packet, RECORD_HEADER_BYTES);
  return record;
}

/** Reads a whole btsnoop file of datalink H4; a truncated or foreign file is a `DECODE` failure. */
export function decodeBtsnoop(bytes: Uint8Array): Result<BtsnoopRecord[]> {
  if (bytes.length < HEADER_BYTES) return fail(WIRE_ERRORS.DECODE, 'shorter than the header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) return fail(WIRE_ERRORS.DECODE, 'not a btsnoop file');
  }
  if (view.getUint32(8) !== VERSION) return fail(WIRE_ERRORS.DECODE, 'version');
  if (view.getUint32(12) !== BTSNOOP_DATALINK_H4) return fail(WIRE_ERRORS.DECODE, 'datalink');
  const records: BtsnoopRecord[] = [];
  let offset = HEADER_BYTES;
  while (offset < bytes.length) {
    if (bytes.length - offset < RECORD_HEADER_BYTES) {
      return fail(WIRE_ERRORS.DECODE, `record header at ${offset} truncated`);
    }
    const included = view.getUint32(offset + 4);
    const flags = view.getUint32(offset + 8);
    const start = offset + RECORD_HEADER_BYTES;
    if (bytes.length - start < included) {
      return fail(WIRE_ERRORS.DECODE, `record at ${offset} truncated`);
    }
    records.push({
      direction: (flags & FLAG_RECEIVED) !== 0 ? 'controller-to-host' : 'host-to-controller',
      commandOrEvent: (flags & FLAG_COMMAND_OR_EVENT) !== 0,
      drops: view.getUint32(offset + 12),
      timestampUs: view.getBigInt64(offset + 16) - BTSNOOP_EPOCH_OFFSET_US,
      packet: bytes.slice(start, start + included),
    });
    offset = start + included;
  }
  return ok(records);
}

/** The host's wall clock in microseconds since the Unix epoch (captures are of real-time runs). */
export function hostClockMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

/**
 * A btsnoop stream: the header first, then one record per tapped packet, handed to `sink` as
 * soon as it is made (so a capture cut short by a crash keeps everything before it).
 */
export class BtsnoopWriter implements HciTap {
  #sink: (bytes: Uint8Array) => void;
  #clockMicros: () => bigint;
  #records = 0;

  constructor(sink: (bytes: Uint8Array) => void, clockMicros: () => bigint = hostClockMicros) {
    this.#sink = sink;
    this.#clockMicros = clockMicros;
    sink(encodeBtsnoopHeader());
  }

  /** Records written so far. */
  get records(): number {
    return this.#records;
  }

  record(packet: Uint8Array, direction: HciDirection): void {
    this.#sink(encodeBtsnoopRecord(packet, direction, this.#clockMicros()));
    this.#records++;
  }
}

/** A btsnoop file being written: `--capture FILE`. */
export interface BtsnoopFile extends HciTap {
  readonly path: string;
  readonly records: number;
  /** Closes the file; later packets are not recorded. */
  close(): void;
}

/** Creates (or truncates) `path` and writes records to it synchronously as packets pass. */
export function openBtsnoopFile(
  path: string,
  clockMicros: () => bigint = hostClockMicros,
): BtsnoopFile {
  let fd: number | undefined = openSync(path, 'w');
  const writer = new BtsnoopWriter((bytes) => {
    if (fd !== undefined) writeSync(fd, bytes);
  }, clockMicros);
  return {
    path,
    get records() {
      return writer.records;
    },
    record(packet, direction) {
      if (fd !== undefined) writer.record(packet, direction);
    },
    close() {
      if (fd === undefined) return;
      closeSync(fd);
      fd = undefined;
    },
  };
}
