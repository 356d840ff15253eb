// recipient_check as written -> the argv template of a program run at RCPT time, before
// DATA: program_name's compiler (program-argv.ts), minus the macros that have no value
// yet. Whether the program is there is program-access.ts's; the run is src/delivery's.

import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { compileProgramName, type ProgramMacro, type ProgramTemplate } from './program-argv.js';
import type { SourcePosition } from './types.js';
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
