// Every property test runs from a fixed seed so CI is reproducible; set KEYWAY_SEED to explore.
import fc from 'fast-check';

const seed = Number(process.env['KEYWAY_SEED'] ?? 20261121);
fc.configureGlobal({ seed, numRuns: 100 });
