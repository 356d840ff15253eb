// recipient_check as written -> the argv template of a program run at RCPT time, before
// DATA: program_name's compiler (program-argv.ts), minus the macros that have no value
// yet; and, apart, the host check that the program is there. The run is src/delivery's.

import { stat } from 'node:fs/promises';
import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { compileProgramName, type ProgramMacro, type ProgramTemplate } from './program-argv.js';
import type { ParsedTransport, SourcePosition } from './types.js';
import { readText } from './values.js';

/** recipient_check as written and compiled; null on a transport without one. */
export interface RecipientCheck {
  readonly text: string;
  readonly template: ProgramTemplate;
  readonly position: SourcePosition;
}

/**
 * At RCPT there is no message: no queue id (it is given at DATA), no size, and one
 * recipient, not a list. Naming one of these is a load error, not an empty argument:
 * a check that silently got "" would answer for the wrong question.
 */
const NOT_BEFORE_DATA: ReadonlyMap<ProgramMacro, string> = new Map<ProgramMacro, string>([
  ['queue_id', 'the queue id is given at DATA'],
  ['size', 'the size is known only after DATA'],
  ['recipients', 'a check is about one recipient: use ${recipient}'],
]);

export function readRecipientCheck(opt: OptionNode, sink: DiagnosticSink): RecipientCheck | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const compiled = compileProgramName(text);
  if (!compiled.ok) {
    for (const p of compiled.problems) sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${p}`);
    return undefined;
  }
  let ok = true;
  for (const [macro, why] of NOT_BEFORE_DATA) {
    if (!usesMacro(compiled.template, macro)) continue;
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: \${${macro}} has no value before DATA (${why})`);
    ok = false;
  }
  return ok ? { text, template: compiled.template, position: opt.value.position } : undefined;
}

function usesMacro(template: ProgramTemplate, macro: ProgramMacro): boolean {
  return template.args.some((arg) =>
    arg.kind === 'recipients' ? macro === 'recipients' : arg.parts.some((part) => part.kind === 'macro' && part.name === macro),
  );
}

/**
 * Checked by --check, start-up and reload: a check that cannot start would answer every
 * RCPT of its transport 451, so a wrong path is a load error, not a day of deferred mail.
 * An execute bit for someone is what can be known here; the transport's user is the run's.
 */
export async function checkRecipientCheckPrograms(transports: readonly ParsedTransport[], sink: DiagnosticSink): Promise<void> {
  for (const transport of transports) {
    const check = transport.recipientCheck;
    if (check === null) continue;
    const problem = await programProblem(check.template.path);
    if (problem !== null) sink.error(ConfigCode.CHECK_PROGRAM, check.position, `recipient_check: ${problem}`);
  }
}

async function programProblem(program: string): Promise<string | null> {
  try {
    const info = await stat(program);
    if (!info.isFile()) return `${program} is not a regular file`;
    return (info.mode & 0o111) === 0 ? `${program} is not executable (mode ${(info.mode & 0o777).toString(8)})` : null;
  } catch (err) {
    // Handled: becomes an ERR_CONFIG_CHECK_PROGRAM diagnostic.
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    return code === 'ENOENT' ? `${program} does not exist` : `${program} cannot be examined: ${String(err)}`;
  }
}
