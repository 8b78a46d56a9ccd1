/**
 * The part of noble (`@abandonware/noble` 1.9) the central uses, declared here rather than
 * imported: noble is an optional dependency loaded at run time (`../ble-stack.ts`), so no type of
 * it may be needed to compile keyway. Names and shapes follow noble's README and `lib/`; UUIDs
 * are lowercase hex without dashes, as noble writes them.
 */

export interface NobleAdvertisement {
  readonly serviceUuids?: readonly string[];
  /** The last manufacturer data AD structure heard: company id (LE), then its data. */
  readonly manufacturerData?: Buffer;
}

export interface NobleCharacteristic {
  readonly uuid: string;
  write(data: Buffer, withoutResponse: boolean, callback?: (error?: Error | null) => void): void;
  subscribe(callback?: (error?: Error | null) => void): void;
  on(event: 'data', listener: (data: Buffer, isNotification: boolean) => void): this;
  removeAllListeners(event?: string): this;
}

export interface NoblePeripheral {
  /** noble's id: the address without colons, lowercase. */
  readonly id: string;
  /** `aa:bb:cc:dd:ee:ff`. */
  readonly address: string;
  readonly connectable: boolean;
  readonly rssi: number;
  readonly advertisement: NobleAdvertisement;
  /** The ATT_MTU agreed on the current connection; `null` before the exchange. */
  mtu: number | null;
  readonly state: string;
  connect(callback?: (error?: Error | null) => void): void;
  cancelConnect(): void;
  disconnect(callback?: () => void): void;
  discoverSomeServicesAndCharacteristics(
    serviceUuids: readonly string[],
    characteristicUuids: readonly string[],
    callback: (
      error: Error | null,
      services: unknown[],
      characteristics: NobleCharacteristic[],
    ) => void,
  ): void;
  /** `reason` is the HCI error code of the Disconnection Complete event. */
  on(event: 'disconnect', listener: (reason?: number) => void): this;
  once(event: 'disconnect', listener: (reason?: number) => void): this;
  removeListener(event: string, listener: (...args: never[]) => void): this;
}

export interface Noble {
  /** Reading it the first time opens the HCI socket. */
  readonly state: string;
  on(event: 'stateChange', listener: (state: string) => void): this;
  on(event: 'discover', listener: (peripheral: NoblePeripheral) => void): this;
  removeListener(event: string, listener: (...args: never[]) => void): this;
  startScanning(
    serviceUuids: readonly string[],
    allowDuplicates: boolean,
    callback?: (error?: Error | null) => void,
  ): void;
  stopScanning(callback?: () => void): void;
}

/** HCI error codes of a Disconnection Complete (Core Vol 1 Part F §1.3). */
export const HCI_REASON = {
  CONNECTION_TIMEOUT: 0x08,
  REMOTE_USER_TERMINATED: 0x13,
  LOCAL_HOST_TERMINATED: 0x16,
} as const;
