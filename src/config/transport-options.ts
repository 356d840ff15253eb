// The options of pipe_transport, one row each: reader, default, printer and doc line:
// every option of Momentum's pipe_transport plus smtpipe's own (timeout, concurrency, eol,
// headers, env, modes, privileges). Reads values only; it never runs or expands anything,
// nor looks at the host: accounts.ts resolves user/group and checks directory.

import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import { formatPosition, type DiagnosticSink } from './diagnostics.js';
import { MAX_ACCOUNT_ID } from './defaults.js';
import { domainPatternProblem } from './hostnames.js';
import { count, defineOptions, flag, octal, quote, quotedList, seconds, whole, wholeSeconds } from './option-table.js';
import { PROGRAM_MACROS, argvProblems, splitProgramName } from './program-argv.js';
import type { LineEnding, MappedReply, ParsedTransport, SourcePosition, WrittenValue } from './types.js';
import { hasControlCharacter, parseWholeNumber, readMap, readOctalMode, readScalarList, readText } from './values.js';

export interface WrittenProgram {
  readonly text: string;
  readonly argv: readonly string[];
}

export interface WrittenDomain {
  readonly domain: string;
  readonly position: SourcePosition;
}

/** What one pipe_transport says; null: not written and no default (see the row). */
export interface TransportOptions {
  readonly program: WrittenProgram | null;
  readonly outputFile: string | null;
  readonly errorFile: string | null;
  readonly domains: readonly WrittenDomain[] | null;
  readonly codes: ReadonlyMap<number, MappedReply>;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly eol: LineEnding;
  readonly receivedHeader: boolean;
  readonly returnPathHeader: boolean;
  readonly deliveredToHeader: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly outputMode: number;
  readonly errorMode: number;
  readonly user: WrittenValue | null;
  readonly group: WrittenValue | null;
  readonly allowRoot: boolean;
  readonly directory: WrittenValue | null;
  readonly umask: number | null;
}

/**
 * An account or group name as getent looks it up: no leading "-" (getent would read an
 * option), a "$" only at the end (Samba machine accounts). All digits is an id instead.
 */
const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;

/** smtpipe sets these for every message; a transport may not override them. */
const RESERVED_ENV = new Set<string>(PROGRAM_MACROS.map((m) => m.toUpperCase()));

/** Output files: owner read/write only, like qmail and Postfix logs. */
const FILE_MODE = '0600';

const DEV_NULL = '/dev/null';

export const TRANSPORT_OPTIONS = defineOptions<TransportOptions, ParsedTransport>({
  program: {
    name: 'program_name',
    type: 'command line',
    defaultDoc: 'required',
    doc: 'absolute path and arguments, split on whitespace, double quotes group; `${macros}` expanded in the arguments',
    read: readProgram,
    print: (t) => quote(t.programName),
  },
  outputFile: {
    name: 'output_file',
    type: 'absolute path',
    // Momentum's own default, written out: the program's stdout goes nowhere.
    default: '"/dev/null"',
    doc: 'the program\'s stdout, appended, created with `output_mode`; opened as the program\'s user; a symbolic link, FIFO, device or hard-linked file there is refused (451)',
    read: readAbsolutePath,
    print: (t) => quote(t.outputFile ?? DEV_NULL),
  },
  errorFile: {
    name: 'error_file',
    type: 'absolute path',
    default: '"/dev/null"',
    doc: 'the program\'s stderr, appended, created with `error_mode`, as `output_file`',
    read: readAbsolutePath,
    print: (t) => quote(t.errorFile ?? DEV_NULL),
  },
  domains: {
    name: 'domain',
    type: 'list of domains',
    defaultDoc: 'required',
    doc: '`( "example.com" "*.example.net" )`; `*.` matches subdomains only; case-insensitive; one transport per domain',
    read: readDomains,
    print: (t) => quotedList(t.domains),
  },
  codes: {
    name: 'code',
    type: 'map exit status -> reply line',
    default: '[ ]',
    doc: '`[ "0" = "250 ok" 100 = "550 command failed" ]`: exit status -> whole reply line, sent verbatim. Unmapped: 0 gives `250 2.0.0 Ok: queued as <id>`, others `504 5.5.0`',
    read: readCodes,
    print: (t) => `[${[...t.codes].map(([status, r]) => ` ${quote(String(status))} = ${quote(`${r.code} ${r.text}`)}`).join('')} ]`,
  },
  timeoutMs: {
    name: 'timeout',
    ...seconds({ min: 1 }),
    default: '60',
    doc: 'then SIGTERM to the program\'s group, SIGKILL 2 s later, and `451 4.3.0`',
    print: (t) => wholeSeconds(t.timeoutMs),
  },
  concurrency: {
    name: 'concurrency',
    ...count({ min: 1 }),
    default: '16',
    doc: 'programs of this transport running at once; more messages wait in the pool queue (`Pool_Max_Queue`)',
    print: (t) => whole(t.concurrency),
  },
  eol: {
    name: 'eol',
    type: '"lf" or "crlf"',
    default: '"lf"',
    doc: 'line ending on stdin: `"lf"` (Unix programs, Postfix pipe) or `"crlf"` (wire form)',
    read: readEol,
    print: (t) => quote(t.eol),
  },
  receivedHeader: {
    name: 'received_header',
    ...flag,
    default: 'true',
    doc: 'prepend `Received:` (RFC 5321 4.4): client HELO and address, `ESMTPS` and the TLS protocol and cipher for an encrypted session, queue ID, the recipient when there is one',
    print: (t) => String(t.receivedHeader),
  },
  returnPathHeader: {
    name: 'return_path_header',
    ...flag,
    default: 'false',
    doc: 'prepend `Return-Path: <sender>`',
    print: (t) => String(t.returnPathHeader),
  },
  deliveredToHeader: {
    name: 'delivered_to_header',
    ...flag,
    default: 'false',
    doc: 'prepend one `Delivered-To:` per recipient',
    print: (t) => String(t.deliveredToHeader),
  },
  env: {
    name: 'env',
    type: 'map name -> value',
    default: '[ ]',
    doc: '`[ NAME = "value" ]` extra environment; may override `PATH`, not the variables smtpipe sets for every message',
    read: readEnv,
    print: (t) => `[${Object.entries(t.env).map(([k, v]) => ` ${quote(k)} = ${quote(v)}`).join('')} ]`,
  },
  outputMode: {
    name: 'output_mode',
    type: 'octal mode',
    default: FILE_MODE,
    doc: 'permissions of `output_file` when a run creates it, minus the program\'s umask',
    read: (o, s) => readOctalMode(o, s),
    print: (t) => octal(t.outputMode),
  },
  errorMode: {
    name: 'error_mode',
    type: 'octal mode',
    default: FILE_MODE,
    doc: 'permissions of `error_file` when a run creates it, minus the program\'s umask',
    read: (o, s) => readOctalMode(o, s),
    print: (t) => octal(t.errorMode),
  },
  user: {
    name: 'user',
    type: 'name or uid',
    defaultDoc: '`nobody` when smtpipe runs as root, else smtpipe\'s own',
    doc: 'who the program runs as (looked up with getent when the config loads); switching needs smtpipe to start as root',
    read: (o, s) => readAccount(o, 'uid', s),
    print: (t) => (t.user === null ? null : quote(t.user.text)),
  },
  group: {
    name: 'group',
    type: 'name or gid',
    defaultDoc: 'the user\'s primary group',
    doc: 'the program\'s group, instead of the user\'s primary group (also without `user`); no supplementary groups',
    read: (o, s) => readAccount(o, 'gid', s),
    print: (t) => (t.group === null ? null : quote(t.group.text)),
  },
  allowRoot: {
    name: 'allow_root',
    ...flag,
    default: 'false',
    doc: 'the program may run with uid or gid 0; without it a transport that resolves to root is a load error',
    print: (t) => String(t.allowRoot),
  },
  directory: {
    name: 'directory',
    type: 'absolute path',
    defaultDoc: 'smtpipe\'s working directory',
    doc: 'where the program starts; must exist when the config loads',
    read: readDirectory,
    print: (t) => (t.directory === null ? null : quote(t.directory.text)),
  },
  umask: {
    name: 'umask',
    type: 'octal mask',
    defaultDoc: 'smtpipe\'s umask',
    doc: 'the program\'s file creation mask, e.g. `0027`',
    read: (o, s) => readOctalMode(o, s, { what: 'umask', example: '0027' }),
    print: (t) => (t.umask === null ? null : octal(t.umask)),
  },
});

/** program_name: split into argv here, so a bad one is an error at its place. */
function readProgram(opt: OptionNode, sink: DiagnosticSink): WrittenProgram | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const split = splitProgramName(text);
  const problems = split.ok ? argvProblems(split.argv) : [split.reason];
  for (const p of problems) sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${p}`);
  return split.ok && problems.length === 0 ? { text, argv: split.argv } : undefined;
}

function readDomains(opt: OptionNode, sink: DiagnosticSink): WrittenDomain[] {
  const items = readScalarList(opt, sink) ?? [];
  if (items.length === 0 && opt.value.kind === 'list') {
    sink.error(
      ConfigCode.INVALID_VALUE,
      opt.value.position,
      `${opt.name}: the list is empty; name at least one domain`,
    );
  }
  const seen = new Map<string, SourcePosition>();
  const out: WrittenDomain[] = [];
  for (const item of items) {
    // Domains compare case-insensitively (RFC 5321 section 2.4).
    const domain = item.text.toLowerCase();
    const problem = domainPatternProblem(domain);
    const first = seen.get(domain);
    if (problem !== undefined) {
      sink.error(
        ConfigCode.INVALID_VALUE,
        item.position,
        `${opt.name}: ${JSON.stringify(item.text)} is not a domain: ${problem}`,
      );
    } else if (first !== undefined) {
      sink.error(
        ConfigCode.DUPLICATE,
        item.position,
        `${opt.name}: "${domain}" is listed twice (first at ${formatPosition(first)})`,
      );
    } else {
      seen.set(domain, item.position);
      out.push({ domain, position: item.position });
    }
  }
  return out;
}

/** output_file / error_file: an absolute path, or null for /dev/null. */
function readAbsolutePath(opt: OptionNode, sink: DiagnosticSink): string | null | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  // Momentum's own default written out: the program gets /dev/null as when the option is
  // absent. Named as a file it would be opened like one, and refused as a device.
  if (text === DEV_NULL) return null;
  if (text.startsWith('/')) return text;
  // The daemon's working directory is nobody's business: relative paths would move.
  sink.error(
    ConfigCode.INVALID_VALUE,
    opt.value.position,
    `${opt.name}: expected an absolute path, got ${JSON.stringify(text)}`,
  );
  return undefined;
}

/** `user` / `group`: a name, or a numeric id (all digits) taken as is. */
function readAccount(opt: OptionNode, id: 'uid' | 'gid', sink: DiagnosticSink): WrittenValue | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const problem = accountProblem(text, id);
  if (problem === undefined) return { text, position: opt.value.position };
  sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${problem}`);
  return undefined;
}

function accountProblem(text: string, id: 'uid' | 'gid'): string | undefined {
  if (/^[0-9]+$/.test(text)) {
    const n = parseWholeNumber(text);
    return n !== undefined && n <= MAX_ACCOUNT_ID ? undefined : `a numeric ${id} must be at most ${MAX_ACCOUNT_ID}, got ${text}`;
  }
  if (ACCOUNT_NAME.test(text)) return undefined;
  return `${JSON.stringify(text)} is neither a name (letters, digits, . _ -; not starting with -) nor a numeric ${id}`;
}

/** `directory`: absolute; whether it exists is checked at load (accounts.ts), not here. */
function readDirectory(opt: OptionNode, sink: DiagnosticSink): WrittenValue | null | undefined {
  const text = readAbsolutePath(opt, sink);
  return text === undefined || text === null ? text : { text, position: opt.value.position };
}

function readEol(opt: OptionNode, sink: DiagnosticSink): 'lf' | 'crlf' | undefined {
  const text = readText(opt, sink)?.toLowerCase();
  if (text === 'lf' || text === 'crlf' || text === undefined) return text;
  sink.error(
    ConfigCode.INVALID_VALUE,
    opt.value.position,
    `${opt.name}: expected "lf" or "crlf", got ${JSON.stringify(text)}`,
  );
  return undefined;
}

// RFC 5321 2.4: reply text is printable US-ASCII (and spaces); one line, sent verbatim.
const REPLY_LINE = /^([245][0-9][0-9]) +([\x21-\x7e][\x20-\x7e]*)$/;

/** `code = [ 100 = "550 5.0.0 failed" ]`: exit status 0-255 -> verbatim reply line. */
function readCodes(opt: OptionNode, sink: DiagnosticSink): Map<number, MappedReply> {
  const codes = new Map<number, MappedReply>();
  const map = readMap(opt, sink, '[ 100 = "550 5.0.0 command failed" ]');
  const seen = new Map<number, SourcePosition>();
  for (const { key, value } of map?.entries ?? []) {
    const status = parseWholeNumber(key.text);
    const first = status === undefined ? undefined : seen.get(status);
    // No CR/LF or other controls: the line is sent verbatim and must stay one line.
    const reply = value.kind === 'scalar' && !hasControlCharacter(value.text) ? REPLY_LINE.exec(value.text) : null;
    if (status === undefined || status > 255) {
      sink.error(
        ConfigCode.INVALID_VALUE,
        key.position,
        `${opt.name}: key ${JSON.stringify(key.text)} is not an exit status from 0 to 255`,
      );
    } else if (first !== undefined) {
      sink.error(
        ConfigCode.DUPLICATE,
        key.position,
        `${opt.name}: exit status ${status} is mapped twice (first at ${formatPosition(first)})`,
      );
    } else if (reply === null) {
      const got = value.kind === 'scalar' ? JSON.stringify(value.text) : `a ${value.kind}`;
      sink.error(
        ConfigCode.INVALID_VALUE,
        value.position,
        `${opt.name}: exit status ${status} needs a reply line "NNN text" with NNN a 2xx, 4xx or 5xx code and printable ASCII text, got ${got}`,
      );
    } else {
      seen.set(status, key.position);
      codes.set(status, Object.freeze({ code: Number(reply[1]), text: reply[2] as string }));
    }
  }
  return codes;
}

function readEnv(opt: OptionNode, sink: DiagnosticSink): Record<string, string> {
  // A Map, not an object: `__proto__ = "x"` is a valid name and must stay a plain entry.
  const env = new Map<string, string>();
  const map = readMap(opt, sink, '[ PATH = "/usr/bin:/bin" ]');
  for (const { key, value } of map?.entries ?? []) {
    const name = key.text;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      sink.error(
        ConfigCode.INVALID_VALUE,
        key.position,
        `${opt.name}: ${JSON.stringify(name)} is not a variable name (letters, digits, _; not starting with a digit)`,
      );
    } else if (RESERVED_ENV.has(name)) {
      sink.error(
        ConfigCode.INVALID_VALUE,
        key.position,
        `${opt.name}: ${name} is set by smtpipe for every message and cannot be overridden`,
      );
    } else if (env.has(name)) {
      sink.error(ConfigCode.DUPLICATE, key.position, `${opt.name}: ${name} is set twice`);
    } else if (value.kind !== 'scalar' || value.text.includes('\0')) {
      sink.error(
        ConfigCode.INVALID_VALUE,
        value.position,
        `${opt.name}: ${name} needs a single string value without NUL bytes`,
      );
    } else {
      env.set(name, value.text);
    }
  }
  return Object.fromEntries(env);
}
