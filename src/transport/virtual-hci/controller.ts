/**
 * One virtual Bluetooth LE controller at its HCI (ARCHITECTURE.md §6 "Transports": the virtual HCI
 * pair that lets the real noble and bleno stacks run with no radio). Hosts write H4 packets to it
 * through a socket (`socket.ts`); it answers as a controller would (Bluetooth Core spec v5.3,
 * Vol 4 Part E) and reaches the other controllers on its `VirtualAir` (`air.ts`).
 *
 * What it does, by the spec:
 * - Commands: the initialisation and information commands noble and bleno send, answered with
 *   Command Complete (§7.7.14) or, for Disconnect, LE Create Connection and LE Connection Update,
 *   Command Status (§7.7.15) then the completion event. An opcode it does not know is logged and
 *   answered with Command Complete carrying Unknown HCI Command (0x01) alone (§4.5).
 * - Event masks (§7.3.1, §7.8.1): events the host masked are not sent.
 * - Legacy advertising (§7.8.5–7.8.9): one advertising event per interval while enabled; a
 *   connection ends it, as for any legacy connectable advertising (Vol 6 Part B §4.4.2.1).
 * - Scanning (§7.8.10–7.8.11): one LE Advertising Report per event (§7.7.65.2), a scan response
 *   after each scannable advertisement when the scan is active; with Filter_Duplicates each
 *   (address, report type) is reported once per scan enable.
 * - Connections (§7.8.12, §7.8.13, §7.1.6, §7.8.18): the initiator connects at the target's next
 *   connectable advertising event; both hosts get LE Connection Complete (central role 0x00,
 *   peripheral 0x01), Disconnection Complete (0x16 for the side that asked, the given reason for
 *   the other, 0x08 after the supervision timeout when a controller vanishes) and LE Connection
 *   Update Complete (the peer's host only when the parameters changed).
 * - ACL data (§5.4.2, §4.1.1): each packet from the host takes one of the LE buffers the controller
 *   declared (LE Read Buffer Size, or Read Buffer Size when it declares none); a packet longer
 *   than a buffer is dropped and counted, one beyond the last free buffer is dropped with a Data
 *   Buffer Overflow event (§7.7.26). The link layer carries it in PDUs of at most
 *   `linkLayerPayloadBytes`, and the peer's controller hands each PDU to its host as one ACL packet,
 *   the first with Packet_Boundary_Flag 0b10 — hosts send 0b00 (first, non-flushable) but
 *   noble and bleno take only 0b10 as a start. Once the peer has it, the sender's host gets a
 *   Number Of Completed Packets event (§7.7.19) for it.
 *
 * Everything reaches the host asynchronously, in order, on the air's host timers: a host is never
 * called back inside its own `write`.
 */
import type { HciTap } from '../btsnoop.js';
import {
  ACL_BOUNDARY,
  ADVERTISING_REPORT_TYPE,
  DEFAULT_EVENT_MASK,
  DEFAULT_LE_EVENT_MASK,
  HCI_COMMAND,
  HCI_EVENT,
  HCI_PACKET,
  HCI_STATUS,
  LE_SUBEVENT,
} from './hci-codes.js';

/** A controller's ACL buffers as it declares them: bytes of payload per packet, packets. */
export interface AclBuffers {
  readonly length: number;
  readonly count: number;
}

export interface VirtualControllerOptions {
  /** Public device address, `aa:bb:cc:dd:ee:ff`; by default 00:00:5e:00:53:xx (RFC 7042 documentation range). */
  readonly address?: string;
  /**
   * LE ACL buffers (LE Read Buffer Size): 251 × 8 by default; the spec's least is 27 bytes.
   * `{ length: 0, count: 0 }` declares none, so hosts fall back to `aclBuffers` (§7.8.2).
   */
  readonly leAclBuffers?: AclBuffers;
  /** Shared ACL buffers (Read Buffer Size): 1021 × 8 by default. */
  readonly aclBuffers?: AclBuffers;
  /** Where diagnostics go (unknown opcodes, host errors): none by default. */
  readonly log?: (line: string) => void;
}

/** What the controller counted since it was made. */
export interface ControllerStats {
  commands: number;
  events: number;
  aclFromHost: number;
  aclToHost: number;
  /** ACL packets beyond the declared buffers (each also a Data Buffer Overflow event). */
  bufferOverflows: number;
  /** ACL packets longer than the declared buffer length. */
  oversizedAcl: number;
  /** ACL packets for a handle the controller does not know. */
  unknownHandleAcl: number;
  /** Most buffers ever held by the host's packets at once. */
  maxBuffersInUse: number;
  /** Opcodes answered with Unknown HCI Command, in order. */
  readonly unknownOpcodes: number[];
}

/** One advertising event as the air carries it to the other controllers. */
export interface AdvertisingPdu {
  readonly advertiser: VirtualController;
  readonly address: Uint8Array;
  readonly addressType: number;
  readonly type: number;
  readonly data: Uint8Array;
  readonly scanResponse: Uint8Array;
}

/** What a controller needs of the air it is on (`VirtualAir`). */
export interface Medium {
  /** One-way delay of everything on the air, ms. */
  readonly latencyMs: number;
  /** Largest link-layer data PDU payload, bytes (27 without Data Length Extension, up to 251). */
  readonly linkLayerPayloadBytes: number;
  /** Signal strength every receiver measures, dBm. */
  readonly rssiDbm: number;
  /** Runs `task` after `delayMs` on a host timer the air tracks; returns a cancel. */
  schedule(delayMs: number, task: () => void): () => void;
  /** Carries one advertising event to every other controller. */
  broadcast(pdu: AdvertisingPdu): void;
  /** Forgets a closed controller. */
  remove(controller: VirtualController): void;
}

/** Where a controller's packets for its host go (a bound, started socket). */
export interface HostChannel {
  deliver(packet: Uint8Array): void;
}

interface ConnectionParameters {
  /** Connection interval, 1.25 ms units. */
  interval: number;
  latency: number;
  /** Supervision timeout, 10 ms units. */
  timeout: number;
}

interface LinkEnd {
  readonly controller: VirtualController;
  readonly handle: number;
  readonly link: Link;
  /** ACL buffers this end's host packets hold until the peer has them. */
  buffersInUse: number;
}

/** One connection between two controllers; `closed` once either end ended or lost it. */
class Link {
  closed = false;
  parameters: ConnectionParameters;
  readonly central: LinkEnd;
  readonly peripheral: LinkEnd;

  constructor(
    parameters: ConnectionParameters,
    central: { controller: VirtualController; handle: number },
    peripheral: { controller: VirtualController; handle: number },
  ) {
    this.parameters = parameters;
    this.central = { ...central, link: this, buffersInUse: 0 };
    this.peripheral = { ...peripheral, link: this, buffersInUse: 0 };
  }

  peerOf(end: LinkEnd): LinkEnd {
    return end === this.central ? this.peripheral : this.central;
  }
}

interface PendingConnection {
  readonly peerAddress: Uint8Array;
  readonly parameters: ConnectionParameters;
}

/** Link-layer PDU on a connection: LLID start (first of an L2CAP PDU) or continuation. */
interface LinkPdu {
  readonly start: boolean;
  readonly payload: Uint8Array;
}

const HCI_VERSION_5_3 = 0x0c;
/** Company identifier 0xFFFF: reserved for tests (Assigned Numbers §7). */
const COMPANY_TEST = 0xffff;
const ACL_LINK_TYPE = 0x01;
const FIRST_HANDLE = 0x0040;
const HANDLE_MASK = 0x0fff;
const RESERVED_BOUNDARY = 0b11;
/** Events that Set_Event_Mask cannot mask (§7.3.1). */
const UNMASKABLE_EVENTS: ReadonlySet<number> = new Set([
  HCI_EVENT.COMMAND_COMPLETE,
  HCI_EVENT.COMMAND_STATUS,
  HCI_EVENT.NUMBER_OF_COMPLETED_PACKETS,
]);
/** Advertising types a scanner may send a scan request to (Vol 6 Part B §2.3.1). */
const SCANNABLE: ReadonlySet<number> = new Set([
  ADVERTISING_REPORT_TYPE.ADV_IND,
  ADVERTISING_REPORT_TYPE.ADV_SCAN_IND,
]);
const CONNECTABLE: ReadonlySet<number> = new Set([
  ADVERTISING_REPORT_TYPE.ADV_IND,
  ADVERTISING_REPORT_TYPE.ADV_DIRECT_IND,
]);

/** `aa:bb:cc:dd:ee:ff` as HCI carries it: least significant byte first. */
export function addressBytes(address: string): Uint8Array {
  const parts = address.split(':');
  if (parts.length !== 6 || parts.some((part) => !/^[0-9a-fA-F]{2}$/.test(part))) {
    throw new TypeError(`not a device address: ${address}`);
  }
  return Uint8Array.from(parts.reverse(), (part) => parseInt(part, 16));
}

/** HCI address bytes back to `aa:bb:cc:dd:ee:ff`. */
export function addressText(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0'))
    .reverse()
    .join(':');
}

function u16(value: number): [number, number] {
  return [value & 0xff, (value >> 8) & 0xff];
}

function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8);
}

function readU64(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function checkBuffers(name: string, buffers: AclBuffers, allowNone: boolean): AclBuffers {
  const none = buffers.length === 0 && buffers.count === 0;
  if (none && allowNone) return buffers;
  if (!Number.isInteger(buffers.length) || buffers.length < 27 || buffers.length > 0xffff) {
    throw new RangeError(
      `${name}.length must be an integer in 27..65535 (Core Vol 4 Part E §7.8.2)`,
    );
  }
  if (!Number.isInteger(buffers.count) || buffers.count < 1 || buffers.count > 0xff) {
    throw new RangeError(`${name}.count must be an integer in 1..255`);
  }
  return buffers;
}

export class VirtualController {
  readonly devId: number;
  readonly address: string;
  readonly stats: ControllerStats = {
    commands: 0,
    events: 0,
    aclFromHost: 0,
    aclToHost: 0,
    bufferOverflows: 0,
    oversizedAcl: 0,
    unknownHandleAcl: 0,
    maxBuffersInUse: 0,
    unknownOpcodes: [],
  };

  readonly #medium: Medium;
  readonly #addressBytes: Uint8Array;
  readonly #leAclBuffers: AclBuffers;
  readonly #aclBuffers: AclBuffers;
  readonly #log: ((line: string) => void) | undefined;
  readonly #channels = new Set<HostChannel>();
  readonly #taps = new Set<HciTap>();
  #powered = true;
  #closed = false;
  #toHost: Uint8Array[] = [];
  #drainPending = false;

  #eventMask = DEFAULT_EVENT_MASK;
  #leEventMask = DEFAULT_LE_EVENT_MASK;
  #leHostSupported = 0;
  #advertisingIntervalMs = 1280;
  #advertisingType: number = ADVERTISING_REPORT_TYPE.ADV_IND;
  #ownAddressType = 0;
  #advertisingData: Uint8Array = new Uint8Array(0);
  #scanResponseData: Uint8Array = new Uint8Array(0);
  #advertising = false;
  #cancelAdvertisingEvent: (() => void) | undefined;
  #activeScan = false;
  #scanning = false;
  #filterDuplicates = false;
  #reported = new Set<string>();
  #pendingConnection: PendingConnection | undefined;
  #connections = new Map<number, LinkEnd>();
  #nextHandle = FIRST_HANDLE;

  constructor(medium: Medium, devId: number, options: VirtualControllerOptions = {}) {
    this.#medium = medium;
    this.devId = devId;
    this.address =
      options.address?.toLowerCase() ??
      `00:00:5e:00:53:${(devId & 0xff).toString(16).padStart(2, '0')}`;
    this.#addressBytes = addressBytes(this.address);
    this.#leAclBuffers = checkBuffers(
      'leAclBuffers',
      options.leAclBuffers ?? { length: 251, count: 8 },
      true,
    );
    this.#aclBuffers = checkBuffers(
      'aclBuffers',
      options.aclBuffers ?? { length: 1021, count: 8 },
      false,
    );
    this.#log = options.log;
  }

  /** Whether the device is up (what `isDevUp` reports). */
  get powered(): boolean {
    return this.#powered;
  }

  /** Open connections, by handle, with their role and peer. */
  get connections(): { handle: number; role: 'central' | 'peripheral'; peer: string }[] {
    return [...this.#connections.values()].map((end) => ({
      handle: end.handle,
      role: end.link.central === end ? 'central' : 'peripheral',
      peer: end.link.peerOf(end).controller.address,
    }));
  }

  /** Every packet crossing this controller's host interface goes to `tap` too (a capture). */
  attachTap(tap: HciTap): void {
    this.#taps.add(tap);
  }

  detachTap(tap: HciTap): void {
    this.#taps.delete(tap);
  }

  openChannel(channel: HostChannel): void {
    this.#channels.add(channel);
  }

  closeChannel(channel: HostChannel): void {
    this.#channels.delete(channel);
  }

  /**
   * Takes the device down (links are lost: peers see a supervision timeout) or up again, in its
   * reset state; hosts notice through `isDevUp`.
   */
  setPowered(up: boolean): void {
    if (this.#closed || up === this.#powered) return;
    this.#resetState();
    this.#toHost = [];
    this.#powered = up;
  }

  /** Powers the controller off for good and takes it off the air. */
  close(): void {
    if (this.#closed) return;
    this.setPowered(false);
    this.#closed = true;
    this.#channels.clear();
    this.#taps.clear();
    this.#medium.remove(this);
  }

  /** One H4 packet from the host. Returns false when the device is down (the socket's ENETDOWN). */
  write(packet: Uint8Array): boolean {
    if (!this.#powered) return false;
    for (const tap of this.#taps) tap.record(packet, 'host-to-controller');
    const indicator = packet[0];
    if (indicator === HCI_PACKET.COMMAND) this.#command(packet);
    else if (indicator === HCI_PACKET.ACL_DATA) this.#aclFromHost(packet);
    else this.#diagnose(`dropped a packet of indicator ${indicator ?? 'none'}`);
    return true;
  }

  /** One advertising event heard on the air (called by `VirtualAir`). */
  receiveAdvertisement(pdu: AdvertisingPdu): void {
    if (!this.#powered || pdu.advertiser === this) return;
    if (this.#scanning) {
      this.#report(pdu, pdu.type, pdu.data);
      if (this.#activeScan && SCANNABLE.has(pdu.type)) {
        this.#report(pdu, ADVERTISING_REPORT_TYPE.SCAN_RSP, pdu.scanResponse);
      }
    }
    const pending = this.#pendingConnection;
    if (
      pending !== undefined &&
      CONNECTABLE.has(pdu.type) &&
      sameBytes(pending.peerAddress, pdu.address) &&
      pdu.advertiser.#advertising
    ) {
      this.#pendingConnection = undefined;
      this.#connect(pdu, pending.parameters);
    }
  }

  #diagnose(line: string): void {
    this.#log?.(`hci${this.devId}: ${line}`);
  }

  #resetState(): void {
    this.#stopAdvertising();
    this.#scanning = false;
    this.#pendingConnection = undefined;
    for (const end of this.#connections.values()) {
      end.link.closed = true;
      const peer = end.link.peerOf(end);
      const timeoutMs = end.link.parameters.timeout * 10;
      this.#medium.schedule(timeoutMs, () =>
        peer.controller.#endConnection(peer, HCI_STATUS.CONNECTION_TIMEOUT),
      );
    }
    this.#connections.clear();
    this.#eventMask = DEFAULT_EVENT_MASK;
    this.#leEventMask = DEFAULT_LE_EVENT_MASK;
    this.#activeScan = false;
    this.#advertisingData = new Uint8Array(0);
    this.#scanResponseData = new Uint8Array(0);
  }

  // ---- host interface -------------------------------------------------------------------

  #sendToHost(packet: Uint8Array): void {
    if (!this.#powered) return;
    this.#toHost.push(packet);
    if (this.#drainPending) return;
    this.#drainPending = true;
    this.#medium.schedule(0, () => {
      this.#drainPending = false;
      const packets = this.#toHost;
      this.#toHost = [];
      for (const packet of packets) {
        if (packet[0] === HCI_PACKET.EVENT) this.stats.events++;
        else this.stats.aclToHost++;
        for (const tap of this.#taps) tap.record(packet, 'controller-to-host');
        for (const channel of this.#channels) channel.deliver(packet);
      }
    });
  }

  #event(code: number, parameters: readonly number[]): void {
    if (!UNMASKABLE_EVENTS.has(code) && ((this.#eventMask >> BigInt(code - 1)) & 1n) === 0n) {
      return;
    }
    this.#sendToHost(Uint8Array.from([HCI_PACKET.EVENT, code, parameters.length, ...parameters]));
  }

  #leEvent(subevent: number, parameters: readonly number[]): void {
    if (((this.#leEventMask >> BigInt(subevent - 1)) & 1n) === 0n) return;
    this.#event(HCI_EVENT.LE_META, [subevent, ...parameters]);
  }

  #complete(opcode: number, status: number, returned: readonly number[] = []): void {
    this.#event(HCI_EVENT.COMMAND_COMPLETE, [1, ...u16(opcode), status, ...returned]);
  }

  #status(opcode: number, status: number): void {
    this.#event(HCI_EVENT.COMMAND_STATUS, [status, 1, ...u16(opcode)]);
  }

  // ---- commands (Vol 4 Part E §7) -------------------------------------------------------

  /** Parameter lengths of the commands answered, to refuse a malformed one (§4.5). */
  static readonly #PARAMETER_BYTES: ReadonlyMap<number, number> = new Map<number, number>([
    [HCI_COMMAND.DISCONNECT, 3],
    [HCI_COMMAND.SET_EVENT_MASK, 8],
    [HCI_COMMAND.RESET, 0],
    [HCI_COMMAND.READ_LE_HOST_SUPPORT, 0],
    [HCI_COMMAND.WRITE_LE_HOST_SUPPORT, 2],
    [HCI_COMMAND.READ_LOCAL_VERSION, 0],
    [HCI_COMMAND.READ_BUFFER_SIZE, 0],
    [HCI_COMMAND.READ_BD_ADDR, 0],
    [HCI_COMMAND.READ_RSSI, 2],
    [HCI_COMMAND.LE_SET_EVENT_MASK, 8],
    [HCI_COMMAND.LE_READ_BUFFER_SIZE, 0],
    [HCI_COMMAND.LE_READ_LOCAL_SUPPORTED_FEATURES, 0],
    [HCI_COMMAND.LE_SET_RANDOM_ADDRESS, 6],
    [HCI_COMMAND.LE_SET_ADVERTISING_PARAMETERS, 15],
    [HCI_COMMAND.LE_SET_ADVERTISING_DATA, 32],
    [HCI_COMMAND.LE_SET_SCAN_RESPONSE_DATA, 32],
    [HCI_COMMAND.LE_SET_ADVERTISING_ENABLE, 1],
    [HCI_COMMAND.LE_SET_SCAN_PARAMETERS, 7],
    [HCI_COMMAND.LE_SET_SCAN_ENABLE, 2],
    [HCI_COMMAND.LE_CREATE_CONNECTION, 25],
    [HCI_COMMAND.LE_CREATE_CONNECTION_CANCEL, 0],
    [HCI_COMMAND.LE_CONNECTION_UPDATE, 14],
  ]);

  static readonly #ANSWERED_WITH_STATUS: ReadonlySet<number> = new Set<number>([
    HCI_COMMAND.DISCONNECT,
    HCI_COMMAND.LE_CREATE_CONNECTION,
    HCI_COMMAND.LE_CONNECTION_UPDATE,
  ]);

  #command(packet: Uint8Array): void {
    this.stats.commands++;
    const opcode = readU16(packet, 1);
    const p = packet.subarray(4);
    const expected = VirtualController.#PARAMETER_BYTES.get(opcode);
    if (expected === undefined) {
      this.stats.unknownOpcodes.push(opcode);
      this.#diagnose(`unknown command opcode 0x${opcode.toString(16).padStart(4, '0')}`);
      this.#complete(opcode, HCI_STATUS.UNKNOWN_COMMAND);
      return;
    }
    if (packet.length < 4 || packet[3] !== p.length || p.length !== expected) {
      this.#diagnose(`malformed command 0x${opcode.toString(16)}: ${p.length} parameter bytes`);
      if (VirtualController.#ANSWERED_WITH_STATUS.has(opcode)) {
        this.#status(opcode, HCI_STATUS.INVALID_PARAMETERS);
      } else {
        this.#complete(opcode, HCI_STATUS.INVALID_PARAMETERS);
      }
      return;
    }
    this.#execute(opcode, p);
  }

  #execute(opcode: number, p: Uint8Array): void {
    const C = HCI_COMMAND;
    const OK = HCI_STATUS.SUCCESS;
    switch (opcode) {
      case C.RESET:
        this.#resetState();
        this.#complete(opcode, OK);
        return;
      case C.SET_EVENT_MASK:
        this.#eventMask = readU64(p);
        this.#complete(opcode, OK);
        return;
      case C.LE_SET_EVENT_MASK:
        this.#leEventMask = readU64(p);
        this.#complete(opcode, OK);
        return;
      case C.WRITE_LE_HOST_SUPPORT:
        this.#leHostSupported = p[0] ?? 0;
        this.#complete(opcode, OK);
        return;
      case C.READ_LE_HOST_SUPPORT:
        this.#complete(opcode, OK, [this.#leHostSupported, 0]);
        return;
      case C.READ_LOCAL_VERSION:
        this.#complete(opcode, OK, [
          HCI_VERSION_5_3,
          ...u16(0),
          HCI_VERSION_5_3,
          ...u16(COMPANY_TEST),
          ...u16(0),
        ]);
        return;
      case C.READ_BUFFER_SIZE:
        this.#complete(opcode, OK, [
          ...u16(this.#aclBuffers.length),
          0,
          ...u16(this.#aclBuffers.count),
          ...u16(0),
        ]);
        return;
      case C.READ_BD_ADDR:
        this.#complete(opcode, OK, [...this.#addressBytes]);
        return;
      case C.LE_READ_BUFFER_SIZE:
        this.#complete(opcode, OK, [...u16(this.#leAclBuffers.length), this.#leAclBuffers.count]);
        return;
      case C.LE_READ_LOCAL_SUPPORTED_FEATURES: {
        // Bit 5: LE Data Packet Length Extension, when PDUs are longer than the original 27 bytes.
        const dataLengthExtension = this.#medium.linkLayerPayloadBytes > 27 ? 1 << 5 : 0;
        this.#complete(opcode, OK, [dataLengthExtension, 0, 0, 0, 0, 0, 0, 0]);
        return;
      }
      case C.LE_SET_RANDOM_ADDRESS:
        this.#complete(opcode, OK);
        return;
      case C.LE_SET_ADVERTISING_PARAMETERS:
        this.#setAdvertisingParameters(opcode, p);
        return;
      case C.LE_SET_ADVERTISING_DATA:
      case C.LE_SET_SCAN_RESPONSE_DATA: {
        const length = p[0] ?? 0;
        if (length > 31) {
          this.#complete(opcode, HCI_STATUS.INVALID_PARAMETERS);
          return;
        }
        const data = p.slice(1, 1 + length);
        if (opcode === C.LE_SET_ADVERTISING_DATA) this.#advertisingData = data;
        else this.#scanResponseData = data;
        this.#complete(opcode, OK);
        return;
      }
      case C.LE_SET_ADVERTISING_ENABLE:
        if (p[0] === 1) this.#startAdvertising();
        else this.#stopAdvertising();
        this.#complete(opcode, OK);
        return;
      case C.LE_SET_SCAN_PARAMETERS:
        if (this.#scanning) {
          this.#complete(opcode, HCI_STATUS.COMMAND_DISALLOWED);
          return;
        }
        this.#activeScan = p[0] === 1;
        this.#complete(opcode, OK);
        return;
      case C.LE_SET_SCAN_ENABLE:
        // The duplicate filter starts afresh each time scanning is enabled (§7.8.11).
        if (p[0] === 1 && !this.#scanning) this.#reported.clear();
        this.#scanning = p[0] === 1;
        this.#filterDuplicates = p[1] === 1;
        this.#complete(opcode, OK);
        return;
      case C.LE_CREATE_CONNECTION:
        if (this.#pendingConnection !== undefined) {
          this.#status(opcode, HCI_STATUS.COMMAND_DISALLOWED);
          return;
        }
        this.#pendingConnection = {
          peerAddress: p.slice(6, 12),
          parameters: {
            interval: readU16(p, 15),
            latency: readU16(p, 17),
            timeout: readU16(p, 19),
          },
        };
        this.#status(opcode, OK);
        return;
      case C.LE_CREATE_CONNECTION_CANCEL:
        if (this.#pendingConnection === undefined) {
          this.#complete(opcode, HCI_STATUS.COMMAND_DISALLOWED);
          return;
        }
        this.#pendingConnection = undefined;
        this.#complete(opcode, OK);
        // §7.8.13: the cancelled attempt completes with Unknown Connection Identifier.
        this.#leEvent(LE_SUBEVENT.CONNECTION_COMPLETE, [
          HCI_STATUS.UNKNOWN_CONNECTION_ID,
          ...new Array<number>(17).fill(0),
        ]);
        return;
      case C.LE_CONNECTION_UPDATE:
        this.#updateConnection(opcode, p);
        return;
      case C.DISCONNECT:
        this.#disconnect(opcode, readU16(p, 0) & HANDLE_MASK, p[2] ?? 0);
        return;
      case C.READ_RSSI: {
        const handle = readU16(p, 0) & HANDLE_MASK;
        const known = this.#connections.has(handle);
        this.#complete(opcode, known ? OK : HCI_STATUS.UNKNOWN_CONNECTION_ID, [
          ...u16(handle),
          known ? this.#medium.rssiDbm & 0xff : 0,
        ]);
        return;
      }
      default:
        throw new TypeError(`opcode 0x${opcode.toString(16)} has a length but no handler`);
    }
  }

  // ---- advertising and scanning ---------------------------------------------------------

  #setAdvertisingParameters(opcode: number, p: Uint8Array): void {
    if (this.#advertising) {
      this.#complete(opcode, HCI_STATUS.COMMAND_DISALLOWED);
      return;
    }
    const intervalMin = readU16(p, 0);
    const type = p[4] ?? 0;
    if (intervalMin < 0x20 || type > ADVERTISING_REPORT_TYPE.ADV_NONCONN_IND) {
      this.#complete(opcode, HCI_STATUS.INVALID_PARAMETERS);
      return;
    }
    this.#advertisingIntervalMs = intervalMin * 0.625;
    this.#advertisingType = type;
    this.#ownAddressType = p[5] ?? 0;
    this.#complete(opcode, HCI_STATUS.SUCCESS);
  }

  #startAdvertising(): void {
    if (this.#advertising) return;
    this.#advertising = true;
    const advertisingEvent = (): void => {
      this.#cancelAdvertisingEvent = undefined;
      if (!this.#advertising) return;
      this.#medium.broadcast({
        advertiser: this,
        address: this.#addressBytes,
        addressType: this.#ownAddressType,
        type: this.#advertisingType,
        data: this.#advertisingData,
        scanResponse: this.#scanResponseData,
      });
      if (this.#advertising) {
        this.#cancelAdvertisingEvent = this.#medium.schedule(
          this.#advertisingIntervalMs,
          advertisingEvent,
        );
      }
    };
    this.#cancelAdvertisingEvent = this.#medium.schedule(0, advertisingEvent);
  }

  #stopAdvertising(): void {
    this.#advertising = false;
    this.#cancelAdvertisingEvent?.();
    this.#cancelAdvertisingEvent = undefined;
  }

  #report(pdu: AdvertisingPdu, type: number, data: Uint8Array): void {
    if (this.#filterDuplicates) {
      const key = `${addressText(pdu.address)}/${type}`;
      if (this.#reported.has(key)) return;
      this.#reported.add(key);
    }
    this.#leEvent(LE_SUBEVENT.ADVERTISING_REPORT, [
      1,
      type,
      pdu.addressType,
      ...pdu.address,
      data.length,
      ...data,
      this.#medium.rssiDbm & 0xff,
    ]);
  }

  // ---- connections ----------------------------------------------------------------------

  /** The initiator (this) heard `pdu`'s connectable advertisement: both ends are connected. */
  #connect(pdu: AdvertisingPdu, parameters: ConnectionParameters): void {
    const peripheral = pdu.advertiser;
    peripheral.#stopAdvertising();
    const link = new Link(
      { ...parameters },
      { controller: this, handle: this.#allocateHandle() },
      { controller: peripheral, handle: peripheral.#allocateHandle() },
    );
    const central = link.central;
    const remote = link.peripheral;
    this.#connections.set(central.handle, central);
    peripheral.#connections.set(remote.handle, remote);
    this.#connectionComplete(central, 0x00, pdu.addressType, pdu.address);
    // The peripheral learns of it when the CONNECT_IND reaches it, one air hop later.
    this.#medium.schedule(this.#medium.latencyMs, () => {
      if (!link.closed) peripheral.#connectionComplete(remote, 0x01, 0, this.#addressBytes);
    });
  }

  #allocateHandle(): number {
    let handle = this.#nextHandle;
    while (this.#connections.has(handle)) handle = handle >= 0x0eff ? FIRST_HANDLE : handle + 1;
    this.#nextHandle = handle >= 0x0eff ? FIRST_HANDLE : handle + 1;
    return handle;
  }

  #connectionComplete(end: LinkEnd, role: number, peerType: number, peer: Uint8Array): void {
    const { interval, latency, timeout } = end.link.parameters;
    this.#leEvent(LE_SUBEVENT.CONNECTION_COMPLETE, [
      HCI_STATUS.SUCCESS,
      ...u16(end.handle),
      role,
      peerType,
      ...peer,
      ...u16(interval),
      ...u16(latency),
      ...u16(timeout),
      0x00,
    ]);
  }

  /** The connection is gone for this end's host: its buffers are flushed (§7.7.5). */
  #endConnection(end: LinkEnd, reason: number): void {
    if (this.#connections.get(end.handle) !== end) return;
    this.#connections.delete(end.handle);
    this.#event(HCI_EVENT.DISCONNECTION_COMPLETE, [HCI_STATUS.SUCCESS, ...u16(end.handle), reason]);
  }

  #disconnect(opcode: number, handle: number, reason: number): void {
    const end = this.#connections.get(handle);
    if (end === undefined || end.link.closed) {
      this.#status(opcode, HCI_STATUS.UNKNOWN_CONNECTION_ID);
      return;
    }
    this.#status(opcode, HCI_STATUS.SUCCESS);
    end.link.closed = true;
    const peer = end.link.peerOf(end);
    const hop = this.#medium.latencyMs;
    this.#medium.schedule(hop, () => this.#endConnection(end, HCI_STATUS.LOCAL_HOST_TERMINATED));
    this.#medium.schedule(hop, () => peer.controller.#endConnection(peer, reason));
  }

  #updateConnection(opcode: number, p: Uint8Array): void {
    const end = this.#connections.get(readU16(p, 0) & HANDLE_MASK);
    if (end === undefined || end.link.closed) {
      this.#status(opcode, HCI_STATUS.UNKNOWN_CONNECTION_ID);
      return;
    }
    this.#status(opcode, HCI_STATUS.SUCCESS);
    const next: ConnectionParameters = {
      interval: readU16(p, 4),
      latency: readU16(p, 6),
      timeout: readU16(p, 8),
    };
    this.#medium.schedule(this.#medium.latencyMs, () => {
      const link = end.link;
      if (link.closed) return;
      const previous = link.parameters;
      link.parameters = next;
      const changed =
        previous.interval !== next.interval ||
        previous.latency !== next.latency ||
        previous.timeout !== next.timeout;
      for (const side of [link.central, link.peripheral]) {
        if (side !== end && !changed) continue;
        side.controller.#leEvent(LE_SUBEVENT.CONNECTION_UPDATE_COMPLETE, [
          HCI_STATUS.SUCCESS,
          ...u16(side.handle),
          ...u16(next.interval),
          ...u16(next.latency),
          ...u16(next.timeout),
        ]);
      }
    });
  }

  // ---- ACL data -------------------------------------------------------------------------

  #buffers(): AclBuffers {
    return this.#leAclBuffers.count === 0 ? this.#aclBuffers : this.#leAclBuffers;
  }

  #aclFromHost(packet: Uint8Array): void {
    this.stats.aclFromHost++;
    const header = readU16(packet, 1);
    const handle = header & HANDLE_MASK;
    const boundary = (header >> 12) & 0b11;
    const length = readU16(packet, 3);
    if (packet.length !== 5 + length) {
      this.#diagnose(
        `dropped ACL data: header says ${length} bytes, packet has ${packet.length - 5}`,
      );
      return;
    }
    const end = this.#connections.get(handle);
    if (end === undefined) {
      this.stats.unknownHandleAcl++;
      this.#diagnose(`dropped ACL data for unknown handle 0x${handle.toString(16)}`);
      return;
    }
    const buffers = this.#buffers();
    if (length > buffers.length) {
      this.stats.oversizedAcl++;
      this.#diagnose(`dropped ACL data of ${length} bytes: buffers hold ${buffers.length}`);
      return;
    }
    let inUse = 0;
    for (const connection of this.#connections.values()) inUse += connection.buffersInUse;
    if (inUse >= buffers.count) {
      this.stats.bufferOverflows++;
      this.#diagnose(`ACL buffer overflow: all ${buffers.count} buffers in use`);
      this.#event(HCI_EVENT.DATA_BUFFER_OVERFLOW, [ACL_LINK_TYPE]);
      return;
    }
    end.buffersInUse++;
    this.stats.maxBuffersInUse = Math.max(this.stats.maxBuffersInUse, inUse + 1);
    if (boundary === RESERVED_BOUNDARY) {
      this.#diagnose('ACL data with the reserved boundary flag 0b11 taken as a start');
    }
    // Whichever start flag the host used (0b00 or 0b10), the link layer marks a start (LLID 0b10).
    const start = boundary !== ACL_BOUNDARY.CONTINUING;
    const pdus: LinkPdu[] = [];
    const payload = packet.subarray(5);
    const size = this.#medium.linkLayerPayloadBytes;
    let offset = 0;
    do {
      pdus.push({ start: start && offset === 0, payload: payload.slice(offset, offset + size) });
      offset += size;
    } while (offset < payload.length);
    this.#medium.schedule(this.#medium.latencyMs, () => {
      // A closed link's data is never acknowledged; its buffers go with the connection.
      if (end.link.closed || this.#connections.get(handle) !== end) return;
      const peer = end.link.peerOf(end);
      peer.controller.#aclFromAir(peer, pdus);
      end.buffersInUse--;
      this.#event(HCI_EVENT.NUMBER_OF_COMPLETED_PACKETS, [1, ...u16(handle), ...u16(1)]);
    });
  }

  #aclFromAir(end: LinkEnd, pdus: readonly LinkPdu[]): void {
    if (this.#connections.get(end.handle) !== end) return;
    for (const pdu of pdus) {
      const boundary = pdu.start ? ACL_BOUNDARY.FIRST_FLUSHABLE : ACL_BOUNDARY.CONTINUING;
      const length = pdu.payload.length;
      this.#sendToHost(
        Uint8Array.from([
          HCI_PACKET.ACL_DATA,
          ...u16(end.handle | (boundary << 12)),
          ...u16(length),
          ...pdu.payload,
        ]),
      );
    }
  }
}
