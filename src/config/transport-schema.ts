// `pipe_transport "name" { ... }` -> TransportConfig, validated strictly: every option
// of Momentum's pipe_transport plus smtpipe's own (timeout, concurrency, eol, headers,
// env, modes, privileges). It validates and applies defaults; it never runs or expands
// anything, nor looks at the host: accounts.ts resolves user/group and checks directory.

import type { MappedReply, SourcePosition, TransportConfig, WrittenValue } from './types.js';
import type { OptionNode, ScopeNode } from './ast.js';
import { describeScope } from './ast.js';
import { ConfigCode } from './codes.js';
import { formatPosition, type DiagnosticSink } from './diagnostics.js';
import { DEFAULTS, MAX_ACCOUNT_ID } from './defaults.js';
import { domainPatternProblem } from './hostnames.js';
import { PROGRAM_MACROS, compileProgramName, type ProgramTemplate } from './program-argv.js';
import { gatherOptions } from './scope-options.js';
import {
  hasControlCharacter,
  parseWholeNumber,
  readBoolean,
  readInteger,
  readMap,
  readOctalMode,
  readScalarList,
  readSecondsAsMs,
  readText,
} from './values.js';

const KNOWN = [
  'program_name', 'output_file', 'error_file', 'domain', 'code', 'timeout', 'concurrency', 'eol',
  'received_header', 'return_path_header', 'delivered_to_header', 'env', 'output_mode', 'error_mode',
  'user', 'group', 'allow_root', 'directory', 'umask',
];

/**
 * An account or group name as getent looks it up: no leading "-" (getent would read an
 * option), a "$" only at the end (Samba machine accounts). All digits is an id instead.
 */
const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;

/** smtpipe sets these for every message; a transport may not override them. */
const RESERVED_ENV = new Set<string>(PROGRAM_MACROS.map((m) => m.toUpperCase()));

export interface BuiltTransport {
  /** Complete even when errors were reported (defaults fill the gaps); used only if none were. */
  readonly config: TransportConfig;
  /** Where each of config.domains was written, for cross-transport checks. */
  readonly domainPositions: readonly SourcePosition[];
}

export function buildTransport(scope: ScopeNode, sink: DiagnosticSink): BuiltTransport {
  const label = describeScope(scope);
  const name = scope.name?.text ?? '';
  if (scope.name === undefined) {
    sink.error(ConfigCode.MISSING_OPTION, scope.position, `${scope.type} needs a name: ${scope.type} "name" { ... }`);
  } else if (name === '' || /\s/.test(name) || hasControlCharacter(name)) {
    sink.error(
      ConfigCode.INVALID_VALUE,
      scope.name.position,
      `${label}: a transport name may not be empty or hold spaces`,
    );
  }
  const { options, scopes } = gatherOptions(scope.items, { label, known: KNOWN }, sink);
  for (const sub of scopes) {
    sink.error(ConfigCode.UNKNOWN_OPTION, sub.position, `${label} has no nested stanza ${describeScope(sub)}`);
  }
  const opt = (key: string): OptionNode | undefined => options.get(key);
  const d = DEFAULTS.transport;
  const program = readProgram(opt('program_name'), label, scope.position, sink);
  const domains = readDomains(opt('domain'), label, scope.position, sink);
  const config: TransportConfig = {
    name,
    programName: program.text,
    program: program.template,
    outputFile: readAbsolutePath(opt('output_file'), sink),
    errorFile: readAbsolutePath(opt('error_file'), sink),
    outputMode: ifSet(opt('output_mode'), (o) => readOctalMode(o, sink)) ?? d.fileMode,
    errorMode: ifSet(opt('error_mode'), (o) => readOctalMode(o, sink)) ?? d.fileMode,
    domains: domains.map((x) => x.domain),
    codes: readCodes(opt('code'), sink),
    timeoutMs: ifSet(opt('timeout'), (o) => readSecondsAsMs(o, sink, { min: 1 })) ?? d.timeoutSeconds * 1000,
    concurrency: ifSet(opt('concurrency'), (o) => readInteger(o, sink, { min: 1 })) ?? d.concurrency,
    eol: ifSet(opt('eol'), (o) => readEol(o, sink)) ?? d.eol,
    receivedHeader: ifSet(opt('received_header'), (o) => readBoolean(o, sink)) ?? d.receivedHeader,
    returnPathHeader: ifSet(opt('return_path_header'), (o) => readBoolean(o, sink)) ?? d.returnPathHeader,
    deliveredToHeader: ifSet(opt('delivered_to_header'), (o) => readBoolean(o, sink)) ?? d.deliveredToHeader,
    env: readEnv(opt('env'), sink),
    user: readAccount(opt('user'), 'uid', sink),
    group: readAccount(opt('group'), 'gid', sink),
    allowRoot: ifSet(opt('allow_root'), (o) => readBoolean(o, sink)) ?? d.allowRoot,
    directory: readDirectory(opt('directory'), sink),
    umask: ifSet(opt('umask'), (o) => readOctalMode(o, sink, { what: 'umask', example: '0027' })) ?? null,
    // Resolved against this host's accounts by loadConfig (accounts.ts), never here.
    runAs: null,
    position: scope.position,
  };
  return { config, domainPositions: domains.map((x) => x.position) };
}

function ifSet<T>(opt: OptionNode | undefined, read: (opt: OptionNode) => T | undefined): T | undefined {
  return opt === undefined ? undefined : read(opt);
}

function readProgram(
  opt: OptionNode | undefined,
  label: string,
  at: SourcePosition,
  sink: DiagnosticSink,
): { text: string; template: ProgramTemplate } {
  const none: ProgramTemplate = { path: '', args: [], singleRecipient: false };
  if (opt === undefined) {
    sink.error(ConfigCode.MISSING_OPTION, at, `${label} needs program_name = "/absolute/path/to/program ..."`);
    return { text: '', template: none };
  }
  const text = readText(opt, sink);
  if (text === undefined) return { text: '', template: none };
  const compiled = compileProgramName(text);
  if (compiled.ok) return { text, template: compiled.template };
  for (const p of compiled.problems) sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${p}`);
  return { text, template: none };
}

function readDomains(
  opt: OptionNode | undefined,
  label: string,
  at: SourcePosition,
  sink: DiagnosticSink,
): Array<{ domain: string; position: SourcePosition }> {
  if (opt === undefined) {
    sink.error(
      ConfigCode.MISSING_OPTION,
      at,
      `${label} needs domain = ( "example.com" ... ): the domains it receives mail for`,
    );
    return [];
  }
  const items = readScalarList(opt, sink) ?? [];
  if (items.length === 0 && opt.value.kind === 'list') {
    sink.error(
      ConfigCode.INVALID_VALUE,
      opt.value.position,
      `${opt.name}: the list is empty; name at least one domain`,
    );
  }
  const seen = new Map<string, SourcePosition>();
  const out: Array<{ domain: string; position: SourcePosition }> = [];
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

const DEV_NULL = '/dev/null';

/** output_file / error_file: an absolute path, or null for /dev/null. */
function readAbsolutePath(opt: OptionNode | undefined, sink: DiagnosticSink): string | null {
  if (opt === undefined) return null;
  const text = readText(opt, sink);
  if (text === undefined) return null;
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
  return null;
}

/** `user` / `group`: a name, or a numeric id (all digits) taken as is. */
function readAccount(opt: OptionNode | undefined, id: 'uid' | 'gid', sink: DiagnosticSink): WrittenValue | null {
  if (opt === undefined) return null;
  const text = readText(opt, sink);
  if (text === undefined) return null;
  const problem = accountProblem(text, id);
  if (problem === undefined) return { text, position: opt.value.position };
  sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${problem}`);
  return null;
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
function readDirectory(opt: OptionNode | undefined, sink: DiagnosticSink): WrittenValue | null {
  const text = readAbsolutePath(opt, sink);
  return opt === undefined || text === null ? null : { text, position: opt.value.position };
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
function readCodes(opt: OptionNode | undefined, sink: DiagnosticSink): Map<number, MappedReply> {
  const codes = new Map<number, MappedReply>();
  if (opt === undefined) return codes;
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

function readEnv(opt: OptionNode | undefined, sink: DiagnosticSink): Record<string, string> {
  // A Map, not an object: `__proto__ = "x"` is a valid name and must stay a plain entry.
  const env = new Map<string, string>();
  if (opt === undefined) return {};
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
