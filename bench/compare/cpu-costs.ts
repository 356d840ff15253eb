// CPU per message from two /proc snapshots of a server (thread-cpu.ts): its main threads,
// pool workers, other threads and reaped programs, and the ratios the report gives. Pure:
// snapshots and counts in, microseconds out.

import type { ProcessTicks } from './thread-cpu.js';

/** One server's CPU over a measured window, per message, microseconds. */
export interface CpuPerMessage {
  /** Main threads (TID == PID), summed over the front ends. */
  readonly mainUs: number;
  /** Threads named like the main thread, when it renamed itself (smtpipe: its pool's workers). */
  readonly workerUs: number;
  /** Every other thread (V8 platform, libuv pool, threads that exited meanwhile). */
  readonly otherThreadsUs: number;
  /** Children reaped by the front ends (the programs): cutime + cstime. */
  readonly programUs: number;
  /** A cluster primary's own CPU (all its threads); 0 with one process. */
  readonly primaryUs: number;
  /** Front-end processes measured. */
  readonly processes: number;
}

export interface TicksWindow {
  /** The front ends (the daemon itself with one process), before and after, matched by pid. */
  readonly before: readonly ProcessTicks[];
  readonly after: readonly ProcessTicks[];
  /** A cluster primary, when there is one. */
  readonly primaryBefore: ProcessTicks | null;
  readonly primaryAfter: ProcessTicks | null;
  readonly messages: number;
  readonly clockTicksPerSecond: number;
  /**
   * Split out the pool's workers as the threads named like the main thread. smtpipe sets
   * process.title before it starts its pool, so its workers inherit the main thread's name
   * ("smtpipe") while Node's own threads, started earlier, keep "node". false (the bare
   * sink, which keeps "node" everywhere): every non-main thread is "other".
   */
  readonly splitWorkers: boolean;
}

interface Split {
  main: number;
  workers: number;
  other: number;
  reaped: number;
  own: number;
}

/** One process's ticks split by thread kind; `other` is what is left of the process's own ticks. */
export function splitTicks(p: ProcessTicks, splitWorkers: boolean): Split {
  const mainTask = p.tasks.find((t) => t.tid === p.pid);
  const main = mainTask?.ticks ?? 0;
  // Unrenamed, every thread is "node": nothing tells the workers apart.
  const workerComm = splitWorkers && mainTask !== undefined && mainTask.comm !== 'node' ? mainTask.comm : null;
  const workers = p.tasks.filter((t) => t.tid !== p.pid && t.comm === workerComm).reduce((sum, t) => sum + t.ticks, 0);
  return { main, workers, other: p.ownTicks - main - workers, reaped: p.reapedTicks, own: p.ownTicks };
}

const ZERO: Split = { main: 0, workers: 0, other: 0, reaped: 0, own: 0 };

function delta(before: Split, after: Split): Split {
  return {
    main: after.main - before.main,
    workers: after.workers - before.workers,
    other: after.other - before.other,
    reaped: after.reaped - before.reaped,
    own: after.own - before.own,
  };
}

/**
 * Per message over the window. A front end present only after (started meanwhile) counts
 * from zero; one gone after is left out (its time went to the primary's reaped ticks).
 * A worker thread that exits moves its ticks from `workers` to `other`: the total stays right.
 */
export function cpuPerMessage(w: TicksWindow): CpuPerMessage {
  if (w.messages <= 0) throw new Error(`bug: cpuPerMessage needs messages > 0, got ${w.messages}`);
  const sum: Split = { ...ZERO };
  for (const after of w.after) {
    const before = w.before.find((b) => b.pid === after.pid);
    const d = delta(before ? splitTicks(before, w.splitWorkers) : ZERO, splitTicks(after, w.splitWorkers));
    sum.main += d.main;
    sum.workers += d.workers;
    sum.other += d.other;
    sum.reaped += d.reaped;
  }
  const primary = w.primaryBefore && w.primaryAfter ? delta(splitTicks(w.primaryBefore, w.splitWorkers), splitTicks(w.primaryAfter, w.splitWorkers)) : ZERO;
  const us = (ticks: number) => (ticks * 1e6) / w.clockTicksPerSecond / w.messages;
  return {
    mainUs: us(sum.main),
    workerUs: us(sum.workers),
    otherThreadsUs: us(sum.other),
    // Front ends that exited are reaped by the primary: their programs' time is in there too.
    programUs: us(sum.reaped),
    primaryUs: us(primary.own),
    processes: w.after.length,
  };
}

/**
 * Each front end's main thread busy over the window, % of one core, by pid: how near each
 * event loop is to its limit (100 %). A front end missing before counts from zero.
 */
export function mainBusyPct(before: readonly ProcessTicks[], after: readonly ProcessTicks[], seconds: number, clockTicksPerSecond: number): number[] {
  if (!(seconds > 0)) return after.map(() => 0);
  const main = (p: ProcessTicks | undefined) => p?.tasks.find((t) => t.tid === p.pid)?.ticks ?? 0;
  return after.map((a) => (100 * (main(a) - main(before.find((b) => b.pid === a.pid)))) / clockTicksPerSecond / seconds);
}

/** All of it: threads, programs and the primary. */
export function totalCpuUs(c: CpuPerMessage): number {
  return c.mainUs + c.workerUs + c.otherThreadsUs + c.programUs + c.primaryUs;
}

/** a / b, or null when b is missing or not positive. */
export function ratio(a: number, b: number | null | undefined): number | null {
  return b === null || b === undefined || !(b > 0) ? null : a / b;
}
