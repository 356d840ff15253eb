// What a run prints: autocannon-style header, latency and Msg/Sec + Bytes/Sec tables,
// -l percentile and per-phase tables, footer, and the -j JSON object whose field
// names a comparison harness depends on (keep them). Pure given options and result.

import type { BenchOptions } from './args.js';
import type { ConnectionCounts, RunResult } from './run.js';
import { PERCENTILES, PHASES, type HistogramSummary, type Phase } from './stats.js';
import { renderTable } from './table.js';

export interface LatencyMs {
  readonly count: number;
  readonly p2_5: number;
  readonly p50: number;
  readonly p97_5: number;
  readonly p99: number;
  readonly p99_9: number;
  readonly mean: number;
  readonly stdev: number;
  readonly min: number;
  readonly max: number;
}

export interface SampleStats {
  readonly mean: number;
  readonly stdev: number;
  readonly min: number;
  readonly max: number;
  readonly p1: number;
  readonly p2_5: number;
  readonly p50: number;
  readonly p97_5: number;
  readonly samples: number;
}

/** The -j object. Names are a contract with its readers (smtpipe's bench/compare among them): add fields, never rename. */
export interface JsonResult extends ConnectionCounts {
  readonly target: string;
  readonly connections: number;
  /** Measured wall time of the run, seconds. */
  readonly durationSeconds: number;
  /** -a, or null for a -d run. */
  readonly amount: number | null;
  /** -R messages/s, or null. */
  readonly rate: number | null;
  /** Message bytes incl. headers, before dot-stuffing. */
  readonly size: number;
  readonly perConnection: number;
  readonly rcpts: number;
  /** Whether messages were pipelined (requested and advertised). */
  readonly pipelining: boolean;
  readonly messages: { readonly sent: number; readonly ok2xx: number; readonly fail4xx: number; readonly fail5xx: number };
  // errors, timeouts, resets, errorCodes, bytesSent, connectionsOpened: ConnectionCounts.
  readonly msgsPerSecond: SampleStats;
  readonly bytesPerSecond: SampleStats;
  /** Final dot sent -> final reply; with -R counted from the intended time. */
  readonly latencyMs: LatencyMs;
  /** Only with -R: the same latency without the coordinated-omission correction. */
  readonly latencyUncorrectedMs?: LatencyMs;
  readonly phasesMs: Readonly<Record<Phase, LatencyMs>>;
  readonly startedAt: string;
  readonly finishedAt: string;
}

const round = (n: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

function percentile(summary: HistogramSummary, p: (typeof PERCENTILES)[number]): number {
  return summary.percentiles[PERCENTILES.indexOf(p)] ?? 0;
}

export function toLatencyMs(summary: HistogramSummary): LatencyMs {
  const ms = (us: number): number => round(us / 1000, 3);
  return {
    count: summary.count,
    p2_5: ms(percentile(summary, 2.5)),
    p50: ms(percentile(summary, 50)),
    p97_5: ms(percentile(summary, 97.5)),
    p99: ms(percentile(summary, 99)),
    p99_9: ms(percentile(summary, 99.9)),
    mean: ms(summary.mean),
    stdev: ms(summary.stdev),
    min: ms(summary.min),
    max: ms(summary.max),
  };
}

/** Mean, population stdev, min, max and nearest-rank percentiles of per-second samples. */
export function summarizeSamples(values: readonly number[]): SampleStats {
  if (values.length === 0) return { mean: 0, stdev: 0, min: 0, max: 0, p1: 0, p2_5: 0, p50: 0, p97_5: 0, samples: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  const variance = sorted.reduce((sum, v) => sum + (v - mean) ** 2, 0) / sorted.length;
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
  return {
    mean: round(mean, 2),
    stdev: round(Math.sqrt(variance), 2),
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    p1: rank(1),
    p2_5: rank(2.5),
    p50: rank(50),
    p97_5: rank(97.5),
    samples: sorted.length,
  };
}

export function toJsonResult(options: BenchOptions, result: RunResult): JsonResult {
  return {
    target: options.target.url,
    connections: options.connections,
    durationSeconds: round(result.elapsedMs / 1000, 3),
    amount: options.amount,
    rate: options.ratePerSecond,
    size: options.sizeBytes,
    perConnection: options.perConnection,
    rcpts: options.rcpts,
    pipelining: result.pipelinedConnections > 0,
    messages: { sent: result.sent, ok2xx: result.ok2xx, fail4xx: result.fail4xx, fail5xx: result.fail5xx },
    errors: result.errors,
    timeouts: result.timeouts,
    resets: result.resets,
    errorCodes: result.errorCodes,
    bytesSent: result.bytesSent,
    connectionsOpened: result.connectionsOpened,
    msgsPerSecond: summarizeSamples(result.repliesPerSecond),
    bytesPerSecond: summarizeSamples(result.bytesPerSecond),
    latencyMs: toLatencyMs(result.latencyUs),
    ...(result.latencyUncorrectedUs ? { latencyUncorrectedMs: toLatencyMs(result.latencyUncorrectedUs) } : {}),
    phasesMs: Object.fromEntries(PHASES.map((phase) => [phase, toLatencyMs(result.phasesUs[phase])])) as Record<Phase, LatencyMs>,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
  };
}

/** Decimal units, as autocannon (pretty-bytes) prints them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : Number(value.toPrecision(3))} ${units[unit]}`;
}

function formatSize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

const ms = (n: number): string => `${round(n, 2)} ms`;

export function formatHeader(options: BenchOptions): string {
  const what = options.amount === null ? `${round((options.durationMs ?? 0) / 1000, 3)}s` : `${options.amount} messages`;
  const details = [
    `${options.connections} connections`,
    `${formatSize(options.sizeBytes)} messages`,
    `${options.rcpts} recipient${options.rcpts === 1 ? '' : 's'}`,
    options.perConnection === 0 ? 'unlimited messages per connection' : `${options.perConnection} message${options.perConnection === 1 ? '' : 's'} per connection`,
  ];
  if (options.pipelining) details.push('pipelining');
  if (options.ratePerSecond !== null) details.push(`rate ${options.ratePerSecond} msg/s`);
  return `Running ${what} test @ ${options.target.url}\n${details.join(', ')}\n\n`;
}

export function formatReport(options: BenchOptions, result: RunResult): string {
  const json = toJsonResult(options, result);
  const lat = json.latencyMs;
  let out = renderTable([
    ['Stat', '2.5%', '50%', '97.5%', '99%', 'Avg', 'Stdev', 'Max'],
    ['Latency', ms(lat.p2_5), ms(lat.p50), ms(lat.p97_5), ms(lat.p99), ms(lat.mean), ms(lat.stdev), ms(lat.max)],
  ]);
  const m = json.msgsPerSecond;
  const b = json.bytesPerSecond;
  out += renderTable(
    [
      ['Stat', '1%', '2.5%', '50%', '97.5%', 'Avg', 'Stdev', 'Min'],
      ['Msg/Sec', String(m.p1), String(m.p2_5), String(m.p50), String(m.p97_5), String(m.mean), String(m.stdev), String(m.min)],
      ['Bytes/Sec', ...[b.p1, b.p2_5, b.p50, b.p97_5, b.mean, b.stdev, b.min].map(formatBytes)],
    ],
    { ruleBetweenRows: true },
  );
  out += '\nLatency: final dot sent -> final reply';
  out += options.ratePerSecond === null ? '.\n' : ', counted from each message\'s intended send time (coordinated omission corrected).\n';
  out += 'Msg/Bytes counts sampled once per second.\n';
  out += `# of samples: ${m.samples}\n`;
  if (options.latencyTable) out += '\n' + formatDetailTables(result);
  if (options.pipelining && !json.pipelining) out += '\nPipelining requested, but the server did not advertise PIPELINING: ran in lock-step.\n';
  out += `\nReplies: 2xx ${result.ok2xx}, 4xx ${result.fail4xx}, 5xx ${result.fail5xx}; errors ${result.errors}, timeouts ${result.timeouts}, resets ${result.resets}\n`;
  const codes = Object.entries(result.errorCodes);
  if (codes.length > 0) out += `Errors: ${codes.map(([code, n]) => `${code} ${n}`).join(', ')}\n`;
  const done = result.ok2xx + result.fail4xx + result.fail5xx;
  const count = done >= 1000 ? `${Math.round(done / 1000)}k` : String(done);
  out += `${count} messages in ${round(result.elapsedMs / 1000, 2)}s, ${formatBytes(result.bytesSent)} sent\n`;
  return out;
}

const PHASE_LABELS: Record<Phase, string> = {
  connect: 'connect -> 220',
  ehlo: 'EHLO -> 250',
  mail: 'MAIL -> reply',
  rcpt: 'RCPT -> reply',
  data: 'DATA -> 354',
  dot: 'dot -> reply',
};

/** -l: autocannon's percentile table, then one row per SMTP phase. */
export function formatDetailTables(result: RunResult): string {
  const rows = PERCENTILES.map((p, i) => [String(p), String(round((result.latencyUs.percentiles[i] ?? 0) / 1000, 3))]);
  let out = renderTable([['Percentile', 'Latency (ms)'], ...rows]);
  const phaseRows = PHASES.map((phase) => {
    const l = toLatencyMs(result.phasesUs[phase]);
    return [PHASE_LABELS[phase], String(l.count), ms(l.p50), ms(l.p97_5), ms(l.p99), ms(l.mean), ms(l.max)];
  });
  out += renderTable([['Phase', 'Count', '50%', '97.5%', '99%', 'Avg', 'Max'], ...phaseRows]);
  out += 'With --pipelining, MAIL/RCPT/DATA times run from the batch write or the previous reply.\n';
  return out;
}

/**
 * 0 when every message got a 2xx final reply and nothing failed on the way; 1 otherwise.
 * --expect-failures accepts non-2xx replies, errors, timeouts and resets, but still
 * fails a run in which no message got any final reply (the target was not usable).
 */
export function exitStatus(options: BenchOptions, result: RunResult): 0 | 1 {
  const replied = result.ok2xx + result.fail4xx + result.fail5xx;
  if (options.expectFailures) return replied > 0 ? 0 : 1;
  const clean = result.sent > 0 && result.ok2xx === result.sent && result.errors + result.timeouts + result.resets === 0;
  return clean ? 0 : 1;
}
