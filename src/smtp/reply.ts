// The reply to one SMTP command as plain data, and its conversion into the rejection
// smtp-server understands. Texts carry their own RFC 3463 enhanced status code:
// smtp-server adds none (hideENHANCEDSTATUSCODES stays on), so none is ever doubled.

export interface SmtpReply {
  readonly code: number;
  /** Everything after the code, e.g. "4.3.0 pipe transport timed out". */
  readonly text: string;
}

export function formatReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.text}`;
}

/** smtp-server sends `${responseCode} ${message}` for a hook that fails with this. */
export function toRejection(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}
