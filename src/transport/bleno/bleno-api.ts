/**
 * The part of bleno (`@abandonware/bleno` 0.6, a CommonJS singleton) the lock peripheral uses,
 * declared here rather than imported: bleno is an optional dependency loaded at run time
 * (`../ble-stack.ts`), so no type of it may be needed to compile keyway (STYLE.md, the matter.js
 * model). Names and shapes follow bleno's README and `lib/`.
 */

/** `RESULT_SUCCESS` of bleno's `Characteristic`: ATT success. */
export const BLENO_RESULT_SUCCESS = 0x00;
/** `RESULT_INVALID_OFFSET`: ATT error 0x07. */
export const BLENO_RESULT_INVALID_OFFSET = 0x07;

export type BlenoProperty = 'read' | 'writeWithoutResponse' | 'notify';

export interface BlenoCharacteristicOptions {
  readonly uuid: string;
  readonly properties: readonly BlenoProperty[];
  /** A read-only value: bleno answers reads and blob reads at an offset itself. */
  readonly value?: Buffer;
  onWriteRequest?(
    data: Buffer,
    offset: number,
    withoutResponse: boolean,
    callback: (result: number) => void,
  ): void;
  /** `maxValueSize` is ATT_MTU − 3 at the moment the central wrote the CCCD. */
  onSubscribe?(maxValueSize: number, updateValueCallback: (value: Buffer) => void): void;
  onUnsubscribe?(): void;
}

export type BlenoCharacteristic = object;
export type BlenoPrimaryService = object;

export interface Bleno {
  /** `unknown`, `poweredOn`, `poweredOff`, `unauthorized`, `unsupported`, `resetting`. */
  readonly state: string;
  readonly address: string;
  readonly Characteristic: new (options: BlenoCharacteristicOptions) => BlenoCharacteristic;
  readonly PrimaryService: new (options: {
    readonly uuid: string;
    readonly characteristics: readonly BlenoCharacteristic[];
  }) => BlenoPrimaryService;
  on(event: 'stateChange', listener: (state: string) => void): this;
  on(event: 'accept' | 'disconnect', listener: (clientAddress: string) => void): this;
  on(event: 'mtuChange', listener: (mtu: number) => void): this;
  on(event: 'advertisingStartError', listener: (error: Error) => void): this;
  removeListener(
    event: 'stateChange' | 'accept' | 'disconnect',
    listener: (value: string) => void,
  ): this;
  removeListener(event: 'mtuChange', listener: (mtu: number) => void): this;
  startAdvertisingWithEIRData(
    advertisementData: Buffer,
    scanData: Buffer,
    callback?: (error?: Error | null) => void,
  ): void;
  stopAdvertising(callback?: () => void): void;
  setServices(services: readonly BlenoPrimaryService[], callback?: (error?: Error) => void): void;
  /** Ends the current connection, if any. */
  disconnect(): void;
  /**
   * The hci-socket binding. Its GATT server keeps the ATT_MTU it agrees to at most in `maxMtu`
   * (256), which bleno offers no other way to lower; its HCI layer holds the ACL packets not yet
   * handed to the controller (`_aclOutQueue`) and counts, per connection handle, those handed
   * over and not yet reported completed (`_handleAclsInProgress`): bleno says nothing else about
   * whether a notification has gone out.
   */
  readonly _bindings?: {
    readonly _gatt?: { maxMtu: number };
    readonly _hci?: {
      readonly _aclOutQueue?: readonly unknown[];
      readonly _handleAclsInProgress?: Readonly<Record<string, number>>;
    };
  };
}
