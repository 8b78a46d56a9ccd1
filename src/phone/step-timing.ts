/**
 * Time for the unlock engine's steps (ARCHITECTURE.md §6 "Phone": timeouts per step, bounded
 * retries with backoff, a new unlock cancels the one in flight). Waiting goes through the
 * transport's `sleep`, so on the virtual radio a timeout is a scheduler timer on world time and
 * on noble a real one; the engine reads no clock of its own (§2).
 *
 * `within` races one step against its timeout and the run's cancel signal and says which came
 * first, as a value: a step that gives up is an expected outcome, not an exception. A step that
 * rejects is reported with its error, for the caller to classify.
 */
import type { RandomSource } from '../../protocol/crypto/provider.js';
import type { CentralTransport } from '../transport/types.js';

/** Cancels one unlock run; `promise` resolves when it is canceled. */
export class CancelSignal {
  readonly promise: Promise<void>;
  #canceled = false;
  #resolve!: () => void;

  constructor() {
    this.promise = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  get canceled(): boolean {
    return this.#canceled;
  }

  cancel(): void {
    this.#canceled = true;
    this.#resolve();
  }
}

export type Timed<T> =
  | { readonly kind: 'value'; readonly value: T }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'canceled' };

const TIMEOUT: Timed<never> = { kind: 'timeout' };
const CANCELED: Timed<never> = { kind: 'canceled' };

/** `step`, unless `timeoutMs` of the transport's time pass or `signal` fires first. */
export async function within<T>(
  step: Promise<T>,
  timeoutMs: number,
  transport: CentralTransport,
  signal: CancelSignal,
): Promise<Timed<T>> {
  if (signal.canceled) {
    // The step has started; its outcome no longer matters, but its failure must not go unheard.
    step.catch(() => undefined);
    return CANCELED;
  }
  return Promise.race<Timed<T>>([
    step.then(
      (value): Timed<T> => ({ kind: 'value', value }),
      (error: unknown): Timed<T> => ({ kind: 'error', error }),
    ),
    transport.sleep(timeoutMs).then(() => TIMEOUT),
    signal.promise.then(() => CANCELED),
  ]);
}

/** Sleeps `ms` of transport time; false if the run was canceled first. */
export async function pause(
  ms: number,
  transport: CentralTransport,
  signal: CancelSignal,
): Promise<boolean> {
  if (signal.canceled) return false;
  return Promise.race([transport.sleep(ms).then(() => true), signal.promise.then(() => false)]);
}

export interface BackoffPolicy {
  /** The first retry's delay before jitter, ms. */
  readonly baseMs: number;
  /** The delay stops doubling here, ms. */
  readonly maxMs: number;
}

/**
 * The delay before retry `retry` (1, 2, ...): `min(maxMs, baseMs · 2^(retry−1))`, scaled by a
 * factor uniform in [0.5, 1) drawn from `random` ("equal jitter"), so phones turned away together
 * (BUSY at one R) come back spread out rather than in step.
 */
export function backoffMs(retry: number, policy: BackoffPolicy, random: RandomSource): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError('retry: expected 1, 2, ...');
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(retry - 1, 30));
  const [a = 0, b = 0] = random(2);
  const unit = (a * 256 + b) / 65_536;
  return Math.round(ceiling * (0.5 + unit / 2));
}
