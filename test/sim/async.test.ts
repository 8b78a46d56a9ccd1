// Async code on the World's virtual clock (src/sim/async.ts): continuations run at the virtual
// instant whose event resolved them, before any later event; runs repeat by seed; `runPromise`
// returns a value, passes a rejection on, and rejects past its limit or when nothing can settle.
import { describe, expect, it } from 'vitest';
import {
  advanceAsync,
  runPromise,
  runUntilAsync,
  sleep,
  VirtualTimeLimitError,
} from '../../src/sim/async.js';
import { World } from '../../src/sim/world.js';

const START = Date.UTC(2026, 0, 1);

function worldAt(seed: number | string = 1): World {
  return new World({ seed, start: START });
}

describe('continuations on virtual time', () => {
  it('run at the instants their sleeps end, interleaved across tasks', async () => {
    const world = worldAt();
    const trace: [string, number][] = [];
    const task = async (name: string, delays: number[]) => {
      for (const delay of delays) {
        await sleep(world, delay);
        trace.push([name, world.now() - START]);
      }
    };
    void task('a', [100, 50, 200]);
    void task('b', [120, 10, 10]);
    await runUntilAsync(world, START + 1_000);
    expect(trace).toEqual([
      ['a', 100],
      ['b', 120],
      ['b', 130],
      ['b', 140],
      ['a', 150],
      ['a', 350],
    ]);
    expect(world.now()).toBe(START + 1_000);
  });

  it('finish a chain of awaits before the next event, even one due at the same instant', async () => {
    const world = worldAt();
    const trace: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    void (async () => {
      await gate;
      for (let i = 0; i < 5; i++) await Promise.resolve();
      trace.push(`continuation at ${world.now() - START}`);
    })();
    world.scheduler.at(START + 10, () => {
      trace.push('first timer');
      release();
    });
    world.scheduler.at(START + 10, () => trace.push('second timer'));
    world.scheduler.at(START + 20, () => trace.push('later timer'));
    await advanceAsync(world, 100);
    expect(trace).toEqual(['first timer', 'continuation at 10', 'second timer', 'later timer']);
  });

  it('run timers a continuation schedules for the same instant', async () => {
    const world = worldAt();
    const trace: number[] = [];
    void (async () => {
      await sleep(world, 0);
      await sleep(world, 0);
      trace.push(world.now() - START);
    })();
    await runUntilAsync(world, START);
    expect(trace).toEqual([0]);
  });

  it('give the same trace for the same seed', async () => {
    const traceOf = async (seed: string) => {
      const world = worldAt(seed);
      const random = world.random.fork('tasks');
      const trace: [number, number][] = [];
      for (let task = 0; task < 4; task++) {
        void (async () => {
          for (let step = 0; step < 5; step++) {
            await sleep(world, random.int(0, 50));
            trace.push([task, world.now() - START]);
          }
        })();
      }
      await advanceAsync(world, 1_000);
      return trace;
    };
    const one = await traceOf('seed-a');
    expect(one).toHaveLength(20);
    expect(await traceOf('seed-a')).toEqual(one);
    expect(await traceOf('seed-b')).not.toEqual(one);
  });
});

describe('runPromise', () => {
  it('returns the value once it settles, at that virtual time', async () => {
    const world = worldAt();
    const value = runPromise(
      world,
      sleep(world, 250).then(() => 'done'),
    );
    expect(await value).toBe('done');
    expect(world.now()).toBe(START + 250);
  });

  it('passes a rejection on', async () => {
    const world = worldAt();
    const failing = sleep(world, 5).then(() => {
      throw new TypeError('bad');
    });
    await expect(runPromise(world, failing, 100)).rejects.toThrow(TypeError);
    expect(world.now()).toBe(START + 5);
  });

  it('rejects when its limit passes first, with the clock at the limit', async () => {
    const world = worldAt();
    const slow = sleep(world, 10_000);
    await expect(runPromise(world, slow, 1_000)).rejects.toMatchObject({
      name: 'VirtualTimeLimitError',
      reason: 'limit',
    });
    expect(world.now()).toBe(START + 1_000);
    // The promise itself is still pending on the scheduler and settles later.
    await runPromise(world, slow);
    expect(world.now()).toBe(START + 10_000);
  });

  it('rejects without a limit once nothing is scheduled that could settle it', async () => {
    const world = worldAt();
    const never = new Promise<void>(() => undefined);
    const outcome = runPromise(world, never);
    await expect(outcome).rejects.toBeInstanceOf(VirtualTimeLimitError);
    await expect(outcome).rejects.toMatchObject({ reason: 'idle' });
  });

  it('refuses a negative limit or sleep, and a time in the past', async () => {
    const world = worldAt();
    await expect(runPromise(world, Promise.resolve(1), -1)).rejects.toThrow(RangeError);
    expect(() => sleep(world, -5)).toThrow(RangeError);
    await expect(runUntilAsync(world, START - 1)).rejects.toThrow(RangeError);
  });
});
