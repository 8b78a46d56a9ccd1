/**
 * Loads the real noble and bleno stacks on a socket class of our choosing — the virtual HCI
 * (`socket.ts`) or the native `@abandonware/bluetooth-hci-socket`, optionally captured to btsnoop
 * — and hands back each stack powered on, with a `close()` that leaves no host timer, socket or
 * process listener behind (ARCHITECTURE.md §6 "Transports").
 *
 * Why it loads the packages this way:
 * - Both are CommonJS and `require('@abandonware/bluetooth-hci-socket')` when their `hci.js` loads.
 *   From ESM we reach them through `createRequire`; while one loads, `Module._load` (the function
 *   every CommonJS `require` goes through, before any cache) answers that one request with our
 *   class and passes every other request on. A `module.register` hook would not do: on Node 20 it
 *   sees `import`, not `require`.
 * - bleno is a singleton (its bindings, and its `mgmt.js`, are objects made at module load), and
 *   a module keeps the socket class it was loaded with; so every load takes the package's files out
 *   of `require.cache`, requires them afresh, and puts the previous entries back, so an ordinary
 *   `require` elsewhere still gets the copy it had. Two blenos and two nobles can share a process.
 * - Both stacks poll `isDevUp()` once a second with a host timer no API stops, and add `exit` and
 *   `SIGINT` listeners to `process` at init. `close()` ends the poll (the timer it schedules is
 *   recognised by its callback while the poll runs) and removes the listeners added during init.
 * - Init runs here, synchronously, with `HCI_CHANNEL_USER` unset (raw mode: the user channel
 *   would need the kernel's stack off the device) and the device id given, so the environment of a
 *   hardware set-up cannot send a virtual stack elsewhere.
 */
import { createRequire } from 'node:module';
import Module from 'node:module';
import { dirname, sep } from 'node:path';
import type * as NobleModule from '@abandonware/noble';
import type BlenoModule from '@abandonware/bleno';
import type { HciTap } from '../btsnoop.js';
import type { HciSocketClass, HciSocketLike } from './socket.js';

/** The noble instance `with-custom-binding` makes. */
export type Noble = typeof NobleModule;
/** The bleno instance (the package's export). */
export type Bleno = typeof BlenoModule;

/** A stack, powered on, and how to take it down. */
export interface LoadedStack {
  /**
   * Stops the stack's device poll, stops its sockets and removes the process listeners its init
   * added. The stack is unusable afterwards; open links are abandoned, not disconnected.
   */
  close(): void;
}

export interface LoadedNoble extends LoadedStack {
  readonly noble: Noble;
}

export interface LoadedBleno extends LoadedStack {
  readonly bleno: Bleno;
}

export interface StackLoadOptions {
  /** HCI device to bind (`hciN`); the socket class picks one when absent. */
  readonly deviceId?: number;
  /** Every packet the stack's HCI sockets send or receive is recorded here too. */
  readonly capture?: HciTap;
}

const SOCKET_MODULE = '@abandonware/bluetooth-hci-socket';
const requireHere = createRequire(import.meta.url);

/** The parts of the stacks' internals this loader touches (noble `lib/hci-socket`, bleno likewise). */
interface StackHci {
  pollIsDevUp: (this: StackHci) => void;
}
interface StackWithHci {
  readonly _bindings: { readonly _hci: StackHci };
}
type ModuleLoad = (request: string, parent: unknown, isMain: boolean) => unknown;

function resolvePackage(name: string): string {
  try {
    return dirname(requireHere.resolve(`${name}/package.json`));
  } catch (error) {
    throw new Error(
      `${name} is not installed (it is an optional dependency: npm install ${name})`,
      {
        cause: error,
      },
    );
  }
}

/** Runs `load` with `packageRoot`'s modules fresh and the socket module answered by `socketClass`. */
function withSocketModule<T>(packageRoot: string, socketClass: HciSocketClass, load: () => T): T {
  const loader = Module as unknown as { _load: ModuleLoad };
  const cache = requireHere.cache;
  const prefix = packageRoot + sep;
  const previous = Object.entries(cache).filter(([file]) => file.startsWith(prefix));
  for (const [file] of previous) delete cache[file];
  const hostLoad = loader._load;
  loader._load = function (this: unknown, request, parent, isMain) {
    if (request === SOCKET_MODULE) return socketClass;
    return hostLoad.call(this, request, parent, isMain);
  };
  try {
    return load();
  } finally {
    loader._load = hostLoad;
    for (const file of Object.keys(cache)) if (file.startsWith(prefix)) delete cache[file];
    for (const [file, module] of previous) cache[file] = module;
  }
}

/** A subclass of `socketClass` that remembers its sockets (to stop them) and feeds `capture`. */
function instrumented(
  socketClass: HciSocketClass,
  capture: HciTap | undefined,
): { socketClass: HciSocketClass; sockets: Set<HciSocketLike> } {
  const sockets = new Set<HciSocketLike>();
  class InstrumentedSocket extends socketClass {
    #hci = false;

    constructor() {
      super();
      sockets.add(this);
      if (capture !== undefined) {
        this.on('data', (data: Buffer) => {
          if (this.#hci) capture.record(data, 'controller-to-host');
        });
      }
    }

    override bindRaw(devId?: number): number {
      this.#hci = true;
      return super.bindRaw(devId);
    }

    override bindUser(devId?: number): number {
      this.#hci = true;
      return super.bindUser(devId);
    }

    override write(data: Buffer): void {
      if (this.#hci) capture?.record(data, 'host-to-controller');
      super.write(data);
    }
  }
  return { socketClass: InstrumentedSocket, sockets };
}

/**
 * Makes the stack's once-a-second device poll stoppable: the poll schedules its successor with
 * `setTimeout(this.pollIsDevUp.bind(this), 1000)`, so the poll installed here answers `bind` with
 * a callback of its own and, while the stack's poll runs, notes the timer created for it.
 */
function ownDevicePoll(hci: StackHci): () => void {
  const stackPoll = hci.pollIsDevUp;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = (): void => {
    timer = undefined;
    poll();
  };
  const poll = (): void => {
    if (stopped) return;
    const hostSetTimeout = globalThis.setTimeout;
    const noting = (callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
      const created = hostSetTimeout(callback, delay, ...args);
      if (callback === next) timer = created;
      return created;
    };
    globalThis.setTimeout = noting as unknown as typeof setTimeout;
    try {
      stackPoll.call(hci);
    } finally {
      globalThis.setTimeout = hostSetTimeout;
    }
  };
  Object.defineProperty(poll, 'bind', { value: () => next });
  hci.pollIsDevUp = poll;
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}

const PROCESS_EVENTS = ['exit', 'SIGINT'] as const;
const processEvents: NodeJS.EventEmitter = process;

/**
 * Runs the stack's init with the environment it must see, then waits for its adapter state:
 * resolves at `poweredOn` with the stack's `close`, rejects (after cleaning up) at `poweredOff`,
 * `unauthorized` or `unsupported`.
 */
async function powerOn(
  name: string,
  stack: StackWithHci & NodeJS.EventEmitter,
  sockets: Set<HciSocketLike>,
  deviceId: number | undefined,
  init: (onState: (state: string) => void) => void,
): Promise<() => void> {
  const stopPoll = ownDevicePoll(stack._bindings._hci);
  const before = new Map(
    PROCESS_EVENTS.map((event) => [event, new Set(processEvents.listeners(event))]),
  );
  const environment = {
    HCI_CHANNEL_USER: process.env['HCI_CHANNEL_USER'],
    BLENO_HCI_DEVICE_ID: process.env['BLENO_HCI_DEVICE_ID'],
    NOBLE_HCI_DEVICE_ID: process.env['NOBLE_HCI_DEVICE_ID'],
  };
  let settle: (state: string) => void = () => {};
  const state = new Promise<void>((resolve, reject) => {
    settle = (next) => {
      if (next === 'poweredOn') resolve();
      else if (next === 'poweredOff' || next === 'unauthorized' || next === 'unsupported') {
        reject(new Error(`${name}: the HCI device is ${next}`));
      }
    };
  });
  const onState = (next: string): void => settle(next);
  delete process.env['HCI_CHANNEL_USER'];
  for (const key of ['BLENO_HCI_DEVICE_ID', 'NOBLE_HCI_DEVICE_ID'] as const) {
    if (deviceId === undefined) delete process.env[key];
    else process.env[key] = String(deviceId);
  }
  let added: [string, (...args: unknown[]) => void][] = [];
  const close = (): void => {
    stopPoll();
    stack.removeListener('stateChange', onState);
    for (const [event, listener] of added) process.removeListener(event, listener);
    added = [];
    for (const socket of sockets) socket.stop();
  };
  try {
    init(onState);
  } finally {
    for (const [key, value] of Object.entries(environment)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    for (const event of PROCESS_EVENTS) {
      for (const listener of processEvents.listeners(event)) {
        if (!before.get(event)?.has(listener)) {
          added.push([event, listener as (...args: unknown[]) => void]);
        }
      }
    }
  }
  try {
    await state;
  } catch (error) {
    close();
    throw error;
  }
  stack.removeListener('stateChange', onState);
  return close;
}

/** A fresh noble (`with-custom-binding`, HCI bindings) on `socketClass`, powered on. */
export async function loadNobleOnSocket(
  socketClass: HciSocketClass,
  options: StackLoadOptions = {},
): Promise<LoadedNoble> {
  const root = resolvePackage('@abandonware/noble');
  const { socketClass: socket, sockets } = instrumented(socketClass, options.capture);
  const noble = withSocketModule(root, socket, () => {
    const withCustomBinding = requireHere(`${root}${sep}with-custom-binding.js`) as (
      bindingOptions: object,
    ) => Noble;
    return withCustomBinding(options.deviceId === undefined ? {} : { deviceId: options.deviceId });
  });
  const stack = noble as unknown as StackWithHci & NodeJS.EventEmitter;
  const close = await powerOn('noble', stack, sockets, options.deviceId, (onState) => {
    // Reading `state` initialises noble's bindings at once (a listener would wait a tick).
    void (noble as unknown as { readonly state: string }).state;
    stack.on('stateChange', onState);
  });
  return { noble, close };
}

/** A fresh bleno (its own bindings and management socket) on `socketClass`, powered on. */
export async function loadBlenoOnSocket(
  socketClass: HciSocketClass,
  options: StackLoadOptions = {},
): Promise<LoadedBleno> {
  const root = resolvePackage('@abandonware/bleno');
  const { socketClass: socket, sockets } = instrumented(socketClass, options.capture);
  const bleno = withSocketModule(root, socket, () => requireHere(`${root}${sep}index.js`) as Bleno);
  const stack = bleno as unknown as StackWithHci & NodeJS.EventEmitter;
  const close = await powerOn('bleno', stack, sockets, options.deviceId, (onState) => {
    // bleno initialises its bindings when the first `stateChange` listener is added.
    stack.on('stateChange', onState);
  });
  return { bleno, close };
}
