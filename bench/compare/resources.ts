// The arithmetic of the resources group (scenarios/resources.ts): /proc/<pid>/status, medians,
// the least-squares slope of RSS over time and the figures derived from the samples. Pure:
// numbers in, numbers out; the scenario measures, targets.ts judges, report-md.ts renders.

import type { RssCheckpoint, RssSample } from './types.js';

export const MIB = 1_048_576;

export interface ProcMemory {
  /** VmRSS: resident now, bytes. */
  readonly rssBytes: number;
  /** VmHWM: the highest VmRSS since the process started, bytes. */
  readonly hwmBytes: number;
}

/** VmRSS and VmHWM from /proc/<pid>/status (proc(5), in kB); null when either is missing. */
export function parseProcStatus(text: string): ProcMemory | null {
  const kb = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : null;
  };
  const rssBytes = kb('VmRSS');
  const hwmBytes = kb('VmHWM');
  return rssBytes === null || hwmBytes === null ? null : { rssBytes, hwmBytes };
}

/** The middle value (mean of the two middle ones for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface LineFit {
  readonly slope: number;
  readonly intercept: number;
}

/** Ordinary least squares y = intercept + slope * x; null with fewer than 2 distinct x. */
export function leastSquares(points: readonly { readonly x: number; readonly y: number }[]): LineFit | null {
  const n = points.length;
  if (n < 2) return null;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - meanX) ** 2;
    sxy += (p.x - meanX) * (p.y - meanY);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

/** The sample nearest to `seconds`, if one lies within `toleranceSeconds` of it. */
export function rssAt(samples: readonly RssSample[], seconds: number, toleranceSeconds: number): number | null {
  let best: RssSample | null = null;
  for (const s of samples) {
    if (Math.abs(s.t - seconds) <= toleranceSeconds && (best === null || Math.abs(s.t - seconds) < Math.abs(best.t - seconds))) best = s;
  }
  return best?.rssMb ?? null;
}

export function checkpoints(samples: readonly RssSample[], at: readonly number[], toleranceSeconds: number): RssCheckpoint[] {
  return at.map((seconds) => ({ seconds, rssMb: rssAt(samples, seconds, toleranceSeconds) }));
}

export interface GrowthFit {
  /** MB per minute. */
  readonly slopeMbPerMin: number;
  /** (fitted RSS at toSeconds - fitted at fromSeconds) / fitted at fromSeconds, %. */
  readonly growthPct: number;
  /** Samples the fit used. */
  readonly samples: number;
}

/**
 * Fits RSS against time over the samples in [fromSeconds, toSeconds] (a small slack for
 * timer lateness at both ends). Null with fewer than 3 samples there: two points are a
 * line through noise, not a trend.
 */
export function fitGrowth(samples: readonly RssSample[], fromSeconds: number, toSeconds: number): GrowthFit | null {
  const slack = 0.25;
  const window = samples.filter((s) => s.t >= fromSeconds - slack && s.t <= toSeconds + slack);
  if (window.length < 3) return null;
  const fit = leastSquares(window.map((s) => ({ x: s.t / 60, y: s.rssMb })));
  if (fit === null) return null;
  const start = fit.intercept + (fit.slope * fromSeconds) / 60;
  const rise = (fit.slope * (toSeconds - fromSeconds)) / 60;
  return { slopeMbPerMin: fit.slope, growthPct: start > 0 ? (100 * rise) / start : Number.NaN, samples: window.length };
}

/** The growth target: no growth when either the slope or the relative rise is small. */
export const GROWTH_GOAL = { slopeMbPerMin: 1, growthPct: 5 } as const;

export function growthPasses(slopeMbPerMin: number, growthPct: number | null): boolean {
  return slopeMbPerMin < GROWTH_GOAL.slopeMbPerMin || (growthPct !== null && Number.isFinite(growthPct) && growthPct < GROWTH_GOAL.growthPct);
}

/** What one more idle session costs, KB; null without both figures or without sessions. */
export function perSessionKb(baselineMb: number | null, withMb: number | null, sessions: number): number | null {
  if (baselineMb === null || withMb === null || sessions <= 0) return null;
  return ((withMb - baselineMb) * 1024) / sessions;
}

/** Peak RSS over the bytes in flight (messages x size), both in bytes. */
export function peakPerInFlight(peakMb: number | null, messages: number, sizeBytes: number): number | null {
  if (peakMb === null || messages <= 0 || sizeBytes <= 0) return null;
  return (peakMb * MIB) / (messages * sizeBytes);
}

/** "10 s", "2.5 s": checkpoint labels that stay short when --seconds makes them fractional. */
export function secondsLabel(seconds: number): string {
  return `${Number.isInteger(seconds) ? seconds : Number(seconds.toFixed(1))} s`;
}
