// Lint: TypeScript rules everywhere; workflow files may not import Node built-ins or any module
// that does I/O (workflows must be deterministic and run in Temporal's sandbox).
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
// A relative import reaching into the activities/ or workflows/ tree (or its index).
const activitiesPath = '^(\\.{1,2}/)+(.*/)?activities(/|$)';
const workflowsPath = '^(\\.{1,2}/)+(.*/)?workflows(/|$)';

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
          { group: ['pg', 'pg/*', '@temporalio/worker', '@temporalio/client'], message: 'Workflows import no I/O libraries.' },
          // Layering: workflows sit above activities and may only name their types; pure code both
          // use (the conversion choice, the input reader) lives below them, in src/.
          { regex: activitiesPath, allowTypeImports: true, message: 'Workflows import activity types only (import type). Pure code both need belongs below them (src/conversion/choice/, src/shared/).' },
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
  {
    // Activities sit below workflows: they may name workflow types, never import workflow code.
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: workflowsPath, allowTypeImports: true, message: 'Activities lie below workflows: import workflow types only (import type). Pure code both need belongs below them (src/conversion/choice/, src/shared/).' }],
      }],
    },
  },
  {
    // The user's choice and the input reader: imported by workflows and activities alike, so as
    // pure as workflow code and importing neither of them.
    files: ['src/conversion/choice/**/*.ts', 'src/shared/input-reader.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows import this module: no Node built-ins.' })),
        patterns: [
          { group: ['node:*', 'pg', 'pg/*', '@temporalio/*'], message: 'Workflows import this module: no Node built-ins, no I/O, no SDK.' },
          { regex: activitiesPath, message: 'This module lies below activities: it may not import them.' },
          { regex: workflowsPath, message: 'This module lies below workflows: it may not import them.' },
        ],
      }],
      'no-restricted-globals': ['error', { name: 'process', message: 'Workflows import this module: no process access.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Workflows import this module: no randomness.' }],
    },
  },
);
