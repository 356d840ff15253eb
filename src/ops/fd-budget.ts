// How many SMTP sessions the whole process may hold so that running out of file
// descriptors refuses new sessions (421) instead of failing the deliveries of the ones
// already accepted (EMFILE at spawn). A session counts from accept (src/smtp/
// session-admission.ts), so TLS handshakes and PROXY waits are inside the budget. Reads /proc once at start-up (a reload re-sizes from
// those figures); counting is in memory.

import { readdirSync, readFileSync } from 'node:fs';

/** What one running program costs the daemon: stdin socket, output and error files, slack. */
export const FDS_PER_PROGRAM = 4;
/** What one session may cost: its socket, and its message's spool file (src/message). */
export const FDS_PER_SESSION = 2;
/** Logs, accept churn, worker threads' own handles. */
export const FD_RESERVE = 16;

export interface SessionBudget {
  /** Takes a session slot; false when the process is at its limit. */
  tryOpen(): boolean;
  /** Gives back a slot taken by tryOpen. */
  close(): void;
  /** A reload changed how many programs may run: sessions open now keep their slots. */
  resize(limit: number): void;
  readonly limit: number;
}

/**
 * Pure: sessions that fit next to the descriptors in use, the programs that may run and
 * `reservedFds` held elsewhere (the metrics endpoint's connections).
 */
export function computeSessionLimit(openFileLimit: number, fdsInUse: number, maxConcurrentPrograms: number, reservedFds = 0): number {
  if (!Number.isFinite(openFileLimit)) return Number.MAX_SAFE_INTEGER;
  const free = openFileLimit - fdsInUse - maxConcurrentPrograms * FDS_PER_PROGRAM - FD_RESERVE - reservedFds;
  return Math.max(1, Math.floor(free / FDS_PER_SESSION));
}

/** RLIMIT_NOFILE's soft limit and the descriptors open now (Linux /proc). */
export function readFdUsage(): { openFileLimit: number; fdsInUse: number } {
  const limits = readFileSync('/proc/self/limits', 'latin1');
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  const openFileLimit = soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
  return { openFileLimit, fdsInUse: readdirSync('/proc/self/fd').length };
}

export function createSessionBudget(limit: number): SessionBudget {
  let open = 0;
  return {
    get limit() {
      return limit;
    },
    resize(next) {
      limit = next;
    },
    tryOpen() {
      if (open >= limit) return false;
      open += 1;
      return true;
    },
    close() {
      open = Math.max(0, open - 1);
    },
  };
}
