// A TransportConfig for unit tests of pure modules (the loader has its own tests).
import type { TransportConfig } from '../../src/config/types.js';

export function makeTransport(overrides: Partial<TransportConfig> = {}): TransportConfig {
  return {
    name: 'test',
    programName: '/bin/cat',
    argvTemplate: ['/bin/cat'],
    outputFile: null,
    errorFile: null,
    outputMode: 0o600,
    errorMode: 0o600,
    domains: ['example.com'],
    codes: new Map(),
    timeoutMs: 60000,
    concurrency: 4,
    eol: 'lf',
    receivedHeader: true,
    returnPathHeader: false,
    deliveredToHeader: false,
    env: {},
    user: null,
    group: null,
    allowRoot: false,
    directory: null,
    umask: null,
    runAs: null,
    position: { file: 'test.conf', line: 1, column: 1 },
    ...overrides,
  };
}
