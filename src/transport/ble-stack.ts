/**
 * Loading the real Bluetooth stacks, noble and bleno (ARCHITECTURE.md §6 "Transports"), and
 * saying plainly why they cannot run. Both are optional dependencies: a machine may lack the
 * package, its native HCI socket binding, kernel Bluetooth, an adapter, or the permission to open
 * a raw HCI socket, and both stacks fail at `require()` (they open the socket as they load) or
 * soon after with a bare errno. They are therefore never imported statically: `loadBleStack`
 * requires one at first use (`createRequire`, since they are CommonJS), and every failure becomes
 * a `BleUnavailableError` that names what is missing and how to fix it.
 *
 * The virtual HCI controller (`virtual-hci/`) loads the same packages over its own socket module
 * and hands the adapters the loaded stack, so none of this applies to it.
 */
import { createRequire } from 'node:module';
import { KeywayError } from '../core/errors.js';

export type BleStackPackage =
  '@abandonware/noble' | '@abandonware/bleno' | '@abandonware/bluetooth-hci-socket';

/**
 * What is missing: the npm package, its compiled HCI socket binding, Bluetooth in the kernel or
 * an adapter, the permission to open a raw HCI socket, an adapter that is up, or Bluetooth LE
 * support in the adapter.
 */
export type BleProblem =
  'no-package' | 'no-binding' | 'no-adapter' | 'no-permission' | 'adapter-off' | 'no-le-support';

/** The real stacks cannot run here; `fix` says what to do, `problem` what is missing. */
export class BleUnavailableError extends KeywayError {
  override name = 'BleUnavailableError';
  readonly problem: BleProblem;
  readonly fix: string;

  constructor(problem: BleProblem, what: string, fix: string, options?: { cause?: unknown }) {
    super(`${what}. ${fix}`, options);
    this.problem = problem;
    this.fix = fix;
  }
}

const HCI_SOCKET = '@abandonware/bluetooth-hci-socket';
const VIRTUAL_HINT =
  'To run without Bluetooth hardware, use the virtual controller: --hci virtual.';

function noPermission(device: string, cause?: { cause: unknown }): BleUnavailableError {
  return new BleUnavailableError(
    'no-permission',
    `No permission to open a raw HCI socket on ${device}`,
    'Raw HCI sockets need CAP_NET_RAW and CAP_NET_ADMIN: run as root, or grant them to node once: sudo setcap cap_net_raw,cap_net_admin+eip "$(readlink -f "$(command -v node)")".',
    cause,
  );
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const message = error instanceof Error ? error.message : '';
  return /\b(EAFNOSUPPORT|ENODEV|EPERM|EACCES|EBUSY|ERFKILL)\b/.exec(message)?.[1];
}

/**
 * The `BleUnavailableError` for a failure of `stack` at load or bind time, or `undefined` when
 * the failure is not one of these (a bug, to rethrow as it is). `adapter` is the HCI device the
 * caller asked for, if any.
 */
export function explainBleFailure(
  error: unknown,
  stack: BleStackPackage,
  adapter?: number,
): BleUnavailableError | undefined {
  if (error instanceof BleUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const device = adapter === undefined ? 'the first HCI adapter' : `hci${adapter}`;
  const cause = { cause: error };
  switch (errnoOf(error)) {
    case 'MODULE_NOT_FOUND':
    case 'ERR_MODULE_NOT_FOUND':
      if (/bluetooth_hci_socket\.node|build[/\\]Release/.test(message)) {
        return new BleUnavailableError(
          'no-binding',
          `${stack} is installed, but the native binding of ${HCI_SOCKET} was not built`,
          `Build it (needs a C++ toolchain and python3; allow its install script): npm rebuild ${HCI_SOCKET}. ${VIRTUAL_HINT}`,
          cause,
        );
      }
      return new BleUnavailableError(
        'no-package',
        `${stack} is not installed (an optional dependency of keyway)`,
        `Install it on Linux: npm install ${stack} (its native socket needs a C++ toolchain). ${VIRTUAL_HINT}`,
        cause,
      );
    case 'EAFNOSUPPORT':
      return new BleUnavailableError(
        'no-adapter',
        'This kernel offers no Bluetooth sockets (no Bluetooth support or no adapter)',
        `Plug in a Bluetooth LE adapter and load the kernel module (sudo modprobe bluetooth; in a container, share the host's network namespace). ${VIRTUAL_HINT}`,
        cause,
      );
    case 'ENODEV':
      return new BleUnavailableError(
        'no-adapter',
        `No Bluetooth adapter ${device}`,
        `List the adapters with "hciconfig" or "btmgmt info" and pick one with --hci N. ${VIRTUAL_HINT}`,
        cause,
      );
    case 'EPERM':
    case 'EACCES':
      return noPermission(device, cause);
    case 'ERFKILL':
      return new BleUnavailableError(
        'adapter-off',
        `${device} is blocked by rfkill`,
        'Unblock it: sudo rfkill unblock bluetooth.',
        cause,
      );
    case 'EBUSY':
      return new BleUnavailableError(
        'adapter-off',
        `${device} is in use`,
        'Stop the program holding it; with BlueZ: sudo systemctl stop bluetooth.',
        cause,
      );
    case undefined:
    default:
      return undefined;
  }
}

/**
 * The `BleUnavailableError` for an adapter state a stack reported (noble's and bleno's
 * `stateChange`), or `undefined` for `poweredOn` and the transient `unknown` / `resetting`.
 */
export function explainAdapterState(
  state: string,
  adapter?: number,
): BleUnavailableError | undefined {
  const device = adapter === undefined ? 'The Bluetooth adapter' : `hci${adapter}`;
  switch (state) {
    case 'unauthorized':
      return noPermission(adapter === undefined ? 'the Bluetooth adapter' : `hci${adapter}`);
    case 'unsupported':
      return new BleUnavailableError(
        'no-le-support',
        `${device} does not support Bluetooth Low Energy`,
        `Use a Bluetooth 4.0+ adapter and pick it with --hci N. ${VIRTUAL_HINT}`,
      );
    case 'poweredOff':
      return new BleUnavailableError(
        'adapter-off',
        `${device} is down`,
        'Bring it up: sudo hciconfig hciN up (sudo rfkill unblock bluetooth if it is blocked).',
      );
    default:
      return undefined;
  }
}

const requireOptional = createRequire(import.meta.url);

/**
 * Requires `stack`, or the module at `subpath` of it (at first use only: Node caches it). Throws
 * `BleUnavailableError` when it cannot load here; any other failure is rethrown unchanged.
 */
export function loadBleStack(stack: BleStackPackage, adapter?: number, subpath = ''): unknown {
  try {
    return requireOptional(stack + subpath);
  } catch (error) {
    throw explainBleFailure(error, stack, adapter) ?? error;
  }
}
