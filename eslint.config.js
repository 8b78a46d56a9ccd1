// ESLint flat config: typescript-eslint type-checked rules plus the folder import boundaries of
// ARCHITECTURE.md §1 (protocol imports nothing in the repo; firmware-sim imports protocol only).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = `^(node:.*|${builtinModules.filter((m) => !m.startsWith('_')).join('|')})(/.*)?$`;

/** An import restriction: any import whose path matches `regex` is refused with `why`. */
const forbid = (regex, why) => ({ regex, message: why });

const noNode = forbid(nodeBuiltins, 'this layer is pure: inject time, randomness and I/O instead');
const noSrc = forbid('(^|/)src(/|$)', 'this layer may not import from src/');
const noFirmware = forbid('(^|/)firmware-sim(/|$)', 'only src/sim may import firmware-sim/');
const noUpperSrc = forbid(
  '(^|/)src/(sim|cloud|phone|transport|cli)(/|$)|^\\.\\./(sim|cloud|phone|transport|cli)(/|$)',
  'src/core sits below the other src/ layers',
);

const restrict = (...patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['protocol/**/*.ts'], rules: restrict(noNode, noSrc, noFirmware) },
  { files: ['firmware-sim/**/*.ts'], rules: restrict(noNode, noSrc) },
  { files: ['src/core/**/*.ts'], rules: restrict(noFirmware, noUpperSrc) },
  {
    files: ['src/transport/**/*.ts', 'src/cloud/**/*.ts', 'src/phone/**/*.ts', 'src/hub/**/*.ts'],
    rules: restrict(
      noFirmware,
      forbid('(^|/)sim(/|$)', 'transports, cloud, phone and hub never import the simulator'),
    ),
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
