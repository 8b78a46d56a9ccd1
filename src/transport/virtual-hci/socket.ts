/**
 * A stand-in for `@abandonware/bluetooth-hci-socket` on a `VirtualAir` (ARCHITECTURE.md §6
 * "Transports"): the same class shape noble and bleno construct (`new BluetoothHciSocket()`, then
 * `bindRaw` / `bindUser` / `bindControl`, `setFilter`, `isDevUp`, `getDeviceList`, `start`,
 * `stop`, `write`, and `data` / `error` events), wired to virtual controllers instead of the
 * kernel's AF_BLUETOOTH sockets.
 *
 * It behaves as the Linux sockets it replaces (net/bluetooth/hci_sock.c):
 * - a raw socket (HCI_CHANNEL_RAW) sees the controller's events and ACL data that pass its filter
 *   (`struct hci_filter`: packet type bits, event code bits, and an opcode for Command Complete
 *   and Command Status); a fresh raw socket's filter passes nothing until `setFilter`;
 * - a user-channel socket (HCI_CHANNEL_USER) sees everything, unfiltered;
 * - the control socket (HCI_CHANNEL_CONTROL, bleno's `mgmt.js`) answers management commands:
 *   Load Long Term Keys with Command Complete, anything else with Command Status "unknown command"
 *   (BlueZ doc/mgmt-api.txt);
 * - writing to a device that is down fails with ENETDOWN ("Network is down"), binding to one that
 *   does not exist with ENODEV, as errno errors.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import type { VirtualAir } from './air.js';
import type { HostChannel, VirtualController } from './controller.js';
import { HCI_EVENT, HCI_PACKET } from './hci-codes.js';

/** One entry of `getDeviceList()`, as the native module reports it (USB fields are null on Linux). */
export interface HciDevice {
  readonly devId: number;
  readonly devUp: boolean;
  readonly idVendor: null;
  readonly idProduct: null;
  readonly busNumber: null;
  readonly deviceAddress: null;
}

/** The socket API of `@abandonware/bluetooth-hci-socket` that noble and bleno use. */
export interface HciSocketLike extends EventEmitter {
  bindRaw(devId?: number): number;
  bindUser(devId?: number): number;
  bindControl(): void;
  isDevUp(): boolean;
  getDeviceList(): HciDevice[];
  setFilter(filter: Buffer): void;
  start(): void;
  stop(): void;
  write(data: Buffer): void;
}

/** The module's export: a class constructed with no arguments. */
export type HciSocketClass = new () => HciSocketLike;

const MGMT_OP_LOAD_LONG_TERM_KEYS = 0x0013;
const MGMT_EV_CMD_COMPLETE = 0x0001;
const MGMT_EV_CMD_STATUS = 0x0002;
const MGMT_STATUS_SUCCESS = 0x00;
const MGMT_STATUS_UNKNOWN_COMMAND = 0x01;
const MGMT_HEADER_BYTES = 6;

function errnoError(
  code: 'ENODEV' | 'ENETDOWN' | 'EINVAL' | 'ENOTCONN',
  syscall: string,
  message: string,
) {
  return Object.assign(new Error(message), {
    code,
    errno: constants.errno[code],
    syscall,
  });
}

interface SocketFilter {
  readonly typeMask: number;
  readonly eventMask: bigint;
  readonly opcode: number;
}

export class VirtualHciSocket extends EventEmitter implements HciSocketLike {
  readonly #air: VirtualAir;
  readonly #defaultDevId: number | undefined;
  #mode: 'unbound' | 'raw' | 'user' | 'control' = 'unbound';
  #controller: VirtualController | undefined;
  #filter: SocketFilter = { typeMask: 0, eventMask: 0n, opcode: 0 };
  #started = false;
  readonly #channel: HostChannel = { deliver: (packet) => this.#deliver(packet) };

  /** A socket on `air`; binding without a device id takes `defaultDevId`, else the first device up. */
  constructor(air: VirtualAir, defaultDevId?: number) {
    super();
    this.#air = air;
    this.#defaultDevId = defaultDevId;
  }

  bindRaw(devId?: number): number {
    return this.#bindDevice('raw', devId);
  }

  bindUser(devId?: number): number {
    return this.#bindDevice('user', devId);
  }

  bindControl(): void {
    this.#mode = 'control';
  }

  isDevUp(): boolean {
    return this.#controller?.powered ?? false;
  }

  getDeviceList(): HciDevice[] {
    return this.#air.controllers.map((controller) => ({
      devId: controller.devId,
      devUp: controller.powered,
      idVendor: null,
      idProduct: null,
      busNumber: null,
      deviceAddress: null,
    }));
  }

  /** `struct hci_filter`: type_mask (u32), event_mask (2 × u32), opcode (u16), little-endian. */
  setFilter(filter: Buffer): void {
    if (filter.length < 14) {
      this.emit('error', errnoError('EINVAL', 'setsockopt', 'Invalid argument'));
      return;
    }
    this.#filter = {
      typeMask: filter.readUInt32LE(0),
      eventMask: BigInt(filter.readUInt32LE(4)) | (BigInt(filter.readUInt32LE(8)) << 32n),
      opcode: filter.readUInt16LE(12),
    };
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#controller?.openChannel(this.#channel);
  }

  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#controller?.closeChannel(this.#channel);
  }

  write(data: Buffer): void {
    if (this.#mode === 'control') {
      this.#management(data);
      return;
    }
    const controller = this.#controller;
    if (controller === undefined) {
      this.emit('error', errnoError('ENOTCONN', 'write', 'Transport endpoint is not connected'));
      return;
    }
    if (!controller.write(Uint8Array.from(data))) {
      this.emit('error', errnoError('ENETDOWN', 'write', 'Network is down'));
    }
  }

  #bindDevice(mode: 'raw' | 'user', devId: number | undefined): number {
    const controller =
      devId !== undefined
        ? this.#air.controller(devId)
        : this.#defaultDevId !== undefined
          ? this.#air.controller(this.#defaultDevId)
          : this.#air.controllers.find((candidate) => candidate.powered);
    if (controller === undefined) throw errnoError('ENODEV', 'bind', 'No such device');
    if (this.#started) this.#controller?.closeChannel(this.#channel);
    this.#mode = mode;
    this.#controller = controller;
    if (this.#started) controller.openChannel(this.#channel);
    return controller.devId;
  }

  #deliver(packet: Uint8Array): void {
    if (!this.#started || (this.#mode === 'raw' && this.#filtered(packet))) return;
    this.emit('data', Buffer.from(packet));
  }

  /** hci_sock.c `is_filtered_packet`, on an H4 packet (indicator byte first). */
  #filtered(packet: Uint8Array): boolean {
    const type = packet[0] ?? 0;
    if ((this.#filter.typeMask & (1 << (type & 31))) === 0) return true;
    if (type !== HCI_PACKET.EVENT) return false;
    const event = packet[1] ?? 0;
    if (((this.#filter.eventMask >> BigInt(event & 63)) & 1n) === 0n) return true;
    if (this.#filter.opcode === 0) return false;
    const opcodeAt =
      event === HCI_EVENT.COMMAND_COMPLETE ? 4 : event === HCI_EVENT.COMMAND_STATUS ? 5 : 0;
    return (
      opcodeAt !== 0 &&
      ((packet[opcodeAt] ?? 0) | ((packet[opcodeAt + 1] ?? 0) << 8)) !== this.#filter.opcode
    );
  }

  /** A management command (opcode, index, length, parameters): bleno only loads long-term keys. */
  #management(data: Buffer): void {
    if (data.length < MGMT_HEADER_BYTES) {
      this.emit('error', errnoError('EINVAL', 'write', 'Invalid argument'));
      return;
    }
    const opcode = data.readUInt16LE(0);
    const index = data.readUInt16LE(2);
    const known = opcode === MGMT_OP_LOAD_LONG_TERM_KEYS;
    const reply = Buffer.alloc(MGMT_HEADER_BYTES + 3);
    reply.writeUInt16LE(known ? MGMT_EV_CMD_COMPLETE : MGMT_EV_CMD_STATUS, 0);
    reply.writeUInt16LE(index, 2);
    reply.writeUInt16LE(3, 4);
    reply.writeUInt16LE(opcode, 6);
    reply.writeUInt8(known ? MGMT_STATUS_SUCCESS : MGMT_STATUS_UNKNOWN_COMMAND, 8);
    this.#air.schedule(0, () => {
      if (this.#started) this.emit('data', reply);
    });
  }
}

/**
 * The module export noble or bleno should get: a zero-argument class whose sockets live on `air`
 * and bind to `devId` when the stack names no device.
 */
export function virtualHciSocketClass(air: VirtualAir, devId?: number): HciSocketClass {
  return class extends VirtualHciSocket {
    constructor() {
      super(air, devId);
    }
  };
}
