// Lint for TypeScript sources: the recommended rules plus type-aware checks for promises.
import js from '@eslint/js';
import { readdirSync } from 'node:fs';
import tseslint from 'typescript-eslint';

// The folders of src/: common/ is the leaf, app-http/ composes features, the features serve routes, the rest are adapters and catalogs.
const SRC = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
const FEATURES = ['ingestion', 'storage', 'processing', 'orchestration', 'scheduling', 'pipeline', 'health', 'console'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.stack/**', 'coverage/**', 'infra/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through src/common/config.' }],
    },
  },
  { files: ['src/common/config/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
  // One adapter per outside system: its client library is imported in that adapter's folder only.
  ...[
    ['kafkajs', 'src/kafka'],
    ['cassandra-driver', 'src/cassandra'],
    ['axios', 'src/livy', 'src/airflow'],
  ].map(([library, ...homes]) => ({
    files: ['src/**/*.ts', 'apps/**/*.ts'],
    ignores: homes.map((home) => `${home}/**`),
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: library, message: `Only ${homes.join(' and ')} talk to ${library}; inject that adapter.` }] }],
    },
  })),
  // common/ is a leaf: it imports nothing from another folder of src/.
  {
    files: ['src/common/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: SRC.filter((name) => name !== 'common').flatMap((name) => [`**/${name}`, `**/${name}/**`]), message: 'src/common is a leaf: declare a token or an interface here, or move the code to src/app-http.' }],
      }],
    },
  },
  // A feature reaches another only through its module and services, never its internals.
  ...FEATURES.map((feature) => ({
    files: [`src/${feature}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: FEATURES.filter((other) => other !== feature).map((other) => ({
          group: [`**/${other}/**`, `!**/${other}/**/*.module`, `!**/${other}/**/*.service`],
          message: `Import ${other} through its module or a service; what both need belongs in src/common.`,
        })),
      }],
    },
  })),
  { files: ['**/*.spec.ts', 'test/**/*.ts'], rules: { '@typescript-eslint/unbound-method': 'off' } },
);
