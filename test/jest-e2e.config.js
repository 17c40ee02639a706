// End-to-end tests: the real app against the real local Kafka and Cassandra (infra/local).
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '..',
  roots: ['<rootDir>/test'],
  testRegex: '.*\\.e2e-spec\\.ts$',
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  testTimeout: 120000,
  maxWorkers: 1,
  testSequencer: '<rootDir>/test/sequencer.js',
  // Client libraries (kafkajs reconnect timers after the broker restart) can outlive the last test;
  // the run must end when the tests do. The API's own shutdown is tested in shutdown.e2e-spec.ts.
  forceExit: true,
};
