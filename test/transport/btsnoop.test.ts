import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BTSNOOP_EPOCH_OFFSET_US,
  decodeBtsnoop,
  encodeBtsnoopHeader,
  encodeBtsnoopRecord,
  openBtsnoopFile,
} from '../../src/transport/btsnoop.js';
import { WIRE_ERRORS } from '../../protocol/errors.js';
import { fromHex, hex } from '../support/hex.js';
import { numberedValues, runEchoSession } from './virtual-hci-echo.js';

function tsharkAvailable(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('btsnoop records', () => {
  it('header: "btsnoop\\0", version 1, datalink 1002 (H4)', () => {
    expect(hex(encodeBtsnoopHeader())).toBe('6274736e6f6f7000' + '00000001' + '000003ea');
  });

  it('flags by direction and kind, timestamp from year 0, and back', () => {
    const command = fromHex('01030c00');
    const event = fromHex('040e0401030c00');
    const aclOut = fromHex('0240000100aa');
    const unixMicros = 1_700_000_000_000_000n;
    const record = encodeBtsnoopRecord(command, 'host-to-controller', unixMicros);
    expect(hex(record.subarray(0, 16))).toBe('00000004' + '00000004' + '00000002' + '00000000');
    expect(new DataView(record.buffer).getBigInt64(16)).toBe(unixMicros + BTSNOOP_EPOCH_OFFSET_US);
    const flags = (packet: Uint8Array, direction: 'host-to-controller' | 'controller-to-host') =>
      new DataView(encodeBtsnoopRecord(packet, direction, 0n).buffer).getUint32(8);
    expect(flags(event, 'controller-to-host')).toBe(3);
    expect(flags(aclOut, 'host-to-controller')).toBe(0);
    expect(flags(aclOut, 'controller-to-host')).toBe(1);
    const file = new Uint8Array([
      ...encodeBtsnoopHeader(),
      ...record,
      ...encodeBtsnoopRecord(event, 'controller-to-host', unixMicros + 5n),
    ]);
    const decoded = decodeBtsnoop(file);
    expect(
      decoded.ok &&
        decoded.value.map((r) => [r.direction, r.commandOrEvent, r.timestampUs, hex(r.packet)]),
    ).toEqual([
      ['host-to-controller', true, unixMicros, '01030c00'],
      ['controller-to-host', true, unixMicros + 5n, '040e0401030c00'],
    ]);
    expect(decodeBtsnoop(file.subarray(0, file.length - 1))).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.DECODE,
    });
    expect(decodeBtsnoop(fromHex('00'.repeat(16)))).toMatchObject({
      ok: false,
      code: WIRE_ERRORS.DECODE,
    });
  });
});

describe('a capture of bleno over the virtual HCI', () => {
  const directory = mkdtempSync(join(tmpdir(), 'keyway-btsnoop-'));
  const path = join(directory, 'lock.btsnoop');
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  let captured: Promise<void> | undefined;
  const capture = () =>
    (captured ??= (async () => {
      const file = openBtsnoopFile(path);
      try {
        const result = await runEchoSession({
          capture: file,
          leAclBuffers: { length: 27, count: 1 },
          air: { linkLayerPayloadBytes: 27 },
          values: (mtu) => numberedValues(4, mtu - 3),
        });
        expect(result.echoed).toEqual(result.sent);
      } finally {
        file.close();
      }
    })());

  it('holds every packet at the lock controller, in both directions', async () => {
    await capture();
    const decoded = decodeBtsnoop(readFileSync(path));
    if (!decoded.ok) throw new Error(`capture does not decode: ${decoded.detail ?? ''}`);
    const kinds = new Set(decoded.value.map((r) => `${r.direction}:${r.packet[0]}`));
    expect(kinds).toEqual(
      new Set([
        'host-to-controller:1',
        'host-to-controller:2',
        'controller-to-host:2',
        'controller-to-host:4',
      ]),
    );
    const stamps = decoded.value.map((r) => r.timestampUs);
    expect(stamps.every((stamp, i) => i === 0 || stamp >= (stamps[i - 1] ?? 0n))).toBe(true);
  });

  const tshark = tsharkAvailable();
  if (!tshark) {
    console.warn(
      'tshark is not installed (Debian: apt-get install tshark): the tshark check is skipped',
    );
  }
  it.skipIf(!tshark)(
    'opens in tshark, which shows ATT write commands and notifications',
    async () => {
      await capture();
      const opcodes = execFileSync(
        'tshark',
        ['-r', path, '-Y', 'btatt', '-T', 'fields', '-e', 'btatt.opcode'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      )
        .split('\n')
        .filter((line) => line !== '');
      // 0x52 Write Command (rx, from noble), 0x1b Handle Value Notification (tx, from bleno).
      expect(opcodes.filter((opcode) => opcode === '0x52')).toHaveLength(4);
      expect(opcodes.filter((opcode) => opcode === '0x1b')).toHaveLength(4);
      expect(opcodes).toContain('0x02'); // Exchange MTU Request
    },
  );
});
