// Why the real stacks cannot run, as typed errors (src/transport/ble-stack.ts, issue 7 item 3).
import { describe, expect, it } from 'vitest';
import {
  BleUnavailableError,
  explainAdapterState,
  explainBleFailure,
} from '../../src/transport/ble-stack.js';

const errno = (code: string, message = code): Error => Object.assign(new Error(message), { code });

describe('explainBleFailure', () => {
  it.each([
    [errno('EAFNOSUPPORT'), 'no-adapter', /--hci virtual/],
    [errno('ENODEV'), 'no-adapter', /hciconfig/],
    [errno('EPERM'), 'no-permission', /CAP_NET_RAW and CAP_NET_ADMIN/],
    [errno('EACCES'), 'no-permission', /setcap/],
    [errno('EBUSY'), 'adapter-off', /systemctl stop bluetooth/],
    [
      errno('MODULE_NOT_FOUND', "Cannot find module '@abandonware/noble'"),
      'no-package',
      /npm install @abandonware\/noble/,
    ],
    [
      errno('MODULE_NOT_FOUND', "Cannot find module '../build/Release/bluetooth_hci_socket.node'"),
      'no-binding',
      /npm rebuild @abandonware\/bluetooth-hci-socket/,
    ],
  ])('%s is %s, with its fix', (error, problem, fix) => {
    const explained = explainBleFailure(error, '@abandonware/noble', 1);
    expect(explained).toBeInstanceOf(BleUnavailableError);
    expect(explained?.problem).toBe(problem);
    expect(explained?.message).toMatch(fix);
    expect(explained?.cause).toBe(error);
  });

  it('names the adapter asked for', () => {
    expect(explainBleFailure(errno('EPERM'), '@abandonware/bleno', 2)?.message).toMatch(/hci2/);
  });

  it('leaves other failures alone, to be rethrown as they are', () => {
    expect(explainBleFailure(new TypeError('a bug'), '@abandonware/noble')).toBeUndefined();
  });
});

describe('explainAdapterState', () => {
  it('explains the states that will not turn into poweredOn by themselves', () => {
    expect(explainAdapterState('unauthorized')?.problem).toBe('no-permission');
    expect(explainAdapterState('unsupported')?.problem).toBe('no-le-support');
    expect(explainAdapterState('poweredOff', 0)?.message).toMatch(/hci0 is down/);
  });

  it('has nothing to say about poweredOn or a state in passing', () => {
    for (const state of ['poweredOn', 'unknown', 'resetting']) {
      expect(explainAdapterState(state)).toBeUndefined();
    }
  });
});
