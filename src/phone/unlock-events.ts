/**
 * What an unlock reports (ARCHITECTURE.md §6 "Phone": the vendor's mobile SDK reports an unlock
 * as an event stream): `Started`, then per connection attempt `ConnectForUnlock(attempt)`,
 * `SetupSync(attempt)` when the phone brings the lock up to date before unlocking, and
 * `Unlock(attempt)`, then exactly one of `Success`, `Failed(reason)` or `Canceled`.
 *
 * `UnlockRun` is one unlock in flight: an async iterable of its events (each iterator replays
 * from `Started`, so a late reader misses nothing), the typed `result` it resolves to, and
 * `cancel()`. Every event carries the transport's time (`at`, ms), virtual in the World, so
 * latencies can be read off the events; the result carries the metrics the lossy-radio report
 * needs (start, end, connection attempts).
 */
import type { WireErrorCode, WireErrorName } from '../../protocol/errors.js';
import { wireErrorName } from '../../protocol/errors.js';

/**
 * Why an unlock failed. `Denied` carries the lock's refusal (`REVOKED`, `NOT_PROVISIONED`,
 * `CLOCK_INVALID`, `LOCKED_OUT`, ...); `OutOfSchedule` the lock's time-window refusals
 * (`OUTSIDE_SCHEDULE`, `NOT_YET_VALID`, `EXPIRED`), decided on the lock's own clock; `Internal`
 * a protocol failure (a response that did not decode, a session that broke).
 */
export type UnlockFailure =
  | { readonly kind: 'BluetoothDisabled' }
  | { readonly kind: 'LockNotFound'; readonly detail: 'not-in-directory' | 'not-in-range' }
  | { readonly kind: 'ConnectionFailed'; readonly detail: string }
  | { readonly kind: 'AuthFailed' }
  | { readonly kind: 'OutOfSchedule'; readonly code: WireErrorCode }
  | { readonly kind: 'Denied'; readonly code: WireErrorCode; readonly name: WireErrorName }
  | { readonly kind: 'Internal'; readonly code: WireErrorCode; readonly detail?: string };

export type UnlockEvent =
  | { readonly type: 'Started'; readonly at: number; readonly doorId: string }
  | { readonly type: 'ConnectForUnlock'; readonly at: number; readonly attempt: number }
  | { readonly type: 'SetupSync'; readonly at: number; readonly attempt: number }
  | { readonly type: 'Unlock'; readonly at: number; readonly attempt: number }
  | { readonly type: 'Success'; readonly at: number }
  | { readonly type: 'Failed'; readonly at: number; readonly reason: UnlockFailure }
  | { readonly type: 'Canceled'; readonly at: number };

/** How an unlock ended, with its metrics. */
export type UnlockResult = {
  readonly doorId: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** Connection attempts made (`ConnectForUnlock` events). */
  readonly attempts: number;
} & (
  | { readonly outcome: 'success' }
  | { readonly outcome: 'failed'; readonly reason: UnlockFailure }
  | { readonly outcome: 'canceled' }
);

/** `Denied` for a lock's refusal code. */
export function denied(code: WireErrorCode): UnlockFailure {
  return { kind: 'Denied', code, name: wireErrorName(code) ?? 'FAILED' };
}

export class UnlockRun implements AsyncIterable<UnlockEvent> {
  readonly doorId: string;
  /** Settles once, with the outcome; never rejects. */
  readonly result: Promise<UnlockResult>;
  readonly #events: UnlockEvent[] = [];
  readonly #wake: (() => void)[] = [];
  readonly #cancel: () => void;
  #settle!: (result: UnlockResult) => void;
  #done = false;

  /** `cancel` asks the engine to stop; the run then ends with `Canceled`. */
  constructor(doorId: string, cancel: () => void) {
    this.doorId = doorId;
    this.#cancel = cancel;
    this.result = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** The events so far, in order. */
  get events(): readonly UnlockEvent[] {
    return this.#events;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Stops the unlock; no effect once it ended. */
  cancel(): void {
    if (!this.#done) this.#cancel();
  }

  /** Engine side: records an event and wakes the readers. */
  emit(event: UnlockEvent): void {
    if (this.#done) throw new TypeError('unlock run: event after the end');
    this.#events.push(event);
    for (const wake of this.#wake.splice(0)) wake();
  }

  /** Engine side: the final event, then the result. */
  finish(result: UnlockResult): void {
    const at = result.endedAt;
    if (result.outcome === 'success') this.emit({ type: 'Success', at });
    else if (result.outcome === 'failed') this.emit({ type: 'Failed', at, reason: result.reason });
    else this.emit({ type: 'Canceled', at });
    this.#done = true;
    this.#settle(result);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<UnlockEvent> {
    let next = 0;
    for (;;) {
      while (next < this.#events.length) yield this.#events[next++]!;
      if (this.#done) return;
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }
}
