/**
 * noble and bleno on the virtual air (ARCHITECTURE.md §6 "Transports"): each call adds a virtual
 * controller to the air, loads a fresh copy of the stack on it (`loader.ts`) and returns the stack
 * powered on, with its controller (for captures, statistics, power cuts). Two calls on one air make
 * the virtual HCI pair a phone and a lock talk over.
 */
import type { HciTap } from '../btsnoop.js';
import type { VirtualAir } from './air.js';
import type { VirtualController, VirtualControllerOptions } from './controller.js';
import { loadBlenoOnSocket, loadNobleOnSocket } from './loader.js';
import type { LoadedBleno, LoadedNoble } from './loader.js';
import { virtualHciSocketClass } from './socket.js';

export interface VirtualStackOptions extends VirtualControllerOptions {
  /** Every packet at the controller's host interface is recorded here (a btsnoop file). */
  readonly capture?: HciTap;
}

export interface VirtualNoble extends LoadedNoble {
  readonly controller: VirtualController;
}

export interface VirtualBleno extends LoadedBleno {
  readonly controller: VirtualController;
}

/** Adds a controller to `air` and loads a stack on it; the stack's `close` closes both. */
async function onNewController<T extends LoadedNoble | LoadedBleno>(
  air: VirtualAir,
  options: VirtualStackOptions,
  load: (controller: VirtualController) => Promise<T>,
): Promise<{ loaded: T; controller: VirtualController; close: () => void }> {
  const { capture, ...controllerOptions } = options;
  const controller = air.addController(controllerOptions);
  if (capture !== undefined) controller.attachTap(capture);
  try {
    const loaded = await load(controller);
    return {
      loaded,
      controller,
      close: () => {
        loaded.close();
        controller.close();
      },
    };
  } catch (error) {
    controller.close();
    throw error;
  }
}

/** A fresh noble on a new controller of `air`, powered on. `close()` also closes the controller. */
export async function loadNobleWithVirtualHci(
  air: VirtualAir,
  options: VirtualStackOptions = {},
): Promise<VirtualNoble> {
  const { loaded, controller, close } = await onNewController(air, options, (added) =>
    loadNobleOnSocket(virtualHciSocketClass(air, added.devId), { deviceId: added.devId }),
  );
  return { noble: loaded.noble, controller, close };
}

/** A fresh bleno on a new controller of `air`, powered on. `close()` also closes the controller. */
export async function loadBlenoWithVirtualHci(
  air: VirtualAir,
  options: VirtualStackOptions = {},
): Promise<VirtualBleno> {
  const { loaded, controller, close } = await onNewController(air, options, (added) =>
    loadBlenoOnSocket(virtualHciSocketClass(air, added.devId), { deviceId: added.devId }),
  );
  return { bleno: loaded.bleno, controller, close };
}
