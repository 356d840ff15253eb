// Splits program_name into an argv template and checks its ${macros}. Pure. Expansion
// happens at delivery time (src/delivery), never here, and never through a shell.

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

/** Every problem with the argv template, as messages; empty when it is usable. */
export function argvProblems(argv: readonly string[]): string[] {
  const problems: string[] = [];
  const program = argv[0] ?? '';
  if (program.includes('${')) {
    problems.push(`the program ${JSON.stringify(program)} may not hold macros: only its arguments may`);
  } else if (!program.startsWith('/')) {
    problems.push(`the program must be an absolute path (no shell, no PATH search), got ${JSON.stringify(program)}`);
  }
  argv.forEach((arg, index) => {
    for (const found of scanMacros(arg)) {
      if (found.kind === 'unclosed') {
        problems.push(`"\${" without a closing "}" in argument ${index} ${JSON.stringify(arg)}`);
      } else if (!(PROGRAM_MACROS as readonly string[]).includes(found.name)) {
        problems.push(`unknown macro \${${found.name}} in argument ${index}${suggestMacro(found.name)}`);
      } else if (found.name === 'recipients' && arg !== '${recipients}') {
        // It expands to one argument per recipient, which cannot sit inside another word.
        problems.push(`\${recipients} must be a whole argument on its own, got ${JSON.stringify(arg)}`);
      }
    }
  });
  return problems;
}

type MacroUse = { readonly kind: 'macro'; readonly name: string } | { readonly kind: 'unclosed' };

function scanMacros(arg: string): MacroUse[] {
  const uses: MacroUse[] = [];
  let from = 0;
  for (;;) {
    const start = arg.indexOf('${', from);
    if (start === -1) return uses;
    const end = arg.indexOf('}', start + 2);
    if (end === -1) {
      uses.push({ kind: 'unclosed' });
      return uses;
    }
    uses.push({ kind: 'macro', name: arg.slice(start + 2, end) });
    from = end + 1;
  }
}

function suggestMacro(name: string): string {
  const close = suggestName(name, PROGRAM_MACROS);
  if (close !== undefined) return `; did you mean \${${close}}?`;
  return `; known macros: ${PROGRAM_MACROS.map((m) => `\${${m}}`).join(' ')}`;
}
