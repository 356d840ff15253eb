// A TransportConfig for unit tests of pure modules (the loader has its own tests).
import type { TransportConfig } from '../../src/config/types.js';
import { compileArgv, formatArg, type ProgramTemplate } from '../../src/config/program-argv.js';

/** A valid argv (as split from program_name) compiled as the loader does; throws if invalid. */
export function programTemplate(argv: readonly string[]): ProgramTemplate {
  const compiled = compileArgv(argv);
  if (!compiled.ok) throw new Error(`invalid test argv ${JSON.stringify(argv)}: ${compiled.problems.join('; ')}`);
  return compiled.template;
}

/** A compiled template back as the argv words it was written with. */
export function argvWords(template: ProgramTemplate): string[] {
  return [template.path, ...template.args.map(formatArg)];
}

export function makeTransport(overrides: Partial<TransportConfig> = {}): TransportConfig {
  return {
    name: 'test',
    programName: '/bin/cat',
    program: programTemplate(['/bin/cat']),
    outputFile: null,
    errorFile: null,
    outputMode: 0o600,
    errorMode: 0o600,
    domains: ['example.com'],
    codes: new Map(),
    exitCodes: 'momentum',
    replyFromOutput: 'none',
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
    recipientCheck: null,
    recipientCheckTimeoutMs: 10000,
    recipientCheckConcurrency: 4,
    runAs: null,
    places: {},
    position: { file: 'test.conf', line: 1, column: 1 },
    ...overrides,
  };
}
