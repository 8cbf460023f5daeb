// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'reports/', 'eslint.config.js'],
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'lab/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    extends: [eslint.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        // Two programs: src/ alone (tsconfig.json) and test/, lab/, bench/, scripts/ (test/tsconfig.json); the project
        // service cannot be used because lab/ and bench/ sit under tsconfig.json, which does not include them.
        project: ['./tsconfig.json', './test/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // node:test's test()/describe() return a promise the runner itself awaits; every other promise must be handled.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // callbacks typed to return a promise (lab scenarios, waitFor predicates, actor stubs) may be synchronous
      '@typescript-eslint/require-await': 'off',
      // an implementation's signature names the parameters it ignores with a leading underscore
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `(x) => resolve(x)` and `() => clearTimeout(t)` callbacks are the house idiom; statement bodies would only add braces.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // xstate actors with no output are fromPromise<void, Input>(...); the rule forbids void in any call's type arguments.
      '@typescript-eslint/no-invalid-void-type': 'off',
      // Numbers and booleans print unambiguously in messages and argv; nullish, objects and any still fail.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowAny: false, allowNullish: false, allowRegExp: false, allowNever: false, allowArray: false },
      ],
    },
  },
);
