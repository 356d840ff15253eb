// Ends and reaps what programs leave behind. The daemon is a child subreaper (hardening.ts):
// a process whose parent dies (a program's setsid'd or double-forked descendant, or what a
// program left in its group when it exited) is reparented to the daemon instead of init,
// and the kernel gives it to the daemon's first live thread, the main thread
// (find_new_reaper() in kernel/exit.c). Programs are started by worker threads, never by
// the main thread; what the main thread starts itself (getent, through child_process)
// stays in the daemon's session, and the addon leaves those to libuv. So every other child
// of the main thread is an orphan, and only this module waits for it, by pid.
//
// When: an orphan is first seen by a sweep (every SWEEP_INTERVAL_MS). It is SIGKILLed,
// with every descendant (all stopped first) and the process groups they lead, at the
// first sweep at which every run that had started by then has ended. Its own run is one of those (the runs started later cannot be
// its ancestors), so it never dies while its program still runs: a helper that a program
// daemonizes for its own use (gpg-agent) lasts as long as that delivery. Dead orphans are
// reaped at every sweep, so none stays a zombie.

import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { RunWindow } from '../pool/pool.js';

/** How often the main thread's children are looked at; the guarantee in docs/security.md is in these. */
export const SWEEP_INTERVAL_MS = 200;

/** What the addon's reapOrphan returns for an orphan still running (native/addons.ts). */
const RUNNING = 0;

export interface OrphanReaper {
  /** Looks at the main thread's children now: reaps the dead, kills those whose runs ended. */
  sweep(): void;
  /** A last sweep (no run is left by then, so every orphan gets SIGKILL), then no more. */
  stop(): void;
}

interface Orphan {
  /** runs.started when it was first seen: it dies once runs up to this one have ended. */
  readonly lastPossibleRun: number;
  /** Set once a kill was refused (EPERM), so that it is logged once. */
  refused: boolean;
  killed: boolean;
}

export function createOrphanReaper(options: {
  /** The addon's reapOrphan: must be called from the main thread. */
  readonly reapOrphan: (pid: number) => number;
  readonly runs: RunWindow;
  readonly logger: Logger;
}): OrphanReaper {
  const { reapOrphan, runs, logger } = options;
  // The main thread's id is the process id.
  const childrenFile = `/proc/self/task/${process.pid}/children`;
  const orphans = new Map<number, Orphan>();
  let unreadable = false;

  const kill = (pid: number, orphan: Orphan): void => {
    const command = readCommand(pid);
    // The orphan and all it started, frozen first: killed one at a time, each generation
    // of a relay that forks on its parent's death would hand over to the next for ever.
    const tree = stopTree(pid);
    let failure: string | null = null;
    for (const member of tree) {
      // Both are safe by number: a stopped process keeps its pid, and so does one that
      // died since (a zombie its stopped parent cannot reap). ESRCH: leads no group.
      signal(-member, 'SIGKILL');
      const refused = signal(member, 'SIGKILL');
      if (member === pid) failure = refused;
    }
    if (failure === null) {
      if (!orphan.killed) logger.info({ pid, command, descendants: tree.length - 1 }, 'killed a process a program left behind');
      orphan.killed = true;
    } else if (!orphan.refused) {
      // A setuid program (procmail, sudo -u) left it: it is reaped when it exits.
      orphan.refused = true;
      logger.warn({ pid, command, error: failure }, 'could not kill a process a program left behind');
    }
  };

  const sweep = (): void => {
    const pids = readChildren(childrenFile);
    if (pids === null) {
      if (!unreadable) logger.error({ file: childrenFile }, 'cannot list the daemon\'s children: processes that programs leave behind are not ended');
      unreadable = true;
      return;
    }
    for (const pid of orphans.keys()) if (!pids.includes(pid)) orphans.delete(pid);
    for (const pid of pids) {
      const state = reapOrphan(pid);
      if (state !== RUNNING) {
        // Reaped now, not an orphan (started by us, in our session), or gone.
        orphans.delete(pid);
        continue;
      }
      let orphan = orphans.get(pid);
      if (orphan === undefined) {
        orphan = { lastPossibleRun: runs.started, refused: false, killed: false };
        orphans.set(pid, orphan);
      }
      const oldest = runs.oldestRunning;
      if (oldest === null || oldest > orphan.lastPossibleRun) kill(pid, orphan);
    }
  };

  const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
  // Orphans alone must not keep a stopping daemon alive.
  timer.unref();
  return {
    sweep,
    stop() {
      clearInterval(timer);
      sweep();
    },
  };
}

/** The pids in /proc/self/task/<tid>/children ("12 34 "), or null when it cannot be read. */
function readChildren(file: string): number[] | null {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return null; // Handled by the caller, which logs once: no /proc (or no CONFIG_PROC_CHILDREN).
  }
  return text.split(' ').filter((word) => word !== '').map(Number);
}

/** For the log line only; '' once it is gone. */
function readCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return ''; // Handled: the name is only informative.
  }
}

/**
 * `root` and every descendant, each SIGSTOPped before its children are read: a stopped
 * process forks no more, and its children's pids stay theirs (alive, or zombies it cannot
 * reap), so no number in the list can name a stranger. Passes repeat until one finds
 * nothing new (a fork the stop interrupted may show its child late). A process that
 * refuses the stop (setuid) is listed all the same.
 */
function stopTree(root: number): number[] {
  const seen = new Set<number>();
  for (let found = [root]; found.length > 0; ) {
    for (const pid of found) {
      seen.add(pid);
      signal(pid, 'SIGSTOP');
    }
    found = [...seen].flatMap(childrenOf).filter((pid) => !seen.has(pid));
  }
  return [...seen];
}

/** The children of every thread of `pid` (/proc/<pid>/task/<tid>/children); none once it is gone. */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // Handled: gone (or a zombie with no tasks left): no children to find.
  }
  return tasks.flatMap((tid) => readChildren(`/proc/${pid}/task/${tid}/children`) ?? []);
}

/** process.kill: null, or the error code. */
function signal(pid: number, name: 'SIGKILL' | 'SIGSTOP'): string | null {
  try {
    process.kill(pid, name);
    return null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'ERR_ORPHAN_KILL';
  }
}
