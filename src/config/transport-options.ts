// The options of pipe_transport, one row each: reader, default, printer and doc line:
// every option of Momentum's pipe_transport plus smtpipe's own (timeout, concurrency, eol,
// headers, env, modes, privileges). The readers are in transport-values.ts; nothing here
// runs or expands anything, nor looks at the host (accounts.ts resolves user and group).

import { count, defineOptions, flag, octal, quote, quotedList, seconds, whole, wholeSeconds } from './option-table.js';
import {
  DEV_NULL,
  readAbsolutePath,
  readAccount,
  readCodes,
  readDirectory,
  readDomains,
  readEnv,
  readEol,
  readProgram,
  type WrittenDomain,
  type WrittenProgram,
} from './transport-values.js';
import { readExitCodePreset, readReplyFromOutput } from './exit-values.js';
import { readRecipientCheck } from './recipient-check.js';
import type { ExitCodePreset, ParsedTransport } from './types.js';
import { readOctalMode } from './values.js';

/**
 * What one pipe_transport says; null: not written and no default (see the row). The
 * ParsedTransport fields as they are, except program and domains, which are read as
 * written and compiled after (transport-schema.ts).
 */
export interface TransportOptions extends Omit<ParsedTransport, 'name' | 'programName' | 'program' | 'domains' | 'position' | 'exitCodes' | 'places'> {
  readonly program: WrittenProgram | null;
  /** null: not written, the global Exit_Codes applies (schema.ts). */
  readonly exitCodes: ExitCodePreset | null;
  readonly domains: readonly WrittenDomain[] | null;
}

/** Output files: owner read/write only, like qmail and Postfix logs. */
const FILE_MODE = '0600';

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
    doc: '`[ "0" = "250 ok" 100 = "550 command failed" ]`: exit status -> whole reply line, sent verbatim. Unmapped: as `exit_codes` says',
    read: readCodes,
    print: (t) => `[${[...t.codes].map(([status, r]) => ` ${quote(String(status))} = ${quote(`${r.code} ${r.text}`)}`).join('')} ]`,
  },
  exitCodes: {
    name: 'exit_codes',
    type: '"momentum", "sysexits" or "qmail"',
    defaultDoc: 'the global `Exit_Codes`',
    doc: 'how exit statuses without a `code` entry become replies: `"momentum"` (0 ok, others `504 5.5.0`), `"sysexits"` (<sysexits.h> as Postfix pipe(8): 75 `451 4.3.0`, 67 `550 5.1.1`...), `"qmail"` (100 hard, 111 and others soft); tables in the README',
    read: readExitCodePreset,
    print: (t) => quote(t.exitCodes),
  },
  replyFromOutput: {
    name: 'reply_from_output',
    type: '"none", "stdout" or "stderr"',
    default: '"none"',
    doc: 'on a non-zero exit, the first line of that stream that starts with an enhanced status code (`5.1.1 No such queue`) words the reply, within the class the exit decided; printable ASCII, 200 characters at most. Not with `output_file` (stdout) or `error_file` (stderr) set',
    read: readReplyFromOutput,
    print: (t) => quote(t.replyFromOutput),
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
    doc: 'prepend one `Delivered-To:` per recipient; a message that already holds one naming its recipient is a mail loop (`554 5.4.6`, see docs/operations.md, "Mail loops")',
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
  recipientCheck: {
    name: 'recipient_check',
    type: 'command line',
    defaultDoc: 'none',
    doc: 'a program run at RCPT for each recipient, as `program_name` (same user, group, directory, umask, env; stdin empty; stderr to `error_file`) but without `${queue_id}`, `${size}`, `${recipients}`: exit 0 accepts (`250 2.1.5`), others take the `code` entry (4xx/5xx) or `550 5.1.1`; timeout, signal or no start: `451 4.3.0`. Results are kept for the session',
    read: readRecipientCheck,
    print: (t) => (t.recipientCheck === null ? null : quote(t.recipientCheck.text)),
  },
  recipientCheckTimeoutMs: {
    name: 'recipient_check_timeout',
    ...seconds({ min: 1 }),
    default: '10',
    doc: 'then SIGTERM to the check\'s group, SIGKILL 2 s later, and `451 4.3.0` for that RCPT',
    print: (t) => wholeSeconds(t.recipientCheckTimeoutMs),
  },
  recipientCheckConcurrency: {
    name: 'recipient_check_concurrency',
    ...count({ min: 1 }),
    default: '4',
    doc: 'checks of this transport running at once, apart from its deliveries\' `concurrency`; more RCPTs wait (at most `Pool_Max_Queue` of them, then `451 4.3.2`)',
    print: (t) => whole(t.recipientCheckConcurrency),
  },
});
