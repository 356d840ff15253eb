// The daemon's exit statuses (sysexits.h) and the two mappings every way of running it
// shares: the single process (cli.ts), the primary and the front ends of Processes > 1.

import type { StopResult } from './shutdown.js';

export const EXIT_OK = 0;
/** A stop that had to be forced (a second signal, or Shutdown_Timeout passed). */
export const EXIT_FORCED = 1;
export const EXIT_USAGE = 64;
export const EXIT_SOFTWARE = 70;
export const EXIT_CONFIG = 78;

/** How a stop ended, as an exit status. */
export function exitForStop(outcome: StopResult): number {
  return outcome === 'graceful' ? EXIT_OK : EXIT_FORCED;
}

/** A failed start: the host not matching the configuration (an unusable spool) is EX_CONFIG, as for --check. */
export function exitForStartFailure(error: unknown): number {
  return (error as { code?: unknown } | null)?.code === 'ERR_SPOOL_UNUSABLE' ? EXIT_CONFIG : EXIT_SOFTWARE;
}
