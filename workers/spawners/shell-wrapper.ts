// The one shell smtpipe ever runs, for the child_process spawner only: `/bin/sh -c SCRIPT`
// runs after libuv's id switch and does what Node cannot do there: set the program's
// umask, and open output_file / error_file as the program's user, as `>>` would. The
// script is fixed text: the program, its arguments, paths and masks are positional
// parameters, never part of it. Owns that script and the reading of its refusals.
//
// What it cannot do, unlike native/spawn.c: refuse a hard-linked file (POSIX sh has no way
// to read st_nlink without running another program), nor close the race between its
// checks and its open (a FIFO put there in between blocks the shell, not the daemon: the
// run's timeout then ends it). It follows no symbolic link it did not check, and it opens
// only as the program's own user, so a planted path grants the program nothing.

import { getSystemErrorMap } from 'node:util';
import type { OutputFile, StartFailure } from './contract.js';
import { NOT_REGULAR, outputFailure } from './output-files.js';

/** Reports "<stream> <reason>" on fd 3 and ends the shell; the program never runs. */
const REFUSE = `r() { printf '%s %s\\n' "$1" "$2" >&3; exit 126; }`;
/**
 * o STREAM PATH CREATE_MASK: checks, then opens PATH on fd 4 for append. `command` keeps
 * a failed redirection from ending the shell (exec is a special built-in) so that it is
 * reported; the shell's own message ("cannot create ...: Permission denied") goes to fd 3
 * before the report line. The umask makes `>>` create the file with the output's mode.
 */
const OPEN =
  'o() { if [ -L "$2" ]; then r "$1" symlink; elif [ -d "$2" ]; then r "$1" directory; ' +
  'elif [ -e "$2" ] && [ ! -f "$2" ]; then r "$1" not-regular; fi; ' +
  'umask "$3" && { command exec 4>>"$2"; } 2>&3 || r "$1" open; }';

const REPORT_LINE = /^(stdout|stderr) (symlink|directory|not-regular|open)$/;
const REASON_CODES: Readonly<Record<string, string>> = { symlink: 'ELOOP', directory: 'EISDIR', 'not-regular': NOT_REGULAR };

export interface WrapOptions {
  readonly file: string;
  readonly args: readonly string[];
  /** The program's umask; null = keep the shell's (ours). */
  readonly umask: number | null;
  /** Outputs the shell opens (with the program's ids): then `umask` must be the program's, not null. */
  readonly stdout: OutputFile | null;
  readonly stderr: OutputFile | null;
}

/**
 * [file, args] for child_process.spawn. With outputs, the child needs stdio[3] = 'pipe':
 * whatever arrives there before EOF is a refusal (readRefusal).
 */
export function wrapInShell(options: WrapOptions): [string, string[]] {
  const { stdout, stderr, umask } = options;
  const opens = stdout !== null || stderr !== null;
  if (opens && umask === null) throw new Error('bug: the shell opens outputs, so it needs the program umask');
  const lines = [
    ...(opens ? [REFUSE, OPEN] : []),
    ...(stdout === null ? [] : ['o stdout "$2" "$3"; exec 1>&4 4>&-']),
    ...(stderr === null ? [] : ['o stderr "$4" "$5"; exec 2>&4 4>&-']),
    ...(umask === null ? [] : ['umask "$1"']),
    ...(opens ? ['exec 3>&-'] : []),
    'shift 5',
    'exec "$@"',
  ];
  const createMask = (output: OutputFile | null): string =>
    output === null || umask === null ? '' : octal(~(output.mode & ~umask) & 0o777);
  const positional = [
    umask === null ? '' : octal(umask),
    stdout?.path ?? '',
    createMask(stdout),
    stderr?.path ?? '',
    createMask(stderr),
  ];
  // $0 names the shell in its own messages ("smtpipe-wrapper: 1: cannot create ...").
  return ['/bin/sh', ['-c', lines.join('\n'), 'smtpipe-wrapper', ...positional, options.file, ...options.args]];
}

/**
 * What the shell wrote on fd 3, read to EOF: null (nothing: the program was exec'd), or
 * the refusal. Text without a report line means the script itself went wrong: a start
 * failure that is no output's fault.
 */
export function readRefusal(text: string): StartFailure | null {
  if (text === '') return null;
  const lines = text.trimEnd().split('\n');
  const report = REPORT_LINE.exec(lines.at(-1) ?? '');
  if (report === null) return { ok: false, errorCode: 'ERR_SPAWN_WRAPPER', message: `wrapper shell: ${text.trim()}` };
  const stream = report[1] === 'stderr' ? 'stderr' : 'stdout';
  const reason = report[2] ?? 'open';
  const diagnostic = lines.slice(0, -1).join(' ').trim();
  const code = REASON_CODES[reason] ?? codeOfDiagnostic(diagnostic);
  return outputFailure(stream, code, code === 'ERR_OUTPUT_OPEN' ? diagnostic : undefined);
}

/**
 * The errno behind the shell's "cannot create PATH: Permission denied" (dash) or
 * "PATH: Permission denied" (bash): strerror's text, matched against libuv's table.
 */
function codeOfDiagnostic(diagnostic: string): string {
  const text = diagnostic.slice(diagnostic.lastIndexOf(': ') + 2).toLowerCase();
  // dash's own words for ENOENT on a missing directory.
  if (text === 'directory nonexistent') return 'ENOENT';
  for (const [name, message] of getSystemErrorMap().values()) if (message.toLowerCase() === text) return name;
  return 'ERR_OUTPUT_OPEN';
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
