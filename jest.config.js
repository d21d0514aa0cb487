// ESM throughout: ts-jest transpiles each file on its own (type-checking is `npm run typecheck`),
// and Node runs the result with --experimental-vm-modules.
//
// One project per kind of test, one folder each: `npm run test:unit` is the fast loop (seconds, no
// server), `npm test` runs every project. Most suites wait on moto or on a child process rather
// than on the CPU, so the workers outnumber this machine's two cores.
import { availableParallelism } from 'node:os'

const typescript = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] }
}

const kind = (name) => ({ ...typescript, displayName: name, testMatch: [`<rootDir>/test/${name}/**/*.test.ts`] })

export default {
  projects: ['unit', 'integration', 'double', 'bundle', 'docs'].map(kind),
  maxWorkers: Number(process.env.JEST_WORKERS) || Math.max(2, availableParallelism() * 2),
  testTimeout: 60000,
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary', 'json-summary'],
  reporters: ['default', '<rootDir>/test/support/closing-line.cjs'],
  verbose: false
}
