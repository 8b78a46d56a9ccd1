/**
 * `keyway ble`: real Bluetooth LE (ARCHITECTURE.md §6 "Transports", the hardware-in-the-loop
 * testers of the overview). `ble lock` puts a virtual lock, with its World on the wall clock and
 * a Cloud, on an adapter as a peripheral (bleno); `ble unlock` runs the phone engine as a central
 * (noble); `ble selftest` runs both in one process over the virtual HCI pair and prints each step
 * of an unlock. `--hci N` picks adapter `hciN`, `--hci virtual` the virtual controllers (which
 * only this process reaches), and `--capture FILE` writes the HCI traffic as btsnoop.
 *
 * On two machines or two adapters, `ble lock --provision FILE` writes the phone package of a demo
 * resident (ble-building.ts) that `ble unlock --provision FILE` reads.
 */
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '../../../protocol/noise/handshake-xk.js';
import { createNodeCrypto } from '../../core/node-crypto-provider.js';
import { InputError } from '../../core/errors.js';
import type { PhoneCloud } from '../../phone/cloud-api.js';
import { Phone } from '../../phone/phone.js';
import type { UnlockResult } from '../../phone/unlock-events.js';
import { explainAdapterState, explainBleFailure, loadBleStack } from '../../transport/ble-stack.js';
import type { Bleno } from '../../transport/bleno/bleno-api.js';
import { LockPeripheral } from '../../transport/bleno/lock-peripheral.js';
import type { PeripheralEvent, PeripheralHost } from '../../transport/bleno/lock-peripheral.js';
import { openBtsnoopFile } from '../../transport/btsnoop.js';
import type { BtsnoopFile } from '../../transport/btsnoop.js';
import { NobleCentral } from '../../transport/noble/central.js';
import type { Noble } from '../../transport/noble/noble-api.js';
import type { CentralTransport } from '../../transport/types.js';
import {
  loadBlenoOnSocket,
  loadBlenoWithVirtualHci,
  loadNobleOnSocket,
  loadNobleWithVirtualHci,
  VirtualAir,
} from '../../transport/virtual-hci/index.js';
import type {
  HciSocketClass,
  LoadedBleno,
  LoadedNoble,
  LoadedStack,
  StackLoadOptions,
  VirtualStackOptions,
} from '../../transport/virtual-hci/index.js';
import type { DoorModel } from '../../cloud/repository.js';
import { parseInteger, parseOptions, required, UsageError } from '../args.js';
import { EXIT } from '../command.js';
import type { Command, CommandContext } from '../command.js';
import {
  BLE_LOCK_MODELS,
  bleBuilding,
  provisionedCloud,
  provisionPhone,
  readProvision,
  writeProvision,
} from './ble-building.js';
import type { BleBuilding, PhoneProvision } from './ble-building.js';

const HELP = `Usage: keyway ble lock --model M [--door NAME] [--hci virtual|N] [--capture FILE] [--provision FILE]
       keyway ble unlock --door ID [--provision FILE] [--hci virtual|N] [--capture FILE]
       keyway ble selftest [--capture FILE] [--mtu 23..256] [--single-buffer]

Real Bluetooth LE with the real stacks: bleno for the lock (a peripheral), noble for the phone
(a central). On Linux they need a BLE adapter, the optional packages @abandonware/bleno and
@abandonware/noble, and CAP_NET_RAW + CAP_NET_ADMIN (or root); stop bluetoothd on an adapter
they use (sudo systemctl stop bluetooth). One adapter per role: use two adapters for lock and
unlock on one machine. --hci virtual runs on the virtual HCI controllers instead, which need no
hardware but only reach stacks in the same process.

  ble lock       a virtual lock (model M, C, C2 or R, with its World on the wall clock and a
                 cloud) as a peripheral, until Ctrl-C; each connection is printed
  ble unlock     the phone engine unlocks a door: scan, connect, Noise handshake, sync, unlock,
                 audit pull, disconnect. --provision FILE is the file ble lock wrote; with
                 --hci virtual and no file, a demo lock comes up in this process
  ble selftest   both over the virtual HCI pair, each step printed: advertise, scan, connect,
                 MTU, handshake, unlock, passive sync, disconnect

Options:
  --model M          lock model: ${BLE_LOCK_MODELS.join(', ')} (ble lock)
  --door NAME|ID     the door: its name for ble lock (default "Demo door"); its id or name for
                     ble unlock
  --hci virtual|N    the adapter hciN (default 0), or the virtual controllers
  --capture FILE     write this process's HCI traffic as btsnoop (Wireshark, tshark, btmon)
  --provision FILE   ble lock: write the demo resident's phone package here (owner-only);
                     ble unlock: read it
  --mtu N            selftest: the lock's ATT_MTU limit, 23..256 (default 256, bleno's cap);
                     the phone asks for the same
  --single-buffer    selftest: each controller has one 27-byte LE ACL buffer
  --seed S           the World's seed (default "keyway-ble"): the door's keys follow from it
  -h, --help         show this help

Exit codes: 0 ok, 1 the unlock failed, 2 bad input (one line on stderr), 3 Bluetooth is not
available (the message says what is missing and how to fix it) or another run-time failure.

Examples:
  keyway ble selftest
  keyway ble selftest --mtu 23 --single-buffer --capture selftest.btsnoop
  sudo keyway ble lock --model R --door Lobby --hci 0 --provision phone.json
  sudo keyway ble unlock --door Lobby --hci 1 --provision phone.json --capture phone.btsnoop`;

const OPTIONS = {
  model: { type: 'string' },
  door: { type: 'string' },
  hci: { type: 'string' },
  capture: { type: 'string' },
  provision: { type: 'string' },
  mtu: { type: 'string' },
  'single-buffer': { type: 'boolean' },
  seed: { type: 'string' },
} as const;

const DEFAULT_DOOR = 'Demo door';
/** Real runs use the system's randomness: nothing here needs to repeat by seed. */
const systemRandom = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const DEFAULT_SEED = 'keyway-ble';
const SINGLE_BUFFER = { length: 27, count: 1 } as const;

type Hci = { readonly kind: 'virtual' } | { readonly kind: 'adapter'; readonly index: number };

function parseHci(text: string | undefined): Hci {
  if (text === undefined) return { kind: 'adapter', index: 0 };
  if (text === 'virtual') return { kind: 'virtual' };
  const index = parseInteger('--hci', text);
  if (index < 0 || index > 63) throw new InputError('--hci', 'expected "virtual" or 0..63');
  return { kind: 'adapter', index };
}

function parseModel(text: string | undefined): DoorModel {
  const model = required(text, '--model');
  if (!(BLE_LOCK_MODELS as readonly string[]).includes(model)) {
    throw new InputError('--model', `expected one of ${BLE_LOCK_MODELS.join(', ')}`);
  }
  return model as DoorModel;
}

function refuse(subcommand: string, options: Record<string, unknown>, flags: readonly string[]) {
  for (const flag of flags) {
    if (options[flag] !== undefined)
      throw new UsageError(`--${flag}`, `is not an option of ble ${subcommand}`);
  }
}

/** What a run holds open, closed in reverse at the end whatever happens. */
class Teardown {
  readonly #steps: (() => Promise<void> | void)[] = [];

  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Tearing down what is already half gone: the rest must still close.
      }
    }
  }
}

/** Prints one line per step, with the milliseconds since the run started. */
class Steps {
  readonly #started: number;
  readonly #write: (line: string) => void;

  constructor(context: CommandContext) {
    this.#started = context.now();
    this.#write = (line) => context.stdout.write(`${line}\n`);
  }

  step(name: string, detail: string): void {
    const ms = String(Date.now() - this.#started).padStart(6);
    this.#write(`${ms} ms  ${name.padEnd(13)}${detail}`);
  }

  line(text: string): void {
    this.#write(text);
  }
}

const shortHex = (bytes: Uint8Array): string => Buffer.from(bytes.subarray(0, 4)).toString('hex');

/** The native socket class, for a hardware run that needs a capture. */
function nativeSocket(index: number): HciSocketClass {
  return loadBleStack('@abandonware/bluetooth-hci-socket', index) as HciSocketClass;
}

/** A lock's World calls, watched: each new event of the lock's log is printed as a step. */
function watchedHost(building: BleBuilding, steps: Steps): PeripheralHost<unknown> {
  const { world, door, driver } = building;
  let seen = world.events().length;
  return {
    withLock(lock, call) {
      const value = driver.withLock(lock, call);
      const events = world.events();
      for (; seen < events.length; seen++) {
        const event = events[seen]!;
        if (event.lock !== door.id) continue;
        if (event.type === 'BLE_CONNECTED') steps.step('link', 'the lock took the link');
        if (event.type === 'SYNC_APPLIED') {
          steps.step('passive sync', `bundle version ${String(event['version'])} applied`);
        }
        if (event.type === 'ACCESS') {
          steps.step('unlock', `${String(event['method'])} ${String(event['result'])}`);
        }
        if (event.type === 'BLE_DISCONNECTED') steps.step('link', 'the lock let the link go');
      }
      return value;
    },
  };
}

function printPeripheralEvent(
  steps: Steps,
  event: PeripheralEvent,
  first: { advertised: boolean },
) {
  switch (event.type) {
    case 'advertising':
      if (first.advertised) return;
      first.advertised = true;
      steps.step(
        'advertise',
        `${event.advertisingData.length} B advertising data, ${event.scanResponse.length} B scan response`,
      );
      return;
    case 'accept':
      steps.step('connect', `central ${event.central} connected`);
      return;
    case 'mtu':
      steps.step('MTU', `ATT_MTU ${event.mtu} agreed`);
      return;
    case 'subscribe':
      steps.step('subscribe', `tx notifications on; fragments of at most ${event.mtu - 3} B`);
      return;
    case 'disconnect':
      steps.step('disconnect', `by the ${event.by}`);
      return;
    case 'write':
    case 'notify':
      return;
  }
}

/** The phone's transport, each scan result and connection printed. */
function watchedCentral(central: NobleCentral, steps: Steps): CentralTransport {
  return {
    now: () => central.now(),
    sleep: (ms) => central.sleep(ms),
    scan: async (ms) => {
      const results = await central.scan(ms);
      for (const result of results) {
        const id = result.scanResponse?.lockId ?? result.advertisement.lockIdPrefix;
        steps.step('scan', `lock ${shortHex(id)}… at ${result.address}, ${result.rssi} dBm`);
      }
      return results;
    },
    connect: async (address, options) => {
      const connection = await central.connect(address, options);
      steps.step(
        'GATT ready',
        `rx and tx found, tx subscribed; phone writes of at most ${connection.mtu - 3} B`,
      );
      return connection;
    },
  };
}

async function runPhone(
  steps: Steps,
  transport: CentralTransport,
  cloud: PhoneCloud,
  provision: PhoneProvision,
  door: string,
  mtu: number | undefined,
): Promise<UnlockResult> {
  const crypto = createNodeCrypto(systemRandom);
  const phone = new Phone({
    transport,
    crypto,
    random: (n) => crypto.randomBytes(n),
    cloud,
    staticKey: provision.staticKey,
    ...(mtu === undefined ? {} : { timing: { mtu } }),
  });
  phone.setUp(provision.token);
  const fetched = await phone.fetchLocks();
  if (!fetched.ok) throw new Error(`the phone package was refused: ${fetched.reason}`);
  const target = fetched.locks.find((l) => l.doorId === door || l.name === door);
  if (target === undefined)
    throw new InputError('--door', `no door ${JSON.stringify(door)} in the phone's directory`);
  const run = phone.unlock(target.doorId);
  // The engine reports a step after the handshake (a sync or the unlock) once Noise XK is done.
  let handshaken = false;
  for await (const event of run) {
    if (event.type === 'ConnectForUnlock') handshaken = false;
    if ((event.type === 'SetupSync' || event.type === 'Unlock') && !handshaken) {
      handshaken = true;
      steps.step(
        'handshake',
        'Noise XK: the lock proved its key, the credential went in message 3',
      );
    }
  }
  return run.result;
}

export const bleCommand: Command = {
  name: 'ble',
  summary: 'real Bluetooth LE: a virtual lock on bleno, the phone on noble, a selftest',
  help: HELP,
  async run(args, context) {
    const [subcommand, ...rest] = args;
    const options = parseOptions(rest, OPTIONS);
    const teardown = new Teardown();
    try {
      switch (subcommand) {
        case 'lock':
          refuse('lock', options, ['mtu', 'single-buffer']);
          return await lockCommand(options, context, teardown);
        case 'unlock':
          refuse('unlock', options, ['model', 'mtu', 'single-buffer']);
          return await unlockCommand(options, context, teardown);
        case undefined:
          throw new UsageError('subcommand', 'missing (lock, unlock, selftest)');
        case 'selftest':
          refuse('selftest', options, ['model', 'door', 'hci', 'provision']);
          return await selftest(options, context, teardown);
        default:
          throw new UsageError('subcommand', `unknown subcommand ${JSON.stringify(subcommand)}`);
      }
    } catch (error) {
      const explained = explainBleFailure(error, '@abandonware/noble') ?? explainStateError(error);
      if (explained !== undefined) {
        context.stderr.write(`keyway ble: ${explained.message}\n`);
        return EXIT.failure;
      }
      throw error;
    } finally {
      await teardown.run();
    }
  },
};

/** The virtual-hci loader's "the HCI device is <state>" failures, explained. */
function explainStateError(error: unknown) {
  const state =
    error instanceof Error ? /the HCI device is (\w+)/.exec(error.message)?.[1] : undefined;
  return state === undefined ? undefined : explainAdapterState(state);
}

type Options = ReturnType<typeof parseOptions<typeof OPTIONS>>;

function openCapture(path: string | undefined, teardown: Teardown): BtsnoopFile | undefined {
  if (path === undefined) return undefined;
  let file: BtsnoopFile;
  try {
    file = openBtsnoopFile(path);
  } catch (error) {
    throw new InputError('--capture', `${path} cannot be written (${(error as Error).message})`);
  }
  teardown.add(() => file.close());
  return file;
}

/** How one stack loads: on the virtual air, or on an adapter's native socket. */
interface StackLoaders<S extends LoadedStack> {
  readonly virtual: (air: VirtualAir, options: VirtualStackOptions) => Promise<S>;
  readonly onSocket: (socket: HciSocketClass, options: StackLoadOptions) => Promise<S>;
}

const BLENO: StackLoaders<LoadedBleno> = {
  virtual: loadBlenoWithVirtualHci,
  onSocket: loadBlenoOnSocket,
};
const NOBLE: StackLoaders<LoadedNoble> = {
  virtual: loadNobleWithVirtualHci,
  onSocket: loadNobleOnSocket,
};

/** A stack on the chosen controller, closed at teardown. */
async function stackOn<S extends LoadedStack>(
  loaders: StackLoaders<S>,
  hci: Hci,
  capture: BtsnoopFile | undefined,
  air: VirtualAir | undefined,
  teardown: Teardown,
  buffers?: typeof SINGLE_BUFFER,
): Promise<S> {
  const withCapture = capture === undefined ? {} : { capture };
  const stack =
    hci.kind === 'virtual'
      ? await loaders.virtual(air!, {
          ...withCapture,
          ...(buffers === undefined ? {} : { leAclBuffers: buffers }),
        })
      : await loaders.onSocket(nativeSocket(hci.index), { deviceId: hci.index, ...withCapture });
  teardown.add(() => stack.close());
  return stack;
}

/** bleno on the chosen controller. */
async function blenoOn(...args: StackArgs): Promise<Bleno> {
  return (await stackOn(BLENO, ...args)).bleno as unknown as Bleno;
}

/** noble on the chosen controller. */
async function nobleOn(...args: StackArgs): Promise<Noble> {
  return (await stackOn(NOBLE, ...args)).noble as unknown as Noble;
}

type StackArgs = Parameters<typeof stackOn> extends [unknown, ...infer Rest] ? Rest : never;

/** A demo building with its lock on bleno, each step printed. */
async function startLock(
  building: BleBuilding,
  bleno: Bleno,
  steps: Steps,
  teardown: Teardown,
  maxMtu?: number,
): Promise<LockPeripheral<unknown>> {
  building.driver.start();
  teardown.add(() => building.driver.stop());
  const first = { advertised: false };
  const peripheral = await LockPeripheral.start({
    host: watchedHost(building, steps),
    lockId: building.door.id,
    info: building.info,
    bleno,
    ...(maxMtu === undefined ? {} : { maxMtu }),
    onEvent: (event) => printPeripheralEvent(steps, event, first),
  });
  teardown.add(() => peripheral.stop());
  return peripheral;
}

async function lockCommand(
  options: Options,
  context: CommandContext,
  teardown: Teardown,
): Promise<number> {
  const model = parseModel(options.model);
  const hci = parseHci(options.hci);
  const steps = new Steps(context);
  const building = bleBuilding({
    model,
    doorName: options.door ?? DEFAULT_DOOR,
    seed: options.seed ?? DEFAULT_SEED,
    now: context.now(),
  });
  if (options.provision !== undefined) {
    const crypto = createNodeCrypto(systemRandom);
    writeProvision(options.provision, provisionPhone(building, generateKeyPair(crypto)));
  }
  const capture = openCapture(options.capture, teardown);
  const air = hci.kind === 'virtual' ? new VirtualAir() : undefined;
  if (air !== undefined) teardown.add(() => air.close());
  const bleno = await blenoOn(hci, capture, air, teardown);
  const peripheral = await startLock(building, bleno, steps, teardown);
  const { door, info } = building;
  steps.line(
    `lock: model ${info.model}, firmware ${info.firmwareVersion}, door "${door.name}" (id ${door.id})`,
  );
  steps.line(
    `      lock id ${door.lockIdHex}, on ${hci.kind === 'virtual' ? 'the virtual controller' : `hci${hci.index}`} at ${peripheral.address}`,
  );
  if (options.provision !== undefined)
    steps.line(`      phone package for the demo resident: ${options.provision}`);
  if (hci.kind === 'virtual')
    steps.line(
      '      (a virtual controller is reachable from this process only: see keyway ble selftest)',
    );
  steps.line('Ctrl-C to stop.');
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  return EXIT.ok;
}

async function unlockCommand(
  options: Options,
  context: CommandContext,
  teardown: Teardown,
): Promise<number> {
  const door = required(options.door, '--door');
  const hci = parseHci(options.hci);
  const steps = new Steps(context);
  const capture = openCapture(options.capture, teardown);
  const air = hci.kind === 'virtual' ? new VirtualAir() : undefined;
  if (air !== undefined) teardown.add(() => air.close());
  let provision: PhoneProvision;
  let cloud: PhoneCloud;
  if (options.provision !== undefined) {
    provision = readProvision(options.provision);
    cloud = provisionedCloud(provision);
  } else if (air !== undefined) {
    const building = bleBuilding({
      model: 'M',
      doorName: door,
      seed: options.seed ?? DEFAULT_SEED,
      now: context.now(),
    });
    provision = provisionPhone(building, generateKeyPair(createNodeCrypto(systemRandom)));
    cloud = building.cloud;
    await startLock(
      building,
      await blenoOn(hci, undefined, air, teardown),
      new Steps(context),
      teardown,
    );
  } else {
    throw new UsageError(
      '--provision',
      'is required with a hardware adapter (the file ble lock wrote)',
    );
  }
  const central = await NobleCentral.open({ noble: await nobleOn(hci, capture, air, teardown) });
  teardown.add(() => central.close());
  const result = await runPhone(
    steps,
    watchedCentral(central, steps),
    cloud,
    provision,
    door,
    undefined,
  );
  return report(steps, result);
}

function report(steps: Steps, result: UnlockResult): number {
  const ms = result.endedAt - result.startedAt;
  if (result.outcome === 'success') {
    steps.line(
      `unlocked in ${ms} ms (${result.attempts} connection${result.attempts === 1 ? '' : 's'})`,
    );
    return EXIT.ok;
  }
  const why =
    result.outcome === 'failed'
      ? `${result.reason.kind}${'detail' in result.reason ? ` (${String(result.reason.detail)})` : ''}`
      : result.outcome;
  steps.line(`unlock failed after ${ms} ms: ${why}`);
  return EXIT.expectationFailed;
}

async function selftest(
  options: Options,
  context: CommandContext,
  teardown: Teardown,
): Promise<number> {
  const mtu = options.mtu === undefined ? undefined : parseInteger('--mtu', options.mtu);
  if (mtu !== undefined && (mtu < 23 || mtu > 256))
    throw new InputError('--mtu', 'expected 23..256');
  const buffers = options['single-buffer'] === true ? SINGLE_BUFFER : undefined;
  const steps = new Steps(context);
  const capture = openCapture(options.capture, teardown);
  const air = new VirtualAir(
    buffers === undefined ? {} : { linkLayerPayloadBytes: buffers.length },
  );
  teardown.add(() => air.close());
  const building = bleBuilding({
    model: 'M',
    doorName: DEFAULT_DOOR,
    seed: options.seed ?? DEFAULT_SEED,
    now: context.now(),
  });
  const provision = provisionPhone(building, generateKeyPair(createNodeCrypto(systemRandom)));
  steps.line(
    `keyway ble selftest: noble and bleno over the virtual HCI pair, ATT_MTU up to ${mtu ?? 256}` +
      (buffers === undefined ? '' : ', one 27-byte LE buffer per controller'),
  );
  const bleno = await blenoOn({ kind: 'virtual' }, undefined, air, teardown, buffers);
  const noble = await nobleOn({ kind: 'virtual' }, capture, air, teardown, buffers);
  const peripheral = await startLock(building, bleno, steps, teardown, mtu);
  const disconnected = new Promise<void>((resolve) =>
    peripheral.onEvent((event) => {
      if (event.type === 'disconnect') resolve();
    }),
  );
  const central = await NobleCentral.open({ noble });
  teardown.add(() => central.close());
  const result = await runPhone(
    steps,
    watchedCentral(central, steps),
    building.cloud,
    provision,
    building.door.id,
    mtu,
  );
  // The lock hears of the phone's disconnect once it has crossed the air.
  await disconnected;
  const audit = building.cloud.auditLog(building.door.id).length;
  steps.step(
    'passive sync',
    `${audit} audit record${audit === 1 ? '' : 's'} at the cloud, lock at bundle version ${building.world.lock(building.door.id).sync.version}`,
  );
  if (capture !== undefined)
    steps.line(
      `capture: ${capture.records} HCI packets in ${capture.path} (the phone's controller)`,
    );
  return report(steps, result);
}
