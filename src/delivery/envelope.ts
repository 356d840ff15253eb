// What one transaction tells the program: argv macros and environment.
// Pure; the names follow Postfix pipe(8) (macros) and Exim/qmail/local(8) (env).

import type { TransportConfig } from '../config/types.js';
import { formatArg, PROGRAM_MACROS, type ArgTemplate, type ProgramTemplate, type ValueMacro } from '../config/program-argv.js';
import { splitAddress } from './address.js';

export interface Envelope {
  readonly queueId: string;
  /** MAIL FROM address, '' for the null sender <>. */
  readonly sender: string;
  /** RCPT TO addresses in the order accepted; at least one. */
  readonly recipients: readonly string[];
  readonly clientAddress: string;
  readonly clientHelo: string;
  /** The user of a successful SMTP AUTH (RFC 4954), null without one: '' in ${auth_user} and AUTH_USER. */
  readonly authUser?: string | null;
  /** Message size in bytes as received. */
  readonly size: number;
  readonly transport: string;
}

/** The value of each macro of one transaction; `${recipients}` is the list itself. */
function macroValues(envelope: Envelope): Record<ValueMacro, string> {
  const first = envelope.recipients[0] ?? '';
  const { local, domain } = splitAddress(first);
  return {
    sender: envelope.sender,
    recipient: first,
    local,
    domain,
    queue_id: envelope.queueId,
    client_address: envelope.clientAddress,
    client_helo: envelope.clientHelo,
    auth_user: envelope.authUser ?? '',
    size: String(envelope.size),
    transport: envelope.transport,
  };
}

/** argv[1..] after expansion, and where client text would have begun an option. */
export interface ExpandedArguments {
  readonly args: string[];
  /**
   * The first argument that begins with "-" although its template argument does not:
   * the "-" came from a macro value (client text, or an empty value before the operator's
   * own "-"). Such an argv must not be run. null when there is none.
   */
  readonly injectedOption: { readonly index: number; readonly template: string } | null;
}

/**
 * Fills in the compiled argv[1..] (src/config/program-argv.ts): a `${recipients}`
 * argument becomes one argument per recipient; other macros are replaced in place.
 *
 * Defence in depth against option injection: addresses beginning with "-" are refused
 * at MAIL/RCPT (address.ts), HELO must be a domain or an address literal
 * (src/smtp/helo-syntax.ts) and client_address is an IP; whatever slips past those,
 * an option that the template did not write is reported here, never passed on.
 */
export function expandArguments(template: ProgramTemplate, envelope: Envelope): ExpandedArguments {
  // Built only when an argument holds a macro: most programs take none, on every message.
  let values: Record<ValueMacro, string> | undefined;
  const args: string[] = [];
  let injectedOption: ExpandedArguments['injectedOption'] = null;
  for (const arg of template.args) {
    const first = args.length;
    // One push per recipient: a spread of a huge list would overflow the call stack.
    if (arg.kind === 'recipients') for (const recipient of envelope.recipients) args.push(recipient);
    else if (arg.parts.length === 1 && arg.parts[0]?.kind === 'literal') args.push(arg.parts[0].text);
    else {
      values ??= macroValues(envelope);
      let text = '';
      for (const part of arg.parts) text += part.kind === 'literal' ? part.text : values[part.name];
      args.push(text);
    }
    if (injectedOption === null && !writesOption(arg)) {
      for (let j = first; j < args.length; j++) {
        if ((args[j] as string).startsWith('-')) {
          injectedOption = { index: j + 1, template: formatArg(arg) };
          break;
        }
      }
    }
  }
  return { args, injectedOption };
}

/** The operator wrote this argument as an option: it begins with a literal "-". */
function writesOption(arg: ArgTemplate): boolean {
  const head = arg.kind === 'parts' ? arg.parts[0] : undefined;
  return head?.kind === 'literal' && head.text.startsWith('-');
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * The program's whole environment: nothing of the daemon's own is inherited. Each macro
 * is also a variable of its name upper-cased (RECIPIENTS: one recipient per line).
 */
export function programEnvironment(transport: TransportConfig, envelope: Envelope): Record<string, string> {
  const values = macroValues(envelope);
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...transport.env };
  for (const name of PROGRAM_MACROS) {
    env[name.toUpperCase()] = name === 'recipients' ? envelope.recipients.join('\n') : values[name];
  }
  return env;
}
