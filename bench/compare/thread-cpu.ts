// CPU time per thread of a server process from /proc/PID/task/TID/stat, and the time of the
// children it reaped (cutime + cstime of /proc/PID/stat): the raw material of the cpu
// scenario. Reads only; the arithmetic on two snapshots is in cpu-costs.ts (pure).

import { readdir, readFile, readlink } from 'node:fs/promises';
import { parseProcStat, readProcessTable } from './measure.js';

export interface TaskTicks {
  readonly tid: number;
  /** /proc/PID/task/TID/comm: "smtpipe" for the main thread, libuv's "libuv-worker", ... */
  readonly comm: string;
  /** utime + stime of this thread, clock ticks. */
  readonly ticks: number;
}

export interface ProcessTicks {
  readonly pid: number;
  /** utime + stime of the whole process: live threads and those that exited. */
  readonly ownTicks: number;
  /** cutime + cstime: children reaped (by any of its threads), clock ticks. */
  readonly reapedTicks: number;
  readonly tasks: readonly TaskTicks[];
}

/** One process's figures now; null when it is gone. */
export async function readProcessTicks(pid: number): Promise<ProcessTicks | null> {
  let stat;
  try {
    stat = parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
  if (stat === null) return null;
  const tasks: TaskTicks[] = [];
  let tids: string[] = [];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  await Promise.all(
    tids.map(async (tid) => {
      try {
        const task = parseProcStat(await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
        if (task) tasks.push({ tid: task.pid, comm: task.comm, ticks: task.ownTicks });
      } catch {
        // The thread exited between readdir and readFile: its time is in the process's own ticks.
      }
    }),
  );
  tasks.sort((a, b) => a.tid - b.tid);
  return { pid, ownTicks: stat.ownTicks, reapedTicks: stat.reapedTicks, tasks };
}

/**
 * The front ends of a multi-process daemon: the daemon's children that run the same
 * executable as it does (node), not the programs it runs (/bin/cat & co). [] with one
 * process (its own programs are not node).
 */
export async function findFrontEnds(daemonPid: number): Promise<number[]> {
  let daemonExe: string;
  try {
    daemonExe = await readlink(`/proc/${daemonPid}/exe`);
  } catch {
    return [];
  }
  const children = [...(await readProcessTable()).values()].filter((p) => p.ppid === daemonPid);
  const found: number[] = [];
  for (const child of children) {
    try {
      if ((await readlink(`/proc/${child.pid}/exe`)) === daemonExe) found.push(child.pid);
    } catch {
      // Gone already: not a front end worth measuring.
    }
  }
  return found.sort((a, b) => a - b);
}

/** Every listed process at once (a vanished one is left out). */
export async function readAllTicks(pids: readonly number[]): Promise<ProcessTicks[]> {
  const all = await Promise.all(pids.map(readProcessTicks));
  return all.filter((p): p is ProcessTicks => p !== null);
}

/** The whole machine's CPU from the first line of /proc/stat, clock ticks. */
export interface SystemTicks {
  /** user + nice + system + irq + softirq + steal (guest is inside user). */
  readonly busy: number;
  readonly atMs: number;
}

export async function readSystemTicks(): Promise<SystemTicks | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
    const [label, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/);
    if (label !== 'cpu') return null;
    const busy = [user, nice, system, irq, softirq, steal].reduce((sum, v) => sum + Number(v ?? 0), 0);
    return Number.isFinite(busy) ? { busy, atMs: performance.now() } : null;
  } catch {
    return null;
  }
}
