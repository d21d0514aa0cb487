// Ends the run with one plain line, "N passed, N failed, N skipped", which CI reads as the verdict.
// Written on exit so that it comes after Jest's own summary.
class ClosingLine {
  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped, numRuntimeErrorTestSuites: broken } = results
    process.once('exit', () => process.stderr.write(`Tests: ${passed} passed, ${failed + broken} failed, ${skipped} skipped\n`))
  }
}
module.exports = ClosingLine
