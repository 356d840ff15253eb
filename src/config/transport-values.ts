// Readers of pipe_transport's values that need more than values.ts offers: program_name
// split into argv, domains, absolute paths, accounts as written, reply-line maps and env.
// Each reports a precise error to the sink and returns undefined; it looks nothing up.

import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import { formatPosition, type DiagnosticSink } from './diagnostics.js';
import { MAX_ACCOUNT_ID } from './defaults.js';
import { domainPatternProblem } from './hostnames.js';
import { PROGRAM_MACROS, compileProgramName, type ProgramTemplate } from './program-argv.js';
import type { LineEnding, MappedReply, SourcePosition, WrittenValue } from './types.js';
import { hasControlCharacter, parseWholeNumber, readMap, readScalarList, readText } from './values.js';

export interface WrittenProgram {
  readonly text: string;
  readonly template: ProgramTemplate;
}

export interface WrittenDomain {
  readonly domain: string;
  readonly position: SourcePosition;
}

/**
 * An account or group name as getent looks it up: no leading "-" (getent would read an
 * option), a "$" only at the end (Samba machine accounts). All digits is an id instead.
 */
const ACCOUNT_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;

export const DEV_NULL = '/dev/null';

/** smtpipe sets these for every message; a transport may not override them. */
const RESERVED_ENV = new Set<string>(PROGRAM_MACROS.map((m) => m.toUpperCase()));

/** program_name: compiled here (program-argv.ts), so a bad one is an error at its place. */
export function readProgram(opt: OptionNode, sink: DiagnosticSink): WrittenProgram | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const compiled = compileProgramName(text);
  if (compiled.ok) return { text, template: compiled.template };
  for (const p of compiled.problems) sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${p}`);
  return undefined;
}

export function readDomains(opt: OptionNode, sink: DiagnosticSink): WrittenDomain[] {
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
export function readAbsolutePath(opt: OptionNode, sink: DiagnosticSink): string | null | undefined {
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
export function readAccount(opt: OptionNode, id: 'uid' | 'gid', sink: DiagnosticSink): WrittenValue | undefined {
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
export function readDirectory(opt: OptionNode, sink: DiagnosticSink): WrittenValue | null | undefined {
  const text = readAbsolutePath(opt, sink);
  return text === undefined || text === null ? text : { text, position: opt.value.position };
}

export function readEol(opt: OptionNode, sink: DiagnosticSink): LineEnding | undefined {
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
export function readCodes(opt: OptionNode, sink: DiagnosticSink): Map<number, MappedReply> {
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

export function readEnv(opt: OptionNode, sink: DiagnosticSink): Record<string, string> {
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
