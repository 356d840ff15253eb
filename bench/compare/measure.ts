// Server-side figures from /proc: the process tree under a server's main pid, its summed
// RSS (and PSS, which splits shared pages, fairer to multi-process servers such as Postfix)
// and its CPU time. Reads only; never signals or waits for a process.

import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import type { ServerUsage } from './types.js';

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime, clock ticks. */
  readonly ownTicks: number;
  /** cutime + cstime: children this process has reaped, clock ticks. */
  readonly reapedTicks: number;
  readonly rssPages: number;
  /** Start time since boot, clock ticks: with pid, identifies one process (pids are reused). */
  readonly startTicks: number;
}

/** Parses /proc/<pid>/stat (proc(5)); null when malformed. comm may hold spaces and ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const field = (n: number) => Number(rest[n - 3]);
  const stat = {
    pid: Number(text.slice(0, open).trim()),
    ppid: field(4),
    comm: text.slice(open + 1, close),
    ownTicks: field(14) + field(15),
    reapedTicks: field(16) + field(17),
    rssPages: field(24),
    startTicks: field(22),
  };
  return Object.values(stat).every((v) => typeof v === 'string' || Number.isFinite(v)) ? stat : null;
}

/** Every process's stat, by pid (threads are not listed: /proc shows thread groups). */
export async function readProcessTable(): Promise<Map<number, ProcStat>> {
  const table = new Map<number, ProcStat>();
  const entries = await readdir('/proc');
  await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        try {
          const stat = parseProcStat(await readFile(`/proc/${name}/stat`, 'utf8'));
          if (stat) table.set(stat.pid, stat);
        } catch {
          // The process exited between readdir and readFile: it is simply not in the table.
        }
      }),
  );
  return table;
}

/** rootPid and all its descendants present in the table, root first. */
export function treeOf(table: ReadonlyMap<number, ProcStat>, rootPid: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const stat of table.values()) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  const root = table.get(rootPid);
  if (!root) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get((tree[i] as ProcStat).pid) ?? []));
  return tree;
}

export interface TreeSnapshot {
  readonly atMs: number;
  readonly rootTicks: number;
  /**
   * Sum over live tree members of own + reaped ticks. A member that exits is reaped by
   * its parent (a tree member too), so its whole CPU moves into the parent's reaped
   * ticks: differences between two snapshots count the CPU spent in between.
   */
  readonly treeTicks: number;
  readonly rssBytes: number;
  readonly pids: readonly number[];
}

let systemUnits: { clockTicksPerSecond: number; pageBytes: number } | null = null;

/** Asked once, on first use (importing this module runs nothing). */
function units(): { clockTicksPerSecond: number; pageBytes: number } {
  systemUnits ??= { clockTicksPerSecond: getconf('CLK_TCK', 100), pageBytes: getconf('PAGESIZE', 4096) };
  return systemUnits;
}

/** getconf CLK_TCK: the unit of every tick count in /proc/PID/stat. */
export function clockTicksPerSecond(): number {
  return units().clockTicksPerSecond;
}

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

export async function snapshotTree(rootPid: number): Promise<TreeSnapshot> {
  const tree = treeOf(await readProcessTable(), rootPid);
  const { pageBytes } = units();
  return {
    atMs: performance.now(),
    rootTicks: tree[0]?.ownTicks ?? 0,
    treeTicks: tree.reduce((sum, p) => sum + p.ownTicks + p.reapedTicks, 0),
    rssBytes: tree.reduce((sum, p) => sum + p.rssPages * pageBytes, 0),
    pids: tree.map((p) => p.pid),
  };
}

/** Summed Pss of the given processes (smaps_rollup), bytes; vanished processes count 0. */
export async function pssBytes(pids: readonly number[]): Promise<number> {
  const sizes = await Promise.all(
    pids.map(async (pid) => {
      try {
        const match = /^Pss:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
        return match ? Number(match[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** Processes named `comm` in the tree under rootPid (e.g. the held `sleep` programs). */
export async function countInTree(rootPid: number, comm: string): Promise<number> {
  return treeOf(await readProcessTable(), rootPid).filter((p) => p.comm === comm).length;
}

export interface UsageSampler {
  /** The figures from the start until now; sampling goes on. */
  now(): Promise<ServerUsage>;
  /** Stops sampling and returns the figures for the whole window. */
  stop(): Promise<ServerUsage>;
}

/**
 * Samples the tree every intervalMs (PSS every pssEvery-th sample: smaps_rollup walks page
 * tables and costs the machine more than stat). CPU is the difference between the first
 * and the latest snapshot.
 */
export async function startUsageSampler(rootPid: number, intervalMs = 250, pssEvery = 4): Promise<UsageSampler> {
  const first = await snapshotTree(rootPid);
  let peakRss = first.rssBytes;
  let peakPss = await pssBytes(first.pids);
  let samples = 0;
  let busy = false;
  // The last snapshot that still found the root: a server that died mid-run keeps its CPU.
  let lastGood = first;
  const take = async () => {
    const snap = await snapshotTree(rootPid);
    if (snap.pids.length > 0) lastGood = snap;
    peakRss = Math.max(peakRss, snap.rssBytes);
    return snap;
  };
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      const snap = await take();
      if (++samples % pssEvery === 0) peakPss = Math.max(peakPss, await pssBytes(snap.pids));
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => {
    sample().catch((err: unknown) => console.error('bench: /proc sample failed', err));
  }, intervalMs);
  const figures = async (): Promise<ServerUsage> => {
    const snap = await take();
    peakPss = Math.max(peakPss, await pssBytes(snap.pids));
    const last = lastGood;
    const seconds = Math.max((last.atMs - first.atMs) / 1000, 1e-6);
    const pct = (ticks: number) => (100 * ticks) / units().clockTicksPerSecond / seconds;
    return {
      peakRssMb: peakRss / 1048576,
      peakPssMb: peakPss > 0 ? peakPss / 1048576 : null,
      cpuPct: pct(last.rootTicks - first.rootTicks),
      treeCpuPct: pct(last.treeTicks - first.treeTicks),
    };
  };
  return {
    now: figures,
    async stop() {
      clearInterval(timer);
      return figures();
    },
  };
}
