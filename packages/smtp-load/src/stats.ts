// What a run counts while it runs: message outcomes, connection failures, bytes, and
// HDR histograms (node:perf_hooks, integer microseconds) for latency and each SMTP
// phase; summarizeHistogram turns one into plain numbers for the report.

import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export const PHASES = ['connect', 'ehlo', 'mail', 'rcpt', 'data', 'dot'] as const;
export type Phase = (typeof PHASES)[number];

/** Percentiles kept in summaries: autocannon's -l table, which includes the tables' own. */
export const PERCENTILES = [0.001, 0.01, 0.1, 1, 2.5, 10, 25, 50, 75, 90, 97.5, 99, 99.9, 99.99, 99.999] as const;

/** Mutable counters, updated in place by connections (no allocation per message). */
export interface RunStats {
  /** Messages started: MAIL FROM written. */
  sent: number;
  ok2xx: number;
  fail4xx: number;
  fail5xx: number;
  /** Socket errors other than resets, refused greetings/HELO, malformed replies. */
  errors: number;
  timeouts: number;
  /** ECONNRESET/EPIPE, or the server closing while a reply was awaited. */
  resets: number;
  /** Counts per error code (ECONNREFUSED, PROTOCOL, GREETING_421 ...). */
  readonly errorCodes: Map<string, number>;
  bytesSent: number;
  /** performance.now() of the last reply of any kind: the run's sign of life. */
  lastReplyAt: number;
  connectionsOpened: number;
  /** Connections whose EHLO advertised PIPELINING and that used it. */
  pipelinedConnections: number;
  /** Final replies and bytes since the last per-second sample. */
  repliesThisSecond: number;
  bytesThisSecond: number;
  /** Final dot -> final reply, corrected for coordinated omission when a rate is set. */
  readonly latency: RecordableHistogram;
  /** The same without the correction (only recorded when a rate is set). */
  readonly latencyUncorrected: RecordableHistogram;
  readonly phases: Readonly<Record<Phase, RecordableHistogram>>;
}

export interface HistogramSummary {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stdev: number;
  /** Same order as PERCENTILES. */
  readonly percentiles: readonly number[];
}

export function createRunStats(): RunStats {
  const histogram = (): RecordableHistogram => createHistogram({ lowest: 1, highest: 3_600_000_000, figures: 3 });
  return {
    sent: 0,
    ok2xx: 0,
    fail4xx: 0,
    fail5xx: 0,
    errors: 0,
    timeouts: 0,
    resets: 0,
    errorCodes: new Map(),
    bytesSent: 0,
    lastReplyAt: 0,
    connectionsOpened: 0,
    pipelinedConnections: 0,
    repliesThisSecond: 0,
    bytesThisSecond: 0,
    latency: histogram(),
    latencyUncorrected: histogram(),
    phases: { connect: histogram(), ehlo: histogram(), mail: histogram(), rcpt: histogram(), data: histogram(), dot: histogram() },
  };
}

/** Records a duration in milliseconds as whole microseconds (at least 1, the histogram's floor). */
export function recordMs(histogram: RecordableHistogram, ms: number): void {
  const us = Math.round(ms * 1000);
  histogram.record(us >= 1 ? (us <= 3_600_000_000 ? us : 3_600_000_000) : 1);
}

export function countError(stats: RunStats, code: string): void {
  stats.errors += 1;
  stats.errorCodes.set(code, (stats.errorCodes.get(code) ?? 0) + 1);
}

/** Counts a message's final reply by class (anything else is a protocol error). */
export function countOutcome(stats: RunStats, code: number): void {
  stats.repliesThisSecond += 1;
  if (code >= 200 && code < 300) stats.ok2xx += 1;
  else if (code >= 400 && code < 500) stats.fail4xx += 1;
  else if (code >= 500 && code < 600) stats.fail5xx += 1;
  else countError(stats, 'PROTOCOL');
}

/** Plain numbers in microseconds; all zero for an empty histogram. */
export function summarizeHistogram(histogram: RecordableHistogram): HistogramSummary {
  if (histogram.count === 0) return { count: 0, min: 0, max: 0, mean: 0, stdev: 0, percentiles: PERCENTILES.map(() => 0) };
  return {
    count: histogram.count,
    min: histogram.min,
    max: histogram.max,
    mean: histogram.mean,
    stdev: histogram.stddev,
    percentiles: PERCENTILES.map((p) => histogram.percentile(p)),
  };
}
