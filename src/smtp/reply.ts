// The reply to one SMTP command as plain data, and its conversion into the rejection
// smtp-server understands. Texts carry their own RFC 3463 enhanced status code:
// smtp-server adds none (PipeServer sets hideENHANCEDSTATUSCODES), so none is ever
// doubled. formatReply is the one spelling of a reply line (logs, and the wire where we
// write it ourselves).

import type { RefusalReason } from './refusal-reasons.js';

export interface SmtpReply {
  readonly code: number;
  /** Everything after the code, e.g. "4.3.0 pipe transport timed out". */
  readonly text: string;
  /** Why a refusal refuses (refusal-reasons.ts): its log line and smtpipe_refusals_total say it. */
  readonly reason?: RefusalReason;
}

export function formatReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.text}`;
}

/** smtp-server sends `${responseCode} ${message}` for a hook that fails with this. */
export function toRejection(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}
