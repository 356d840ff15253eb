// The daemon process's memory read from /proc/<pid>/status (VmRSS, VmHWM), once or sampled on
// a fixed schedule: shared by the resources and held-large groups. Reads only; never signals.

import { readFile } from 'node:fs/promises';
import { pssBytes } from '../measure.js';
import { sleep } from '../processes.js';
import { median, MIB, parseProcStatus, type ProcMemory } from '../resources.js';
import type { RssSample } from '../types.js';

export async function readMemory(pid: number): Promise<ProcMemory | null> {
  try {
    return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** `count` RSS readings `everyMs` apart; their median, MB (null if the process is gone). */
export async function steadyRssMb(pid: number, count = 5, everyMs = 200): Promise<number | null> {
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await sleep(everyMs);
    const mem = await readMemory(pid);
    if (mem) values.push(mem.rssBytes / MIB);
  }
  return median(values);
}

/** The process's PSS (smaps_rollup), MB; null when it is gone. */
export async function pssMb(pid: number): Promise<number | null> {
  const bytes = await pssBytes([pid]);
  return bytes > 0 ? bytes / MIB : null;
}

export interface RssSampler {
  /** Stops sampling; resolves once the last reading is in. */
  stop(): Promise<{ samples: RssSample[]; peakRssMb: number | null; peakPssMb: number | null }>;
}

/**
 * Reads the process's VmRSS every intervalMs on a fixed schedule (no drift: sample k is due
 * at k x intervalMs), and its PSS every pssEvery-th sample (smaps_rollup walks the page
 * tables: dearer). t is seconds since the sampler started.
 */
export function startRssSampler(pid: number, intervalMs: number, pssEvery = 0): RssSampler {
  const t0 = performance.now();
  const samples: RssSample[] = [];
  let peakPss: number | null = null;
  let running = true;
  const loop = (async () => {
    for (let k = 0; running; k++) {
      const due = t0 + k * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (!running && k > 0) break;
      const mem = await readMemory(pid);
      if (mem) samples.push({ t: (performance.now() - t0) / 1000, rssMb: mem.rssBytes / MIB });
      if (pssEvery > 0 && k % pssEvery === 0) {
        const pss = await pssMb(pid);
        if (pss !== null) peakPss = Math.max(peakPss ?? 0, pss);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const peakRssMb = samples.length > 0 ? Math.max(...samples.map((s) => s.rssMb)) : null;
      return { samples, peakRssMb, peakPssMb: peakPss };
    },
  };
}
