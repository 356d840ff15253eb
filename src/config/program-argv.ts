// Compiles program_name into a ProgramTemplate: argv split without a shell, ${macros}
// parsed and checked once, here. Pure. Filling the template in happens at delivery time
// (src/delivery/envelope.ts), never here, and never through a shell.

import { suggestName } from './suggest.js';

/** Macros program_name may use; each is also passed in the environment, upper-cased. */
export const PROGRAM_MACROS = [
  'sender',
  'recipient',
  'recipients',
  'domain',
  'local',
  'queue_id',
  'client_address',
  'client_helo',
  'auth_user',
  'size',
  'transport',
] as const;

export type ProgramMacro = (typeof PROGRAM_MACROS)[number];

export type SplitResult =
  | { readonly ok: true; readonly argv: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Whitespace separates arguments; double quotes group (`"a b"` is one argument, `""` an
 * empty one); `\"` and `\\` escape. Single quotes are ordinary characters: no shell.
 */
export function splitProgramName(text: string): SplitResult {
  const argv: string[] = [];
  let current = '';
  let started = false;
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '\\' && (next === '"' || next === '\\')) {
      current += next;
      started = true;
      i += 1;
    } else if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if (!quoted && /\s/.test(c)) {
      if (started) argv.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (quoted) return { ok: false, reason: 'a double quote inside the value is not closed' };
  if (started) argv.push(current);
  if (argv.length === 0) return { ok: false, reason: 'no program given' };
  return { ok: true, argv };
}

/** Macros with one value per transaction; `${recipients}` is a whole argument of its own. */
export type ValueMacro = Exclude<ProgramMacro, 'recipients'>;

/** Macros that name one recipient: a transport using one takes one recipient per transaction. */
const PER_RECIPIENT: ReadonlySet<ProgramMacro> = new Set<ProgramMacro>(['recipient', 'local', 'domain']);

/** One piece of an argument: text as written, or a macro filled in at delivery. */
export type TemplatePart = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'macro'; readonly name: ValueMacro };

/** One argument after the program: parts joined into one string, or one argument per recipient. */
export type ArgTemplate = { readonly kind: 'parts'; readonly parts: readonly TemplatePart[] } | { readonly kind: 'recipients' };

/** program_name compiled once by the config; src/delivery only fills it in. */
export interface ProgramTemplate {
  /** argv[0]: an absolute path without macros. */
  readonly path: string;
  readonly args: readonly ArgTemplate[];
  /** An argument names one recipient (${recipient}, ${local}, ${domain}): one per transaction. */
  readonly singleRecipient: boolean;
}

export type CompileResult =
  | { readonly ok: true; readonly template: ProgramTemplate }
  | { readonly ok: false; readonly problems: readonly string[] };

/** program_name as written -> its template, or every problem with it. */
export function compileProgramName(text: string): CompileResult {
  const split = splitProgramName(text);
  return split.ok ? compileArgv(split.argv) : { ok: false, problems: [split.reason] };
}

/** A split argv -> its template, or every problem with it (the only parser of ${macros}). */
export function compileArgv(argv: readonly string[]): CompileResult {
  const problems: string[] = [];
  const program = argv[0] ?? '';
  if (program.includes('${')) {
    problems.push(`the program ${JSON.stringify(program)} may not hold macros: only its arguments may`);
  } else if (!program.startsWith('/')) {
    problems.push(`the program must be an absolute path (no shell, no PATH search), got ${JSON.stringify(program)}`);
  }
  const args: ArgTemplate[] = [];
  let singleRecipient = false;
  argv.forEach((arg, index) => {
    if (index === 0) return;
    if (arg === '${recipients}') {
      args.push({ kind: 'recipients' });
      return;
    }
    const parts: TemplatePart[] = [];
    let from = 0;
    for (;;) {
      const start = arg.indexOf('${', from);
      if (start === -1) break;
      const end = arg.indexOf('}', start + 2);
      if (end === -1) {
        problems.push(`"\${" without a closing "}" in argument ${index} ${JSON.stringify(arg)}`);
        break;
      }
      const name = arg.slice(start + 2, end);
      if (!isMacro(name)) {
        problems.push(`unknown macro \${${name}} in argument ${index}${suggestMacro(name)}`);
      } else if (name === 'recipients') {
        // It expands to one argument per recipient, which cannot sit inside another word.
        problems.push(`\${recipients} must be a whole argument on its own, got ${JSON.stringify(arg)}`);
      } else {
        if (start > from) parts.push({ kind: 'literal', text: arg.slice(from, start) });
        parts.push({ kind: 'macro', name });
        singleRecipient ||= PER_RECIPIENT.has(name);
      }
      from = end + 1;
    }
    if (from < arg.length || parts.length === 0) parts.push({ kind: 'literal', text: arg.slice(from) });
    args.push({ kind: 'parts', parts });
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, template: { path: program, args, singleRecipient } };
}

/** An argument as written in program_name, for messages. */
export function formatArg(arg: ArgTemplate): string {
  if (arg.kind === 'recipients') return '${recipients}';
  return arg.parts.map((part) => (part.kind === 'literal' ? part.text : `\${${part.name}}`)).join('');
}

function isMacro(name: string): name is ProgramMacro {
  return (PROGRAM_MACROS as readonly string[]).includes(name);
}

function suggestMacro(name: string): string {
  const close = suggestName(name, PROGRAM_MACROS);
  if (close !== undefined) return `; did you mean \${${close}}?`;
  return `; known macros: ${PROGRAM_MACROS.map((m) => `\${${m}}`).join(' ')}`;
}
