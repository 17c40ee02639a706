// Fault tests against `make cluster` (make e2e-cluster starts it): real nodes SIGKILLed under load. The
// e2e settings, with these files only and more time per test.
const e2e = require('../jest-e2e.config');

module.exports = {
  ...e2e,
  rootDir: '../..',
  roots: ['<rootDir>/test/cluster'],
  testRegex: '.*\\.cluster-spec\\.ts$',
  testTimeout: 900000,
};
