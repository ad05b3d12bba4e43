// Lint: TypeScript rules everywhere; workflow files may not import Node built-ins or any module
// that does I/O (workflows must be deterministic and run in Temporal's sandbox).
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.cache/**', '.tmp/**', 'test-artifacts/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The package's launchers (bin/): plain CommonJS run by node before anything is compiled.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows are deterministic: no Node built-ins. Do I/O in an activity.' })),
        patterns: [
          { group: ['node:*'], message: 'Workflows are deterministic: no Node built-ins. Do I/O in an activity.' },
          { group: ['pg', 'pg/*', '@temporalio/worker', '@temporalio/client', '**/activities/*', '!**/activities/*'], message: 'Workflows import activity types only (import type) and no I/O libraries.', allowTypeImports: true },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'No process access in workflows.' },
        { name: 'setInterval', message: 'Use workflow sleep/condition.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'Use uuid4() from @temporalio/workflow; keep randomness out of workflow logic.' },
      ],
    },
  },
);
