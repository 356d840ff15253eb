// Exit status -> SMTP reply: the three presets (`exit_codes`) as data, the transport's `code`
// map over them, and the program's own status line (`reply_from_output`) within the class
// they decide. Pure; the one place an exit status becomes a reply, for outcome-reply.ts and
// for anything else that runs a program and must answer the same way (recipient checks).

import type { ExitCodePreset, MappedReply } from '../config/types.js';
import type { SmtpReply } from '../smtp/reply.js';

/** What of a transport decides the reply to an exit status. */
export interface ExitReplyPolicy {
  /** The transport's `code` map: wins over the preset, sent verbatim. */
  readonly codes: ReadonlyMap<number, MappedReply>;
  readonly exitCodes: ExitCodePreset;
}

/** One row of a preset: the enhanced code (RFC 3463) and words for an exit status. */
interface PresetRow {
  readonly code: number;
  readonly enhanced: string;
  readonly text: string;
}

/**
 * <sysexits.h> as Postfix reads it: the DSN and text of each code from Postfix's
 * src/global/sys_exits.c (sys_exits_table); the class (4 defers, 5 bounces) is the DSN's
 * first digit, as in its sys_exits_softerror(). The SMTP code is ours (Postfix's pipe(8)
 * sends none): 451 for every 4.x.x, 550 where RFC 5321 4.2.3 says "mailbox unavailable" or
 * "not allowed" (5.1.x, 5.2.x, 5.7.x), 554 "transaction failed" for the rest.
 */
const SYSEXITS: ReadonlyMap<number, { readonly name: string; readonly enhanced: string; readonly text: string }> = new Map([
  [64, { name: 'EX_USAGE', enhanced: '5.3.0', text: 'command line usage error' }],
  [65, { name: 'EX_DATAERR', enhanced: '5.6.0', text: 'data format error' }],
  [66, { name: 'EX_NOINPUT', enhanced: '5.3.0', text: 'cannot open input' }],
  [67, { name: 'EX_NOUSER', enhanced: '5.1.1', text: 'user unknown' }],
  [68, { name: 'EX_NOHOST', enhanced: '5.1.2', text: 'host name unknown' }],
  [69, { name: 'EX_UNAVAILABLE', enhanced: '5.3.0', text: 'service unavailable' }],
  [70, { name: 'EX_SOFTWARE', enhanced: '5.3.0', text: 'internal software error' }],
  [71, { name: 'EX_OSERR', enhanced: '4.3.0', text: 'system resource problem' }],
  [72, { name: 'EX_OSFILE', enhanced: '5.3.0', text: 'critical OS file missing' }],
  [73, { name: 'EX_CANTCREAT', enhanced: '5.2.0', text: 'can\'t create user output file' }],
  [74, { name: 'EX_IOERR', enhanced: '5.3.0', text: 'input/output error' }],
  [75, { name: 'EX_TEMPFAIL', enhanced: '4.3.0', text: 'temporary failure' }],
  [76, { name: 'EX_PROTOCOL', enhanced: '5.5.0', text: 'remote error in protocol' }],
  [77, { name: 'EX_NOPERM', enhanced: '5.7.0', text: 'permission denied' }],
  [78, { name: 'EX_CONFIG', enhanced: '5.3.5', text: 'local configuration error' }],
]);

function smtpCode(enhanced: string): number {
  if (enhanced.startsWith('4.')) return 451;
  return /^5\.[127]\./.test(enhanced) ? 550 : 554;
}

/** The row of a failed exit (non-zero, not in the `code` map) under each preset. */
function presetRow(preset: ExitCodePreset, status: number): PresetRow {
  const gave = `pipe transport gave exit status ${status}`;
  switch (preset) {
    case 'momentum':
      // Momentum's pipe_transport: anything unmapped is a permanent 504.
      return { code: 504, enhanced: '5.5.0', text: gave };
    case 'sysexits': {
      const row = SYSEXITS.get(status);
      // Postfix's pipe_command() bounces a status outside the table, DSN 5.3.0, "unknown
      // mail system error N" (sys_exits_fake): permanent, as there.
      if (row === undefined) return { code: 554, enhanced: '5.3.0', text: `unknown mail system error (${gave})` };
      return { code: smtpCode(row.enhanced), enhanced: row.enhanced, text: `${row.text} (${gave}, ${row.name})` };
    }
    case 'qmail':
      // qmail-local's mailprogram(): 100 and 64, 65, 70, 76, 77, 78, 112 are hard errors;
      // every other non-zero status but 99 is soft (qmail-command(8)).
      return QMAIL_HARD.has(status)
        ? { code: 554, enhanced: '5.3.0', text: `permanent failure (${gave})` }
        : { code: 451, enhanced: '4.3.0', text: `temporary failure (${gave})` };
  }
}

const QMAIL_HARD: ReadonlySet<number> = new Set([100, 64, 65, 70, 76, 77, 78, 112]);

/** Statuses a preset takes as success: 0 always; qmail's 99 ("delivered, stop here") too. */
function isSuccess(preset: ExitCodePreset, status: number): boolean {
  return status === 0 || (preset === 'qmail' && status === 99);
}

/**
 * The reply to a program that exited with `exitCode`: the `code` map's entry if there is
 * one, else the preset's. `statusLine` is the program's first output line that began with
 * an enhanced status code (reply_from_output), or null: it replaces the text and the
 * enhanced code of a 4xx or 5xx reply of its own class, and never anything else (a failed
 * program cannot turn its reply into a 2xx, nor a hard failure into a soft one).
 */
export function replyForExit(policy: ExitReplyPolicy, exitCode: number, queueId: string, statusLine: string | null = null): SmtpReply {
  const mapped = policy.codes.get(exitCode);
  const base: SmtpReply =
    mapped ??
    (isSuccess(policy.exitCodes, exitCode)
      ? { code: 250, text: `2.0.0 Ok: queued as ${queueId}` }
      : toReply(presetRow(policy.exitCodes, exitCode)));
  if (statusLine === null || exitCode === 0) return base;
  return withStatusLine(base, statusLine) ?? base;
}

function toReply(row: PresetRow): SmtpReply {
  return { code: row.code, text: `${row.enhanced} ${row.text}` };
}

/** The longest text taken from a program's line, after cleaning (the line may be any length). */
export const STATUS_TEXT_MAX = 200;

/**
 * RFC 3463 section 2: class "." subject "." detail, subject and detail 1-3 digits without
 * a leading zero, then the text after one or more spaces (or nothing).
 */
const STATUS_LINE = /^([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})(?:[ \t]+(.*))?$/s;

/**
 * The reply with the line's enhanced code and text, or null when the line does not apply:
 * not a status line, class 2, or a class that differs from the reply's (4 vs 5).
 * Its text is cut to printable ASCII: every other character (controls, CR, DEL, anything
 * non-ASCII) becomes "?", so nothing the program writes can end the reply line early or
 * add one (CR LF injection); then capped at STATUS_TEXT_MAX.
 */
function withStatusLine(base: SmtpReply, line: string): SmtpReply | null {
  const match = STATUS_LINE.exec(line.replace(/\r$/, ''));
  if (match === null) return null;
  const [, klass, subject, detail, rest] = match;
  const replyClass = String(base.code).charAt(0);
  if (klass === '2' || klass !== replyClass || (replyClass !== '4' && replyClass !== '5')) return null;
  const text = cleanText(rest ?? '');
  const words = text === '' ? base.text.replace(/^[245]\.\d+\.\d+ ?/, '') : text;
  return { code: base.code, text: `${klass}.${subject}.${detail} ${words}`.trimEnd() };
}

function cleanText(text: string): string {
  let out = '';
  for (const ch of text) {
    if (out.length >= STATUS_TEXT_MAX) break;
    out += ch === '\t' ? ' ' : ch >= ' ' && ch <= '~' ? ch : '?';
  }
  return out.trim();
}
