// Makes every refusal visible: one info log line (client, stage, reason, reply) and one
// count in smtpipe_refusals_total for each. The reasons are refusal-reasons.ts's; who
// refuses is the caller's. Log lines are bounded per client; the count never is.

import type { Logger } from 'pino';
import { canonicalIp } from './ip-address.js';
import { createRateThrottle } from './rate-throttle.js';
import { refusalReasonAt, type RefusalReason, type RefusalStage } from './refusal-reasons.js';
import { formatReply, type SmtpReply } from './reply.js';

/** What the metrics take (src/ops/metrics.ts). */
export interface RefusalObserver {
  refusal(stage: RefusalStage, reason: RefusalReason): void;
}

export interface RefusalDetail {
  /** The smtp-server session id, once there is a session. */
  readonly session?: string;
  /** Overrides the reply's own reason (one reply text may serve several). */
  readonly reason?: RefusalReason;
  /** A refusal that also says something about the setup is a warning, in its own words. */
  readonly level?: 'info' | 'warn';
  readonly message?: string;
  readonly fields?: Record<string, unknown>;
}

export interface Refusals {
  /** A refusal was sent (or a socket closed unanswered) at `stage`. */
  record(stage: RefusalStage, reply: SmtpReply, client: string | undefined, detail?: RefusalDetail): void;
}

/**
 * A flood of refused commands or connections from one address would be a flood of log
 * lines: each client address gets LOG_LINES_PER_CLIENT lines per LOG_WINDOW_SECONDS (the
 * bounded table of rate-throttle.ts); past it, its refusals are only counted.
 */
export const LOG_LINES_PER_CLIENT = 10;
export const LOG_WINDOW_SECONDS = 60;
const LOG_RATE = { count: LOG_LINES_PER_CLIENT, seconds: LOG_WINDOW_SECONDS };

export function createRefusals(logger: Logger, observer: RefusalObserver, listener: () => string): Refusals {
  const lines = createRateThrottle(() => performance.now(), 16_384);
  return {
    record(stage, reply, client, detail = {}) {
      const reason = refusalReasonAt(stage, detail.reason ?? reply.reason);
      observer.refusal(stage, reason);
      const key = client === undefined || client === '' ? '' : canonicalIp(client);
      if (!lines.take(key, LOG_RATE)) return;
      const line = { listener: listener(), client, session: detail.session, stage, reason, reply: formatReply(reply), ...detail.fields };
      logger[detail.level ?? 'info'](line, detail.message ?? `refused at ${stage}: ${reason}`);
    },
  };
}
