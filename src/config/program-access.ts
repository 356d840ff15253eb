// The host check of what each transport's runs will touch: argv[0] of program_name and of
// recipient_check, output_file and error_file, each as the identity the run uses. Runs
// once per load (--check, start-up, reload), after accounts.ts; never on a delivery path.
// Reports problems to the sink at the option's place; never throws for them.

import { ConfigCode, type ConfigCodeValue } from './codes.js';
import { USER_WHEN_ROOT } from './defaults.js';
import type { DiagnosticSink } from './diagnostics.js';
import { outputFileProblem, programProblem, type Checker, type Identity, type PathProblem, type StatCache } from './path-access.js';
import type { SourcePosition, TransportConfig } from './types.js';

/** smtpipe's own identity, which a transport without runAs keeps (supplementary groups too). */
export interface OwnIdentity {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

const CODES: Readonly<Record<PathProblem['kind'], ConfigCodeValue>> = {
  missing: ConfigCode.PROGRAM_MISSING,
  'not-file': ConfigCode.PROGRAM_NOT_FILE,
  denied: ConfigCode.PROGRAM_ACCESS,
};

/**
 * A transport whose program cannot start answers every message 451 (and every RCPT, for a
 * check): a load error instead. `identitiesKnown` false (an account was refused): only
 * what needs no identity (exists, is a regular file) is checked, to add no guesswork.
 */
export async function checkProgramAccess(
  transports: readonly TransportConfig[],
  own: OwnIdentity,
  checker: Checker,
  identitiesKnown: boolean,
  sink: DiagnosticSink,
): Promise<void> {
  const cache: StatCache = new Map();
  for (const t of transports) {
    const who = identitiesKnown ? identityOf(t, own) : null;
    const checks: Array<[string, SourcePosition, Promise<PathProblem | null>, string]> = [];
    if (t.places.programName !== undefined) {
      checks.push(['program_name', t.places.programName, programProblem(t.program.path, who, checker, cache), hintFor(t.program.path)]);
    }
    if (t.recipientCheck !== null) {
      const check = t.recipientCheck;
      checks.push(['recipient_check', check.position, programProblem(check.template.path, who, checker, cache), hintFor(check.template.path)]);
    }
    for (const [option, file, at] of [
      ['output_file', t.outputFile, t.places.outputFile],
      ['error_file', t.errorFile, t.places.errorFile],
    ] as const) {
      if (file !== null && at !== undefined) checks.push([option, at, outputFileProblem(file, who, checker, cache), '']);
    }
    for (const [option, at, pending, hint] of checks) {
      const problem = await pending;
      if (problem === null) continue;
      const code = option.endsWith('_file') ? ConfigCode.OUTPUT_FILE : CODES[problem.kind];
      const extra = problem.kind === 'missing' ? hint : '';
      sink.error(code, at, `${option}: ${problem.message}${extra}`);
    }
  }
}

/** As src/pool runs it: runAs with no supplementary groups, else smtpipe's own ids and groups. */
function identityOf(t: TransportConfig, own: OwnIdentity): Identity {
  if (t.runAs === null) {
    const label = own.uid === 0 ? 'root (smtpipe\'s own uid)' : `smtpipe's own uid ${own.uid}`;
    return { uid: own.uid, gid: own.gid, groups: own.groups, label };
  }
  const name = t.user !== null ? t.user.text : USER_WHEN_ROOT;
  return { uid: t.runAs.uid, gid: t.runAs.gid, groups: [], label: `user ${name} (uid ${t.runAs.uid}, gid ${t.runAs.gid})` };
}

/** " (is procmail installed?)" for a program under a system directory. */
function hintFor(program: string): string {
  const base = program.slice(program.lastIndexOf('/') + 1);
  return /^\/(usr\/(local\/)?)?s?bin\//.test(program) && base !== '' ? ` (is ${base} installed?)` : '';
}
