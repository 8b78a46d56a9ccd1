/** The public library API of keyway (`import { ... } from 'keyway'`). */
export * from '../protocol/index.js';
export { createNodeCrypto } from './core/node-crypto-provider.js';
export { KeywayError, InputError } from './core/errors.js';
export {
  bulkCodes,
  deriveCodes,
  CODES_FORMATS,
  MAX_DAYS,
  MAX_SYNC_CODES,
} from './core/bulk-codes.js';
export type {
  BulkCodes,
  BulkCodesOptions,
  CodeRecord,
  CodesField,
  CodesFormat,
  CodesOptions,
  DoorSelector,
} from './core/bulk-codes.js';

export { World, DEFAULT_START } from './sim/world.js';
export type {
  BatteryLockOptions,
  LockOptions,
  LockProvisioning,
  RLockOptions,
  WorldOptions,
} from './sim/world.js';
export { Lock, LOCK_FLASH_LAYOUT } from '../firmware-sim/lock.js';
export type { LockEnvironment, LockIdentity } from '../firmware-sim/lock.js';
export { authorize, SINGLE_USE_VALIDITY_MS } from '../firmware-sim/access.js';
export type {
  AccessDecision,
  AccessRequest,
  AuditFields,
  Grant,
  Operation,
} from '../firmware-sim/access.js';
export { KEYPAD_LOCKOUT_MS, KEYPAD_MAX_WRONG_ENTRIES } from '../firmware-sim/keypad.js';
export type { FlashFault, TornTail } from '../firmware-sim/flash.js';
export { Scheduler } from './sim/scheduler.js';
export { Random } from './sim/random.js';
export { EVENT } from '../firmware-sim/events.js';
export type {
  EventType,
  LockEvent,
  PassageSource,
  ReasonName,
  RelayState,
} from '../firmware-sim/events.js';
export {
  AJAR_SECONDS,
  C2_MODEL,
  C_MODEL,
  MODELS,
  M_MODEL,
  R_MODEL,
  STILL_AJAR_MINUTES,
} from '../firmware-sim/models.js';
export type {
  BatteryLockSpec,
  BatteryModelId,
  BatterySpec,
  ModelId,
  ModelSpec,
  RelayWiring,
} from '../firmware-sim/models.js';
export type { Clock, TimerCallback, TimerId, Timers } from '../firmware-sim/time.js';

export { Cloud } from './cloud/cloud.js';
export type { CloudOptions, Door, NewDoor } from './cloud/cloud.js';
export { CloudError, CLOUD_ERROR_CODES } from './cloud/errors.js';
export type { CloudErrorCode } from './cloud/errors.js';
export { Phone, DEFAULT_PHONE_TIMING } from './phone/phone.js';
export type { FetchLocksResult, PhoneOptions, PhoneTiming } from './phone/phone.js';
export { UnlockRun } from './phone/unlock-events.js';
export type { UnlockEvent, UnlockFailure, UnlockResult } from './phone/unlock-events.js';
export type { PhoneCloud, PhonePackage } from './phone/cloud-api.js';
export { TransportError } from './transport/types.js';
export type {
  CentralTransport,
  DisconnectReason,
  GattConnection,
  ScanResult,
  TransportErrorCode,
} from './transport/types.js';
export { RADIO_DEFAULTS, VirtualCentral, VirtualRadio } from './transport/virtual-radio.js';
export type { Position, VirtualRadioOptions } from './transport/virtual-radio.js';
export {
  advanceAsync,
  runPromise,
  runUntilAsync,
  sleep,
  VirtualTimeLimitError,
} from './sim/async.js';
export { Hub, DEFAULT_HUB_TIMING } from './hub/hub.js';
export type { HubOptions, HubRound, HubTiming, HubVisit } from './hub/hub.js';
export type { HubBundleOffer, HubCloud, HubPackage } from './hub/cloud-api.js';
export type { HubInfo, NewHub } from './cloud/hubs.js';
export { RealTimeDriver } from './sim/realtime.js';
export type { RealTimeOptions } from './sim/realtime.js';
export { BLENO_MAX_MTU, LockPeripheral } from './transport/bleno/lock-peripheral.js';
export type { LockPeripheralOptions, PeripheralEvent } from './transport/bleno/lock-peripheral.js';
export { NobleCentral } from './transport/noble/central.js';
export type { NobleCentralOptions } from './transport/noble/central.js';
export { BleUnavailableError } from './transport/ble-stack.js';
export type { BleProblem } from './transport/ble-stack.js';
export {
  VirtualAir,
  VirtualController,
  VirtualHciSocket,
  loadBlenoOnSocket,
  loadBlenoWithVirtualHci,
  loadNobleOnSocket,
  loadNobleWithVirtualHci,
} from './transport/virtual-hci/index.js';
export type { VirtualAirOptions, VirtualControllerOptions } from './transport/virtual-hci/index.js';
export { BtsnoopWriter, decodeBtsnoop, openBtsnoopFile } from './transport/btsnoop.js';
export type { BtsnoopRecord, HciTap } from './transport/btsnoop.js';
export { DEFAULT_PROXIMITY, PROXIMITY_HYSTERESIS_DB, MAX_PULLED_AUDIT_LOG } from './phone/phone.js';
export type {
  AccessLogsResult,
  AccountFailure,
  InviteGuestResult,
  ProximityOptions,
  ProximityStartResult,
  PulledAudit,
  RevokeGuestResult,
  SyncStartResult,
} from './phone/phone.js';
export { EventRun, SyncRun } from './phone/unlock-events.js';
export type { SyncEvent, SyncReport, SyncResult } from './phone/unlock-events.js';
export type { AccessLogEntry, GuestInvitation, GuestInvite } from './phone/cloud-api.js';
