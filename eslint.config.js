// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// What app/, cli/ and ui/ may not import (STYLE rule 4). One no-restricted-imports
// per file wins in flat config (the last block matching it), so every block
// below states the whole list it means.
const EXECA_PATH = { name: 'execa', message: 'Use the Runner (src/adapters/runner.ts).' };
const ADAPTERS_PATTERN = { group: ['**/adapters/*'], message: 'Reach adapters through deps (src/app/deps.ts), not around it.' };
const FS_PATTERN = { group: ['node:fs', 'node:fs/*', 'fs', 'fs/*'], message: 'Reach files through deps (the files port), not node:fs.' };
const COMPOSITION_ROOTS = ['src/app/deps.ts', 'src/cli/context.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // execa is owned by the runner adapter only (STYLE rule 3).
      'no-restricted-imports': ['error', { paths: [{ name: 'execa', message: 'Use the Runner (src/adapters/runner.ts).' }] }],
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'Only src/main.ts exits.' }],
    },
  },
  {
    files: ['src/adapters/runner.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['src/main.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // core/ is pure: no filesystem, no processes, no network.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['node:fs*', 'node:child_process', 'node:http*', 'node:net', 'execa', 'simple-git', '../adapters/*', '../app/*', '../cli/*'], message: 'core/ is pure.' }],
      }],
    },
  },
  {
    // Use cases and the CLI reach the world through deps (STYLE rule 4): only the
    // composition root (app/deps.ts) and cli/context.ts import adapters or node:fs.
    files: ['src/app/**/*.ts', 'src/cli/**/*.ts', 'src/ui/**/*.ts'],
    ignores: COMPOSITION_ROOTS,
    rules: {
      'no-restricted-imports': ['error', { paths: [EXECA_PATH], patterns: [ADAPTERS_PATTERN, FS_PATTERN] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
