// A minimal async phone for the radio's tests: messages cut by the frame codec into writes on a
// GattConnection, notifications reassembled, refusals told apart (protocol/spec/session.md §7.1),
// and a PhoneSession (Noise XK) on top. The phone engine proper lives in src/phone.
import { decodeRefusal } from '../../protocol/ble-refusal.js';
import type { RefusalCode } from '../../protocol/ble-refusal.js';
import type { CryptoProvider } from '../../protocol/crypto/provider.js';
import { fragment } from '../../protocol/frame-codec.js';
import { decodeMessage, encodeMessage } from '../../protocol/messages.js';
import type { Message } from '../../protocol/messages.js';
import type { KeyPair } from '../../protocol/noise/handshake-xk.js';
import { SUPPORTED_VERSIONS } from '../../protocol/noise/prologue.js';
import { PhoneSession } from '../../protocol/noise/session.js';
import { Reassembler } from '../../protocol/reassembler.js';
import type { Result } from '../../protocol/result.js';
import type { CentralTransport, GattConnection } from '../../src/transport/types.js';

/** What came from the lock: a session message, or a refusal before the session. */
export type Incoming =
  | { readonly kind: 'message'; readonly bytes: Uint8Array }
  | { readonly kind: 'refusal'; readonly code: RefusalCode };

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got code ${result.code}: ${result.detail ?? ''}`);
  return result.value;
}

export class FramedLink {
  readonly #connection: GattConnection;
  readonly #reassembler = new Reassembler();
  readonly #inbox: Incoming[] = [];
  readonly #waiting: ((incoming: Incoming | undefined) => void)[] = [];
  #closed = false;

  constructor(connection: GattConnection, central: CentralTransport) {
    this.#connection = connection;
    connection.onNotify((value) => {
      const pushed = unwrap(this.#reassembler.push(value, central.now()));
      if (pushed === undefined) return;
      const refusal = unwrap(decodeRefusal(pushed));
      this.#deliver(
        refusal === undefined
          ? { kind: 'message', bytes: pushed }
          : { kind: 'refusal', code: refusal },
      );
    });
    connection.onDisconnect(() => {
      this.#closed = true;
      for (const wake of this.#waiting.splice(0)) wake(undefined);
    });
  }

  #deliver(incoming: Incoming): void {
    const wake = this.#waiting.shift();
    if (wake === undefined) this.#inbox.push(incoming);
    else wake(incoming);
  }

  async send(message: Uint8Array): Promise<void> {
    for (const piece of fragment(message, this.#connection.mtu)) {
      await this.#connection.write(piece);
    }
  }

  /** The next message or refusal; `undefined` once the link is gone with nothing left. */
  next(): Promise<Incoming | undefined> {
    const queued = this.#inbox.shift();
    if (queued !== undefined || this.#closed) return Promise.resolve(queued);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async expectMessage(): Promise<Uint8Array> {
    const incoming = await this.next();
    if (incoming?.kind !== 'message') {
      throw new Error(`expected a message, got ${JSON.stringify(incoming)}`);
    }
    return incoming.bytes;
  }
}

export interface SessionPhone {
  readonly crypto: CryptoProvider;
  readonly key: KeyPair;
  readonly credential: Uint8Array;
}

/** Runs the Noise XK handshake over `link`; returns the open session. */
export async function handshake(
  link: FramedLink,
  central: CentralTransport,
  phone: SessionPhone,
  lock: { readonly staticKey: Uint8Array; readonly lockId: Uint8Array },
): Promise<PhoneSession> {
  const session = new PhoneSession({
    crypto: phone.crypto,
    phoneStaticKey: phone.key,
    lockStaticKey: lock.staticKey,
    lockId: lock.lockId,
    lockVersions: SUPPORTED_VERSIONS,
    now: central.now(),
  });
  await link.send(unwrap(session.writeMessage1(central.now())));
  unwrap(session.readMessage2(await link.expectMessage(), central.now()));
  await link.send(unwrap(session.writeMessage3(phone.credential, central.now())));
  return session;
}

/** Sends one request in the session and returns the lock's decoded answer. */
export async function request(
  link: FramedLink,
  central: CentralTransport,
  session: PhoneSession,
  message: Message,
): Promise<Message> {
  await link.send(unwrap(session.encrypt(encodeMessage(message), central.now())));
  const sealed = await link.expectMessage();
  return unwrap(decodeMessage(unwrap(session.decrypt(sealed, central.now()))));
}
