// Runs the end-to-end files in name order, with the disruptive outage tests last, so a run is repeatable.
const Sequencer = require('@jest/test-sequencer').default;

const disruptive = (path) => /outage/.test(path);

class NameOrderSequencer extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => disruptive(a.path) - disruptive(b.path) || a.path.localeCompare(b.path));
  }
}

module.exports = NameOrderSequencer;
