// Hardens the daemon process itself, once, from the main thread at start-up, through the
// native addon: not dumpable (a program running under the daemon's uid cannot read the
// daemon's environment, memory or open files through /proc) and a child subreaper (what
// programs leave behind comes back to the daemon, which ends it: orphan-reaper.ts). Logs
// what it could not do; decides nothing else.

import type { Logger } from 'pino';
import { loadSpawnAddon } from '../../native/addons.js';

export interface Hardening {
  /**
   * The addon's reapOrphan when the daemon became a child subreaper, else null. Once it is
   * one, orphans come to the daemon and must be reaped: hand this to the daemon.
   */
  readonly reapOrphan: ((pid: number) => number) | null;
}

export function hardenProcess(logger: Logger): Hardening {
  const loaded = loadSpawnAddon();
  if (!loaded.ok) {
    logger.warn(
      { reason: loaded.reason },
      'process hardening off (no native addon): programs running as smtpipe\'s user can read its environment and memory through /proc, and processes they leave behind are not ended',
    );
    return { reapOrphan: null };
  }
  const { addon } = loaded;
  const { dumpable, subreaper } = addon.hardenProcess();
  if (dumpable !== null) {
    logger.warn({ reason: dumpable }, 'PR_SET_DUMPABLE failed: programs running as smtpipe\'s user can read its environment and memory through /proc');
  }
  if (subreaper !== null) {
    logger.warn({ reason: subreaper }, 'PR_SET_CHILD_SUBREAPER failed: processes that programs leave behind are not ended');
  }
  logger.info({ dumpable: dumpable === null ? 'no' : 'yes', subreaper: subreaper === null }, 'process hardening');
  return { reapOrphan: subreaper === null ? (pid) => addon.reapOrphan(pid) : null };
}
