// What a delivery outcome means to the operator: the log level and message of its
// delivery line, and the program-run label of the metrics (null: no program ran).
// Pure; decided here once, for src/delivery/dispatcher.ts and src/ops/metrics.ts.

import type { DeliveryOutcome } from './outcome-reply.js';

/** smtpipe_program_runs_total's outcome label: low cardinality, stable for alerts. */
export const RUN_LABELS = ['ok', 'exit_nonzero', 'signal', 'timeout', 'spawn_error', 'output_failed', 'pool_failed'] as const;
export type RunLabel = (typeof RUN_LABELS)[number];

export interface OutcomeClass {
  readonly level: 'info' | 'warn' | 'error';
  /** The delivery log line's message. */
  readonly message: string;
  /** The run it counts as in the metrics; null when no program was started for it. */
  readonly run: RunLabel | null;
}

/** errno codes that mean "the machine is short of something", not "the config is wrong". */
const RESOURCE_SHORTAGE = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM', 'ENOSPC']);

export function classifyOutcome(outcome: DeliveryOutcome): OutcomeClass {
  switch (outcome.kind) {
    case 'exited':
      return { level: 'info', message: 'delivery', run: outcome.exitCode === 0 ? 'ok' : 'exit_nonzero' };
    case 'signaled':
      return { level: 'info', message: 'delivery', run: 'signal' };
    case 'timed-out':
      return { level: 'info', message: 'delivery', run: 'timeout' };
    case 'spawn-failed':
      // RCPT refuses what would not fit (exec-size.ts); E2BIG means a machine with less room.
      if (outcome.errorCode === 'E2BIG') return { level: 'warn', message: 'delivery failed: argument list too long', run: 'spawn_error' };
      return { ...setupFailure(outcome.errorCode), run: 'spawn_error' };
    case 'output-failed':
      return { ...setupFailure(outcome.errorCode), run: 'output_failed' };
    case 'content-rejected':
      return { level: 'info', message: 'delivery refused: bare CR or LF in content', run: null };
    case 'loop-detected':
      return { level: 'info', message: 'delivery refused: mail loop', run: null };
    case 'pool-busy':
      return { level: 'info', message: 'delivery', run: null };
    case 'pool-failed':
      return { level: 'error', message: 'delivery failed: worker error', run: 'pool_failed' };
    case 'spool-failed':
      return { level: 'warn', message: 'delivery refused: spool file failed', run: null };
    case 'client-gone':
      return { level: 'info', message: 'delivery dropped: client left before the program started', run: null };
  }
}

function setupFailure(errorCode: string): Pick<OutcomeClass, 'level' | 'message'> {
  return RESOURCE_SHORTAGE.has(errorCode)
    ? { level: 'warn', message: 'delivery failed: resource shortage' }
    : { level: 'error', message: 'delivery failed: configuration fault' };
}
