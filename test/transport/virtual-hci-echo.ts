// An echo session between the real bleno and the real noble over the virtual HCI pair, shared by
// the virtual HCI and btsnoop tests: bleno advertises one service whose `rx` characteristic (write
// without response) sends every value back as a notification on `tx`; noble scans for the service,
// connects, discovers, subscribes, writes and collects the echoes.
import type { HciTap } from '../../src/transport/btsnoop.js';
import {
  VirtualAir,
  loadBlenoWithVirtualHci,
  loadNobleWithVirtualHci,
} from '../../src/transport/virtual-hci/index.js';
import type {
  AclBuffers,
  ControllerStats,
  VirtualAirOptions,
} from '../../src/transport/virtual-hci/index.js';

export const ECHO_SERVICE = '6b6579776179000000000000000000e0';
export const ECHO_RX = '6b6579776179000000000000000000e1';
export const ECHO_TX = '6b6579776179000000000000000000e2';

export interface EchoConfig {
  readonly air?: VirtualAirOptions;
  readonly leAclBuffers?: AclBuffers;
  /** bleno's ATT_MTU ceiling (its own is 256); 23 forces the minimum. */
  readonly peripheralMaxMtu?: number;
  readonly capture?: HciTap;
  /** Values noble writes, each at most MTU − 3 bytes once the MTU is known. */
  readonly values: (mtu: number) => Uint8Array[];
}

export interface EchoResult {
  readonly advertisedServices: string[];
  readonly localName: string | undefined;
  readonly mtu: number;
  readonly discovered: { service: string; characteristics: string[] };
  readonly sent: Uint8Array[];
  readonly echoed: Uint8Array[];
  readonly blenoMtu: number;
  readonly centralStats: ControllerStats;
  readonly peripheralStats: ControllerStats;
  readonly centralDisconnectedBy: string;
  readonly peripheralSawDisconnect: string;
  readonly pendingTimersAfterClose: number;
}

function eventOnce<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: T) => resolve(args)));
}

/** Minimal shapes of noble's peripheral and characteristic used here. */
interface NoblePeripheral extends NodeJS.EventEmitter {
  readonly address: string;
  readonly mtu: number | null;
  readonly advertisement: { serviceUuids: string[]; localName?: string };
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(
    services: string[],
    characteristics: string[],
  ): Promise<{
    services: { uuid: string }[];
    characteristics: NobleCharacteristic[];
  }>;
}
interface NobleCharacteristic extends NodeJS.EventEmitter {
  readonly uuid: string;
  subscribeAsync(): Promise<void>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
}

export async function runEchoSession(config: EchoConfig): Promise<EchoResult> {
  const air = new VirtualAir(config.air);
  const peripheralOptions = {
    ...(config.leAclBuffers === undefined ? {} : { leAclBuffers: config.leAclBuffers }),
    ...(config.capture === undefined ? {} : { capture: config.capture }),
  };
  const lock = await loadBlenoWithVirtualHci(air, peripheralOptions);
  const phone = await loadNobleWithVirtualHci(
    air,
    config.leAclBuffers === undefined ? {} : { leAclBuffers: config.leAclBuffers },
  );
  try {
    const { bleno } = lock;
    if (config.peripheralMaxMtu !== undefined) {
      (bleno as unknown as { _bindings: { _gatt: { maxMtu: number } } })._bindings._gatt.maxMtu =
        config.peripheralMaxMtu;
    }
    let notify: ((data: Buffer) => void) | undefined;
    const service = new bleno.PrimaryService({
      uuid: ECHO_SERVICE,
      characteristics: [
        new bleno.Characteristic({
          uuid: ECHO_RX,
          properties: ['writeWithoutResponse'],
          onWriteRequest: (data, _offset, _withoutResponse, callback) => {
            notify?.(data);
            callback(bleno.Characteristic.RESULT_SUCCESS);
          },
        }),
        new bleno.Characteristic({
          uuid: ECHO_TX,
          properties: ['notify'],
          onSubscribe: (_maxValueSize, updateValueCallback) => {
            notify = updateValueCallback;
          },
          onUnsubscribe: () => {
            notify = undefined;
          },
        }),
      ],
    });
    const servicesSet = eventOnce(bleno, 'servicesSet');
    bleno.setServices([service]);
    await servicesSet;
    const advertising = eventOnce<[Error | null | undefined]>(bleno, 'advertisingStart');
    bleno.startAdvertising('echo', [ECHO_SERVICE]);
    const [advertisingError] = await advertising;
    if (advertisingError) throw advertisingError;
    const blenoMtu = eventOnce<[number]>(bleno, 'mtuChange');
    const peripheralDisconnect = eventOnce<[string]>(bleno, 'disconnect');

    const noble = phone.noble as unknown as NodeJS.EventEmitter & {
      startScanningAsync(services: string[], allowDuplicates: boolean): Promise<void>;
      stopScanningAsync(): Promise<void>;
    };
    const discovered = eventOnce<[NoblePeripheral]>(noble, 'discover');
    await noble.startScanningAsync([ECHO_SERVICE], false);
    const [peripheral] = await discovered;
    await noble.stopScanningAsync();
    const advertisedServices = [...peripheral.advertisement.serviceUuids];
    const localName = peripheral.advertisement.localName;

    await peripheral.connectAsync();
    const { services, characteristics } =
      await peripheral.discoverSomeServicesAndCharacteristicsAsync(
        [ECHO_SERVICE],
        [ECHO_RX, ECHO_TX],
      );
    const [mtuAtPeripheral] = await blenoMtu;
    const mtu = peripheral.mtu ?? 23;
    const rx = characteristics.find((c) => c.uuid === ECHO_RX);
    const tx = characteristics.find((c) => c.uuid === ECHO_TX);
    if (rx === undefined || tx === undefined) throw new Error('echo characteristics not found');

    const sent = config.values(mtu);
    const echoed: Uint8Array[] = [];
    const allEchoed = new Promise<void>((resolve) => {
      tx.on('data', (data: Buffer) => {
        echoed.push(Uint8Array.from(data));
        if (echoed.length === sent.length) resolve();
      });
    });
    await tx.subscribeAsync();
    for (const value of sent) await rx.writeAsync(Buffer.from(value), true);
    await allEchoed;

    const centralDisconnect = eventOnce<[string]>(peripheral, 'disconnect');
    await peripheral.disconnectAsync();
    const [centralDisconnectedBy] = await centralDisconnect;
    const [peripheralSawDisconnect] = await peripheralDisconnect;
    return {
      advertisedServices,
      localName,
      mtu,
      discovered: {
        service: services[0]?.uuid ?? '',
        characteristics: characteristics.map((c) => c.uuid).sort(),
      },
      sent,
      echoed,
      blenoMtu: mtuAtPeripheral,
      centralStats: phone.controller.stats,
      peripheralStats: lock.controller.stats,
      centralDisconnectedBy: String(centralDisconnectedBy),
      peripheralSawDisconnect,
      pendingTimersAfterClose: closeAll(),
    };
  } finally {
    closeAll();
  }

  function closeAll(): number {
    phone.close();
    lock.close();
    air.close();
    return air.pendingTimers;
  }
}

/** `count` values of `size` bytes, each distinct, in order. */
export function numberedValues(count: number, size: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) & 0xff),
  );
}
