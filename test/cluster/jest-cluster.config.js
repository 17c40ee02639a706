// Fault tests against `make cluster` (test/cluster/run.sh starts it): real nodes SIGKILLed under load.
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '../..',
  roots: ['<rootDir>/test/cluster'],
  testRegex: '.*\\.cluster-spec\\.ts$',
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  testTimeout: 900000,
  maxWorkers: 1,
  // kafkajs and cassandra-driver reconnect timers can outlive the last test.
  forceExit: true,
};
