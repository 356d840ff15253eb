// The per-session and per-transaction limits of a Listen and the ESMTP parameter checks:
// pure decisions (a reply, or null to go on) from counts the hooks keep. Counting and
// replying on the wire are session-hooks.ts's.

import type { ListenerConfig } from '../config/types.js';
import type { SmtpReply } from './reply.js';

export const REPLY_TOO_MANY_RECIPIENTS: SmtpReply = { code: 452, text: '4.5.3 too many recipients', reason: 'too-many-recipients' };
export const REPLY_SESSION_MESSAGES: SmtpReply = { code: 421, text: '4.7.0 too many messages in this session, reconnect', reason: 'session-messages' };
export const REPLY_SESSION_RECIPIENTS: SmtpReply = { code: 452, text: '4.5.3 too many recipients in this session', reason: 'session-recipients' };

export type SessionLimits = Pick<ListenerConfig, 'maxReceptionsPerConnection' | 'maxRecipientsPerMessage' | 'maxRecipientsPerConnection' | 'smtputf8'>;

/** ESMTP parameters we advertise support for (RFC 1870 SIZE, RFC 6152 BODY); RCPT has none. */
const MAIL_PARAMETERS = new Set(['SIZE', 'BODY']);
/** And RFC 6531 SMTPUTF8, where SMTP_Extensions lists it. */
const MAIL_PARAMETERS_UTF8 = new Set([...MAIL_PARAMETERS, 'SMTPUTF8']);
const NO_PARAMETERS = new Set<string>();

type Parameters = Record<string, unknown> | false | undefined;

/** RFC 5321 4.1.1.11: an unrecognized parameter gets 555; none reaches a program. */
function unknownParameter(args: Parameters, allowed: Set<string>): SmtpReply | null {
  if (!args) return null;
  const unknown = Object.keys(args).find((key) => !allowed.has(key));
  return unknown === undefined ? null : { code: 555, text: `5.5.4 unsupported parameter ${unknown.slice(0, 32).replace(/[^\x21-\x7e]/g, '?')}`, reason: 'bad-parameter' };
}

/** MAIL FROM, given the messages this session has received in full so far. */
export function mailRefusal(limits: SessionLimits, receptions: number, args: Parameters): SmtpReply | null {
  if (limits.maxReceptionsPerConnection > 0 && receptions >= limits.maxReceptionsPerConnection) return REPLY_SESSION_MESSAGES;
  return unknownParameter(args, limits.smtputf8 ? MAIL_PARAMETERS_UTF8 : MAIL_PARAMETERS);
}

/**
 * RCPT TO, given the RCPT commands of this transaction including this one, and the
 * recipients accepted on this session so far. Every RCPT counts, refused or repeated:
 * RFC 5321 4.5.3.1.8 and 4.5.3.1.10 speak of a limit on "the number of RCPT commands",
 * and counting only what was accepted would let a client send RCPTs without end. The
 * first past the limit and all later get 452.
 */
export function rcptRefusal(limits: SessionLimits, rcptCommands: number, sessionRecipients: number, args: Parameters): SmtpReply | null {
  if (rcptCommands > limits.maxRecipientsPerMessage) return REPLY_TOO_MANY_RECIPIENTS;
  const badParameter = unknownParameter(args, NO_PARAMETERS);
  if (badParameter) return badParameter;
  if (limits.maxRecipientsPerConnection > 0 && sessionRecipients >= limits.maxRecipientsPerConnection) return REPLY_SESSION_RECIPIENTS;
  return null;
}
