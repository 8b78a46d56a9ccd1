/**
 * What a firmware step asks of the outside world (STYLE.md "Pure core, I/O at the edge"): events
 * to log, and timers to set or cancel. The firmware never holds a timer or a clock; it names a
 * timer by its kind (one of a small fixed set per lock, e.g. `controller.ts`'s `TIMER`), and the
 * World keeps one scheduler timer per (lock, kind), replacing it on every `setTimer`.
 *
 * One buffer is reused for every step (parallel typed arrays, cleared by the caller), so a step
 * allocates nothing. A step writes a handful of effects; more than `EFFECT_CAPACITY` is a bug.
 * An event may also name up to two ids (a credential and its user, a doorcode record): the
 * buffer holds references to the firmware's own byte arrays, and the World hex-encodes them
 * when it logs the event.
 */
import type { EventCode } from './events.js';

export const EFFECT = {
  /** Log event `a` with fields `b`, `c` (`events.ts` `eventRecord`). */
  EMIT: 0,
  /** Set timer kind `a` to fire at world time `b`, replacing any pending one of that kind. */
  SET_TIMER: 1,
  /** Cancel timer kind `a` if pending. */
  CANCEL_TIMER: 2,
} as const;
export type EffectOp = (typeof EFFECT)[keyof typeof EFFECT];

/** A lock call that decides an access, actuates and logs it writes a few dozen at most. */
export const EFFECT_CAPACITY = 64;

export class Effects {
  readonly op = new Uint8Array(EFFECT_CAPACITY);
  readonly a = new Float64Array(EFFECT_CAPACITY);
  readonly b = new Float64Array(EFFECT_CAPACITY);
  readonly c = new Float64Array(EFFECT_CAPACITY);
  /** Ids an `EMIT` names (`events.ts` `eventRecord`), `undefined` where it names none. */
  readonly idA: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(EFFECT_CAPACITY);
  readonly idB: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(EFFECT_CAPACITY);
  length = 0;

  clear(): void {
    // A loop rather than `fill(undefined, 0, length)`: most steps write no id, and the builtin's
    // call costs more than the few stores it makes.
    for (let i = 0; i < this.length; i++) {
      this.idA[i] = undefined;
      this.idB[i] = undefined;
    }
    this.length = 0;
  }

  emit(event: EventCode, b = 0, c = 0): void {
    this.#push(EFFECT.EMIT, event, b, c);
  }

  /** Logs event `event` with fields `b`, `c` and the ids `idA`, `idB`. */
  emitWithIds(
    event: EventCode,
    b: number,
    c: number,
    idA: Uint8Array | undefined,
    idB: Uint8Array | undefined,
  ): void {
    this.#push(EFFECT.EMIT, event, b, c);
    this.idA[this.length - 1] = idA;
    this.idB[this.length - 1] = idB;
  }

  setTimer(kind: number, at: number): void {
    this.#push(EFFECT.SET_TIMER, kind, at, 0);
  }

  cancelTimer(kind: number): void {
    this.#push(EFFECT.CANCEL_TIMER, kind, 0, 0);
  }

  #push(op: EffectOp, a: number, b: number, c: number): void {
    const i = this.length;
    if (i === EFFECT_CAPACITY)
      throw new RangeError(`more than ${EFFECT_CAPACITY} effects in a step`);
    this.op[i] = op;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.length = i + 1;
  }
}
