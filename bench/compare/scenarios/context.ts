// What every scenario gets from the orchestrator: the plan, a scratch directory removed at
// the end, the bench domain, and two ways to speak (progress on stderr, notes that end up
// in the report). Also SkipError: "cannot run here", as opposed to "ran and failed".

import type { Plan } from '../plan.js';

export interface BenchContext {
  readonly plan: Plan;
  /** A fresh temporary directory; run.ts removes it at the end. */
  readonly workDir: string;
  /** Recipient domain every system routes to its program. */
  readonly domain: string;
  /** The program every system runs per message. */
  readonly program: string;
  /** A line of progress on stderr. */
  log(text: string): void;
  /** A remark for the report's Notes (fairness, skips, failures). */
  note(text: string): void;
}

/** Thrown by a scenario that cannot run on this machine; recorded as skipped, with its message. */
export class SkipError extends Error {
  override readonly name = 'SkipError';
}

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
