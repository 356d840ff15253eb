// What one transaction tells the program: argv macros and environment.
// Pure; the names follow Postfix pipe(8) (macros) and Exim/qmail/local(8) (env).

import type { TransportConfig } from '../config/types.js';
import { splitAddress } from '../routing/router.js';

export interface Envelope {
  readonly queueId: string;
  /** MAIL FROM address, '' for the null sender <>. */
  readonly sender: string;
  /** RCPT TO addresses in the order accepted; at least one. */
  readonly recipients: readonly string[];
  readonly clientAddress: string;
  readonly clientHelo: string;
  /** Message size in bytes as received. */
  readonly size: number;
  readonly transport: string;
}

const PER_RECIPIENT_MACRO = /\$\{(recipient|local|domain)\}/;
const MACRO = /\$\{([a-z_]+)\}/g;

/** True when argv names one recipient, so a transaction may carry only one. */
export function usesPerRecipientMacro(argvTemplate: readonly string[]): boolean {
  return argvTemplate.some((arg) => PER_RECIPIENT_MACRO.test(arg));
}

function macroValues(envelope: Envelope): Record<string, string> {
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
 * Expands argv[1..]. An argument that is exactly `${recipients}` becomes one
 * argument per recipient; elsewhere a macro is replaced in place. Unknown macros
 * cannot occur (the config loader rejects them).
 *
 * Defence in depth against option injection: addresses beginning with "-" are refused
 * at MAIL/RCPT (address.ts), HELO must be a domain or an address literal
 * (src/smtp/helo-syntax.ts) and client_address is an IP; whatever slips past those,
 * an option that the template did not write is reported here, never passed on.
 */
export function expandArguments(argvTemplate: readonly string[], envelope: Envelope): ExpandedArguments {
  // Built only when an argument holds a macro: most programs take none, on every message.
  let values: Record<string, string> | undefined;
  const args: string[] = [];
  let injectedOption: ExpandedArguments['injectedOption'] = null;
  for (let i = 1; i < argvTemplate.length; i++) {
    const arg = argvTemplate[i] as string;
    const first = args.length;
    // One push per recipient: a spread of a huge list would overflow the call stack.
    if (arg === '${recipients}') for (const recipient of envelope.recipients) args.push(recipient);
    else if (arg.includes('${')) {
      values ??= macroValues(envelope);
      const known = values;
      args.push(arg.replace(MACRO, (whole, name: string) => known[name] ?? whole));
    } else args.push(arg);
    if (injectedOption === null && !arg.startsWith('-')) {
      for (let j = first; j < args.length; j++) {
        if ((args[j] as string).startsWith('-')) {
          injectedOption = { index: j + 1, template: arg };
          break;
        }
      }
    }
  }
  return { args, injectedOption };
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The program's whole environment: nothing of the daemon's own is inherited. */
export function programEnvironment(transport: TransportConfig, envelope: Envelope): Record<string, string> {
  const first = envelope.recipients[0] ?? '';
  const { local, domain } = splitAddress(first);
  return {
    PATH: DEFAULT_PATH,
    ...transport.env,
    SENDER: envelope.sender,
    RECIPIENT: first,
    RECIPIENTS: envelope.recipients.join('\n'),
    DOMAIN: domain,
    LOCAL: local,
    QUEUE_ID: envelope.queueId,
    CLIENT_ADDRESS: envelope.clientAddress,
    CLIENT_HELO: envelope.clientHelo,
    SIZE: String(envelope.size),
    TRANSPORT: envelope.transport,
  };
}
