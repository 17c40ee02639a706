// Lint for TypeScript sources: the recommended rules plus type-aware checks for promises.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  { files: ['**/*.spec.ts', 'test/**/*.ts'], rules: { '@typescript-eslint/unbound-method': 'off' } },
);
