/**
 * The virtual HCI (ARCHITECTURE.md §6 "Transports"): virtual Bluetooth LE controllers on a virtual
 * air, a stand-in for `@abandonware/bluetooth-hci-socket` on them, and the loader that runs the
 * real noble and bleno stacks on it (or on real sockets, with captures).
 */
export { VirtualAir } from './air.js';
export type { VirtualAirOptions } from './air.js';
export { VirtualController, addressBytes, addressText } from './controller.js';
export type { AclBuffers, ControllerStats, VirtualControllerOptions } from './controller.js';
export { VirtualHciSocket, virtualHciSocketClass } from './socket.js';
export type { HciDevice, HciSocketClass, HciSocketLike } from './socket.js';
export { loadBlenoOnSocket, loadNobleOnSocket } from './loader.js';
export type {
  Bleno,
  LoadedBleno,
  LoadedNoble,
  LoadedStack,
  Noble,
  StackLoadOptions,
} from './loader.js';
export { loadBlenoWithVirtualHci, loadNobleWithVirtualHci } from './virtual-stacks.js';
export type { VirtualBleno, VirtualNoble, VirtualStackOptions } from './virtual-stacks.js';
