/**
 * What an unlock reports (ARCHITECTURE.md §6 "Phone": the vendor's mobile SDK reports an unlock
 * as an event stream): `Started`, then per connection attempt `ConnectForUnlock(attempt)`,
 * `SetupSync(attempt)` when the phone brings the lock up to date before unlocking, and
 * `Unlock(attempt)`, then exactly one of `Success`, `Failed(reason)` or `Canceled`.
 *
 * `UnlockRun` is one unlock in flight: an async iterable of its events (each iterator replays
 * from `Started`, so a late reader misses nothing), the typed `result` it resolves to, and
 * `cancel()`; `SyncRun` is the same for an active sync. Every event carries the transport's time (`at`, ms), virtual in the World, so
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

/**
 * One operation in flight reported as events: an async iterable of them (each iterator replays
 * from the first, so a late reader misses nothing), the typed `result` it resolves to, and
 * `cancel()`. `finalEvent` turns the result into the last event.
 */
export class EventRun<E, R extends { readonly endedAt: number }> implements AsyncIterable<E> {
  /** Settles once, with the outcome; never rejects. */
  readonly result: Promise<R>;
  readonly #events: E[] = [];
  readonly #wake: (() => void)[] = [];
  readonly #cancel: () => void;
  readonly #finalEvent: (result: R) => E;
  #settle!: (result: R) => void;
  #done = false;

  /** `cancel` asks the engine to stop; the run then ends with `Canceled`. */
  constructor(cancel: () => void, finalEvent: (result: R) => E) {
    this.#cancel = cancel;
    this.#finalEvent = finalEvent;
    this.result = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** The events so far, in order. */
  get events(): readonly E[] {
    return this.#events;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Stops the operation; no effect once it ended. */
  cancel(): void {
    if (!this.#done) this.#cancel();
  }

  /** Engine side: records an event and wakes the readers. */
  emit(event: E): void {
    if (this.#done) throw new TypeError('run: event after the end');
    this.#events.push(event);
    for (const wake of this.#wake.splice(0)) wake();
  }

  /** Engine side: the final event, then the result. */
  finish(result: R): void {
    this.emit(this.#finalEvent(result));
    this.#done = true;
    this.#settle(result);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<E> {
    let next = 0;
    for (;;) {
      while (next < this.#events.length) yield this.#events[next++]!;
      if (this.#done) return;
      await new Promise<void>((resolve) => this.#wake.push(resolve));
    }
  }
}

/** The last event of a run that ended with `result`. */
function endingEvent(
  result: { readonly endedAt: number } & (
    | { readonly outcome: 'success' }
    | { readonly outcome: 'failed'; readonly reason: UnlockFailure }
    | { readonly outcome: 'canceled' }
  ),
):
  | { type: 'Success'; at: number }
  | { type: 'Failed'; at: number; reason: UnlockFailure }
  | {
      type: 'Canceled';
      at: number;
    } {
  const at = result.endedAt;
  if (result.outcome === 'success') return { type: 'Success', at };
  if (result.outcome === 'failed') return { type: 'Failed', at, reason: result.reason };
  return { type: 'Canceled', at };
}

export class UnlockRun extends EventRun<UnlockEvent, UnlockResult> {
  readonly doorId: string;

  constructor(doorId: string, cancel: () => void) {
    super(cancel, endingEvent);
    this.doorId = doorId;
  }
}

/**
 * What an active sync reports (§6: `sync(lockId)`): `Started`, per connection attempt
 * `ConnectForSetupSync(attempt)` and `SetupSync(attempt)` once the session is open, then exactly
 * one of `Success`, `Failed(reason)` or `Canceled`. Failure reasons are the unlock's.
 */
export type SyncEvent =
  | { readonly type: 'Started'; readonly at: number; readonly doorId: string }
  | { readonly type: 'ConnectForSetupSync'; readonly at: number; readonly attempt: number }
  | { readonly type: 'SetupSync'; readonly at: number; readonly attempt: number }
  | { readonly type: 'Success'; readonly at: number }
  | { readonly type: 'Failed'; readonly at: number; readonly reason: UnlockFailure }
  | { readonly type: 'Canceled'; readonly at: number };

/** What a successful sync did at the lock. */
export interface SyncReport {
  /** The bundle version the lock holds after the sync. */
  readonly lockVersion: number;
  /** Whether the phone pushed a bundle (the lock was behind its cache). */
  readonly bundlePushed: boolean;
  /** Whether the lock took a time anchor (it had lost its clock or asked for one). */
  readonly clockSet: boolean;
  /** Audit records pulled from the lock. */
  readonly auditRecords: number;
}

export type SyncResult = {
  readonly doorId: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** Connection attempts made (`ConnectForSetupSync` events). */
  readonly attempts: number;
} & (
  | ({ readonly outcome: 'success' } & SyncReport)
  | { readonly outcome: 'failed'; readonly reason: UnlockFailure }
  | { readonly outcome: 'canceled' }
);

export class SyncRun extends EventRun<SyncEvent, SyncResult> {
  readonly doorId: string;

  constructor(doorId: string, cancel: () => void) {
    super(cancel, endingEvent);
    this.doorId = doorId;
  }
}
