// The one list of refusal reasons: every reply that turns a client, command or message
// away before a program runs is one (stage, reason) pair here, logged and counted in
// smtpipe_refusals_total (src/ops/metrics.ts). Pure data: adding a reason is one line.

/** Where in the session the refusal happened (RFC 5321 command, or the accept). */
export type RefusalStage = 'connect' | 'helo' | 'auth' | 'mail' | 'rcpt' | 'data';

/**
 * Each reason and the stages it can happen at. The metric's label values are exactly these
 * pairs (bounded, all present at 0 from start-up). Reasons not wired yet on this branch
 * (access-denied, tls-required, auth-*, mail-loop) belong to other issue 15 items.
 */
export const REFUSAL_REASONS = {
  // connect: the socket is answered (or closed) before the greeting
  'shutting-down': ['connect', 'mail'],
  'listener-sessions': ['connect'],
  'client-sessions': ['connect'],
  'fd-budget': ['connect'],
  'untrusted-proxy': ['connect'],
  'connection-throttle': ['connect'],
  'access-denied': ['connect'],
  // HELO/EHLO
  'helo-syntax': ['helo'],
  // AUTH (RFC 4954)
  'auth-failed': ['auth'],
  // MAIL FROM
  'session-messages': ['mail'],
  'bad-parameter': ['mail', 'rcpt'],
  'message-throttle': ['mail'],
  'client-certificate': ['mail'],
  'tls-required': ['mail'],
  'auth-required': ['mail'],
  'bad-address': ['mail', 'rcpt'],
  size: ['mail', 'data'],
  // RCPT TO
  'too-many-recipients': ['rcpt'],
  'session-recipients': ['rcpt'],
  'relaying-denied': ['rcpt'],
  'other-transport': ['rcpt'],
  'one-recipient': ['rcpt'],
  'args-too-big': ['rcpt'],
  'recipient-check': ['rcpt'],
  // after DATA, before a program runs
  'mail-loop': ['data'],
  /** A refusal whose reply carries no reason: counted, so a missed one shows up. */
  other: ['connect', 'helo', 'auth', 'mail', 'rcpt', 'data'],
} as const satisfies Record<string, readonly RefusalStage[]>;

export type RefusalReason = keyof typeof REFUSAL_REASONS;

/** Every (stage, reason) pair the metric may carry. */
export function refusalLabelPairs(): Array<{ stage: RefusalStage; reason: RefusalReason }> {
  return Object.entries(REFUSAL_REASONS).flatMap(([reason, stages]) =>
    stages.map((stage) => ({ stage, reason: reason as RefusalReason })),
  );
}

/** A pair outside the table is counted as (stage, other): the label set stays bounded. */
export function refusalReasonAt(stage: RefusalStage, reason: RefusalReason | undefined): RefusalReason {
  if (reason === undefined) return 'other';
  return (REFUSAL_REASONS[reason] as readonly RefusalStage[]).includes(stage) ? reason : 'other';
}
