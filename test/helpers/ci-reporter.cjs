'use strict';
// Mocha's spec output plus a machine-readable count of what really ran, for .ci/run's final
// "N passed, N failed" line (CI does not read mocha's own summary).
const fs = require('node:fs');
const Mocha = require('mocha');

class CiReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const counts = { passed: 0, failed: 0, pending: 0 };
    runner.on('pass', () => counts.passed++);
    runner.on('fail', () => counts.failed++);
    runner.on('pending', () => counts.pending++);
    runner.once('end', () => {
      const file = process.env.GATEHOUSE_TEST_COUNTS;
      if (file) fs.writeFileSync(file, JSON.stringify(counts));
    });
  }
}

module.exports = CiReporter;
