// What tests can see of processes through /proc: a process's state and parent, waiting for
// one that is not our child to die, and our own children (running or zombie).
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** State letter (R, S, Z...) and parent pid of a process, or null once it is gone. */
export function procStat(pid: number): { state: string; ppid: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null; // Handled: no /proc entry means the process is gone.
  }
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state, ppid: Number(ppid) };
}

/**
 * Waits until a process that is not our child is dead: gone, or a zombie waiting for its
 * new parent. There is no event for that, so this polls, with a deadline.
 */
export async function awaitDeath(pid: number, deadlineMs = 3_000): Promise<boolean> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const stat = procStat(pid);
    if (stat === null || stat.state === 'Z') return true;
    if (performance.now() > end) return false;
    await sleep(10);
  }
}

/** Children of this process (of any of its threads), zombies included: "pid state". */
export function childrenOfThisProcess(): string[] {
  const children: string[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    const stat = Number.isInteger(pid) ? procStat(pid) : null;
    if (stat !== null && stat.ppid === process.pid) children.push(`${pid} ${stat.state}`);
  }
  return children;
}

export interface ProcStat {
  readonly pid: number;
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly comm: string;
}

/** Every process of the machine, from /proc/<pid>/stat (what `ps -eo pid,ppid,pgid,stat,comm` shows). */
export function allProcesses(): ProcStat[] {
  const list: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // Handled: the process ended between readdir and read.
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const [state = '?', ppid, pgrp] = stat.slice(close + 2).split(' ');
    list.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close), state, ppid: Number(ppid), pgrp: Number(pgrp) });
  }
  return list;
}
