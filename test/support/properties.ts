/** True under `npm run test:long`, which runs the big property and fuzz campaigns. */
export const LONG = process.env['KEYWAY_LONG'] === '1';

/** The number of property runs: `ci` in the normal suite, `long` under `npm run test:long`. */
export function propertyRuns(ci: number, long: number): number {
  return LONG ? long : ci;
}
