import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { HCI_COMMAND } from '../../src/transport/virtual-hci/hci-codes.js';
import { VirtualAir, VirtualHciSocket } from '../../src/transport/virtual-hci/index.js';
import { fromHex } from '../support/hex.js';
import {
  ECHO_RX,
  ECHO_SERVICE,
  ECHO_TX,
  numberedValues,
  runEchoSession,
} from './virtual-hci-echo.js';

describe('the real bleno and noble over the virtual HCI pair', () => {
  it('advertise, scan, connect, discover, exchange the MTU, write without response and notify', async () => {
    const result = await runEchoSession({ values: (mtu) => numberedValues(8, mtu - 3) });
    expect(result.advertisedServices).toEqual([ECHO_SERVICE]);
    expect(result.localName).toBe('echo');
    expect(result.discovered).toEqual({
      service: ECHO_SERVICE,
      characteristics: [ECHO_RX, ECHO_TX].sort(),
    });
    // noble asks for 256, bleno's ceiling.
    expect(result.mtu).toBe(256);
    expect(result.blenoMtu).toBe(256);
    expect(result.echoed).toEqual(result.sent);
    // Every command both stacks send is one the controller knows, and no host broke flow control.
    for (const stats of [result.centralStats, result.peripheralStats]) {
      expect(stats.unknownOpcodes).toEqual([]);
      expect(stats.bufferOverflows).toBe(0);
      expect(stats.oversizedAcl).toBe(0);
    }
    expect(result.centralDisconnectedBy).toBe(String(0x16));
    expect(result.pendingTimersAfterClose).toBe(0);
  });

  it('at the minimum MTU, with a single 27-byte LE buffer and 27-byte link-layer PDUs', async () => {
    const result = await runEchoSession({
      air: { linkLayerPayloadBytes: 27 },
      leAclBuffers: { length: 27, count: 1 },
      peripheralMaxMtu: 23,
      values: (mtu) => numberedValues(12, mtu - 3),
    });
    expect(result.mtu).toBe(23);
    expect(result.blenoMtu).toBe(23);
    expect(result.sent.every((value) => value.length === 20)).toBe(true);
    expect(result.echoed).toEqual(result.sent);
    for (const stats of [result.centralStats, result.peripheralStats]) {
      expect(stats.maxBuffersInUse).toBe(1);
      expect(stats.bufferOverflows).toBe(0);
      expect(stats.oversizedAcl).toBe(0);
    }
  });

  it('with latency on the air and shared (BR/EDR) buffers', async () => {
    const result = await runEchoSession({
      air: { latencyMs: 3 },
      leAclBuffers: { length: 0, count: 0 },
      values: (mtu) => numberedValues(3, mtu - 3),
    });
    expect(result.echoed).toEqual(result.sent);
    expect(result.pendingTimersAfterClose).toBe(0);
  });
});

/** A raw socket with a pass-everything filter on a new controller of `air`. */
function openRaw(air: VirtualAir, options: Parameters<VirtualAir['addController']>[0] = {}) {
  const controller = air.addController(options);
  const socket = new VirtualHciSocket(air);
  const received: string[] = [];
  socket.on('data', (data: Buffer) => received.push(data.toString('hex')));
  socket.bindRaw(controller.devId);
  const filter = Buffer.alloc(16);
  filter.writeUInt32LE(0xffffffff, 0);
  filter.writeUInt32LE(0xffffffff, 4);
  filter.writeUInt32LE(0xffffffff, 8);
  socket.setFilter(filter);
  socket.start();
  const command = (opcode: number, parameters: string): void => {
    const p = fromHex(parameters);
    socket.write(Buffer.from([0x01, opcode & 0xff, opcode >> 8, p.length, ...p]));
  };
  return { controller, socket, received, command };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Waits (on host timers, bounded) until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(done()).toBe(true);
}

const LE_META_ON = '0000000000000020'; // Set_Event_Mask bit 61: LE meta events
const ADVERTISER = '11:22:33:44:55:66';
const ADV_PARAMETERS_20MS = '2000' + '2000' + '00' + '00' + '00' + '000000000000' + '07' + '00';

function advertise(host: ReturnType<typeof openRaw>): void {
  host.command(HCI_COMMAND.LE_SET_ADVERTISING_PARAMETERS, ADV_PARAMETERS_20MS);
  host.command(HCI_COMMAND.LE_SET_ADVERTISING_DATA, '03020106'.padEnd(64, '0'));
  host.command(HCI_COMMAND.LE_SET_SCAN_RESPONSE_DATA, '03020aff'.padEnd(64, '0'));
  host.command(HCI_COMMAND.LE_SET_ADVERTISING_ENABLE, '01');
}

function scan(host: ReturnType<typeof openRaw>, active: boolean, filterDuplicates: boolean): void {
  host.command(HCI_COMMAND.SET_EVENT_MASK, LE_META_ON);
  host.command(HCI_COMMAND.LE_SET_SCAN_PARAMETERS, `${active ? '01' : '00'}1200120000` + '00');
  host.command(HCI_COMMAND.LE_SET_SCAN_ENABLE, `01${filterDuplicates ? '01' : '00'}`);
}

const reports = (host: ReturnType<typeof openRaw>) =>
  host.received.filter((packet) => packet.startsWith('043e') && packet.slice(6, 8) === '02');
// One report per event: ADV_IND (type 0) then SCAN_RSP (type 4), RSSI -50 (0xce).
const ADV_IND_REPORT =
  '043e0f' + '02' + '01' + '00' + '00' + '665544332211' + '03' + '020106' + 'ce';
const SCAN_RSP_REPORT =
  '043e0f' + '02' + '01' + '04' + '00' + '665544332211' + '03' + '020aff' + 'ce';

describe('virtual HCI controller', () => {
  it('answers an unknown opcode with Command Complete "Unknown HCI Command" and logs it', async () => {
    const air = new VirtualAir();
    const log: string[] = [];
    const host = openRaw(air, { log: (line) => log.push(line) });
    host.command(0x2031, '000505');
    await settle();
    expect(host.received).toEqual(['040e0401312001']);
    expect(host.controller.stats.unknownOpcodes).toEqual([0x2031]);
    expect(log.join()).toContain('0x2031');
    air.close();
  });

  it('delivers nothing to a raw socket before its filter is set (Linux hci_sock)', async () => {
    const air = new VirtualAir();
    const controller = air.addController();
    const socket = new VirtualHciSocket(air);
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    socket.bindRaw(controller.devId);
    socket.start();
    socket.write(Buffer.from(fromHex('01030c00')));
    await settle();
    expect(received).toEqual([]);
    expect(controller.stats.events).toBe(1);
    air.close();
  });

  it('scans: duplicate filter per address and type, scan responses only when active', async () => {
    const air = new VirtualAir();
    const advertiser = openRaw(air, { address: ADVERTISER });
    const filtered = openRaw(air);
    const everything = openRaw(air);
    const passive = openRaw(air);
    scan(filtered, true, true);
    scan(everything, true, false);
    scan(passive, false, false);
    advertise(advertiser);
    await until(() => reports(everything).length >= 6);
    expect(reports(filtered)).toEqual([ADV_IND_REPORT, SCAN_RSP_REPORT]);
    expect(reports(everything).slice(0, 4)).toEqual([
      ADV_IND_REPORT,
      SCAN_RSP_REPORT,
      ADV_IND_REPORT,
      SCAN_RSP_REPORT,
    ]);
    expect(new Set(reports(passive))).toEqual(new Set([ADV_IND_REPORT]));
    air.close();
  });

  it('connects, reads RSSI, updates the connection, refuses a host beyond its buffers, disconnects', async () => {
    const air = new VirtualAir();
    const peripheral = openRaw(air, {
      address: ADVERTISER,
      leAclBuffers: { length: 27, count: 1 },
    });
    const central = openRaw(air);
    for (const host of [peripheral, central])
      host.command(HCI_COMMAND.SET_EVENT_MASK, 'ffffffffffffff3f');
    advertise(peripheral);
    central.command(
      HCI_COMMAND.LE_CREATE_CONNECTION,
      '6000' +
        '3000' +
        '00' +
        '00' +
        '665544332211' +
        '00' +
        '0600' +
        '1200' +
        '0000' +
        '2a00' +
        '0400' +
        '0600',
    );
    const connected = '043e13' + '01' + '00' + '4000';
    await until(() => peripheral.received.some((packet) => packet.startsWith(connected)));
    expect(central.received).toContain('040f0400010d20');
    expect(central.received).toContain(
      connected + '00' + '00' + '665544332211' + '1200' + '0000' + '2a00' + '00',
    );
    expect(peripheral.received).toContain(
      connected + '01' + '00' + '015300' + '5e0000' + '1200' + '0000' + '2a00' + '00',
    );
    expect(central.controller.connections).toEqual([
      { handle: 0x40, role: 'central', peer: ADVERTISER },
    ]);

    central.command(HCI_COMMAND.READ_RSSI, '4000');
    central.command(
      HCI_COMMAND.LE_CONNECTION_UPDATE,
      '4000' + '1800' + '1800' + '0000' + '6400' + '0000' + '0000',
    );
    await until(() => peripheral.received.some((packet) => packet.startsWith('043e0a03')));
    expect(central.received).toContain('040e07010514' + '00' + '4000' + 'ce');
    expect(central.received).toContain('043e0a03' + '00' + '4000' + '1800' + '0000' + '6400');
    expect(peripheral.received).toContain('043e0a03' + '00' + '4000' + '1800' + '0000' + '6400');

    // Two 27-byte packets at once into one buffer: the second overflows, the first completes.
    const acl = Buffer.from(fromHex('024000' + '1b00' + '1700' + '0400' + '52'.padEnd(46, '0')));
    peripheral.socket.write(acl);
    peripheral.socket.write(acl);
    await until(() => central.received.some((packet) => packet.startsWith('02')));
    await until(() => peripheral.received.includes('041305' + '01' + '4000' + '0100'));
    expect(peripheral.received).toContain('041a0101');
    expect(peripheral.controller.stats.bufferOverflows).toBe(1);
    // The host sent boundary 0b00; the central's host gets 0b10, as noble and bleno require.
    expect(central.received.filter((packet) => packet.startsWith('02'))).toEqual([
      '024020' + '1b00' + acl.subarray(5).toString('hex'),
    ]);

    central.command(HCI_COMMAND.DISCONNECT, '4000' + '13');
    await until(() => peripheral.received.includes('040504' + '00' + '4000' + '13'));
    expect(central.received).toContain('040504' + '00' + '4000' + '16');
    expect(central.controller.connections).toEqual([]);
    air.close();
  });

  it("answers bleno's management socket", async () => {
    const air = new VirtualAir();
    const socket = new VirtualHciSocket(air);
    const received: string[] = [];
    socket.on('data', (data: Buffer) => received.push(data.toString('hex')));
    socket.bindControl();
    socket.start();
    socket.write(Buffer.from(fromHex('1300' + '0000' + '0200' + '0000')));
    socket.write(Buffer.from(fromHex('9900' + '0000' + '0000')));
    await settle();
    expect(received).toEqual([
      '0100' + '0000' + '0300' + '1300' + '00',
      '0200' + '0000' + '0300' + '9900' + '01',
    ]);
    air.close();
  });
});
