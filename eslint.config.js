// Lint: typed rules on, so an unawaited promise in a message handler is an error, not a lost failure.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.data/**', 'bench/results/**', 'coverage/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Numbers and booleans print as expected in a template; objects and undefined do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => doSomething()` returning void is the usual callback shorthand, not a confusion.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Off: it trusts narrowing across `await` (a `stopping` flag set by stop() meanwhile reads
      // as "always false") and library types that omit undefined (JSON.stringify), so following
      // it would delete checks that matter at run time.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // `T | void` is how a hook says "may return nothing"; the rule allows no such union.
      '@typescript-eslint/no-invalid-void-type': 'off',
      // The guide's handlers are `async` without an await; that is fine and must lint clean.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@multi-agent/*/src/*'], message: 'Import the package entry point, not its internals.' }] },
      ],
    },
  },
  {
    // In a test a wrong `!` throws and fails the test, which is what the assertion would do.
    files: ['**/test/**/*.ts', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // The examples hold the guide's code verbatim: it imports typed events as values, leaves
    // handler parameters unused and parses JSON into untyped values. That must stay valid.
    files: ['examples/**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly' },
    },
  },
  {
    // The web console: plain browser JavaScript modules served as they are.
    files: ['services/gateway/public/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
);
