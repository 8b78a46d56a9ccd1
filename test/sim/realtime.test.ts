// The real-time driver (src/sim/realtime.ts) on a World, with a wall clock the test moves.
import { afterEach, describe, expect, it } from 'vitest';
import { RealTimeDriver } from '../../src/sim/realtime.js';
import { World } from '../../src/sim/world.js';

const START = Date.UTC(2026, 2, 2, 15);
const drivers: RealTimeDriver[] = [];
afterEach(() => {
  for (const driver of drivers.splice(0)) driver.stop();
});

function setup(): { world: World; driver: RealTimeDriver; wall: { now: number } } {
  const world = new World({ seed: 'realtime', start: START });
  const wall = { now: 1_000_000 };
  const driver = new RealTimeDriver(world, { clock: () => wall.now });
  drivers.push(driver);
  driver.start();
  return { world, driver, wall };
}

describe('RealTimeDriver', () => {
  it('keeps the World at the wall clock plus the offset fixed at start', () => {
    const { world, driver, wall } = setup();
    wall.now += 1_234;
    driver.catchUp();
    expect(world.now()).toBe(START + 1_234);
    expect(driver.worldNow()).toBe(START + 1_234);
  });

  it('runs the timers due by the present at their own instants, in order', () => {
    const { world, driver, wall } = setup();
    const ran: number[] = [];
    world.scheduler.at(START + 300, (now) => ran.push(now));
    world.scheduler.at(START + 100, (now) => ran.push(now));
    world.scheduler.at(START + 900, (now) => ran.push(now));
    wall.now += 500;
    driver.catchUp();
    expect(ran).toEqual([START + 100, START + 300]);
    expect(world.scheduler.pending).toBe(1);
  });

  it('a wall clock that steps back leaves virtual time where it is', () => {
    const { world, driver, wall } = setup();
    wall.now += 50;
    driver.catchUp();
    wall.now -= 40;
    driver.catchUp();
    expect(world.now()).toBe(START + 50);
  });

  it('withLock reaches the firmware at the present: a lock timer set then fires on the host timer', async () => {
    const world = new World({ seed: 'realtime-lock', start: Date.now() });
    world.addLock({ id: 'front', model: 'M' });
    const driver = new RealTimeDriver(world);
    drivers.push(driver);
    driver.start();
    driver.run(() => world.grantUnlock('front'));
    // The bolt travels 1 s (models.ts); the driver's host timer must run the lock's timer.
    while (!world.eventsOf('front').some((event) => event.type === 'UNLOCKED')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const bolt = world.eventsOf('front').find((event) => event.type === 'BOLT')!;
    const unlocked = world.eventsOf('front').find((event) => event.type === 'UNLOCKED')!;
    expect(unlocked.t - bolt.t).toBe(1_000);
  });
});
