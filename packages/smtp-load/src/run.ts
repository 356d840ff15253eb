// The run loop: N connection slots sharing one message budget (-a amount or -d
// deadline), the -R schedule whose intended times give the coordinated-omission
// correction, the reply-timeout sweeper and the once-a-second samples. Resolves to
// plain numbers (RunResult); printing is report.ts's business.

import { performance } from 'node:perf_hooks';
import { createConnection } from './connection.js';
import type { Connection, ConnectionHost } from './connection-contract.js';
import type { EnvelopeCommands } from './envelope.js';
import { countError, createRunStats, PHASES, summarizeHistogram, type HistogramSummary, type Phase } from './stats.js';

export interface RunPlan {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  /** Exactly one of durationMs / amount is non-null. */
  readonly durationMs: number | null;
  readonly amount: number | null;
  readonly ratePerSecond: number | null;
  readonly timeoutMs: number;
  readonly perConnection: number;
  readonly pipelining: boolean;
  readonly commands: EnvelopeCommands;
  readonly wire: Buffer;
}

/** One per elapsed second of the run. */
export interface RunSample {
  readonly second: number;
  /** Final replies (any class) received in that second. */
  readonly replies: number;
  readonly bytes: number;
  readonly totalReplies: number;
  readonly elapsedMs: number;
}

/** What the connections counted besides replies; part of RunResult and, under the same
 *  names, of the -j object (report.ts), whose names are a contract. */
export interface ConnectionCounts {
  readonly errors: number;
  readonly timeouts: number;
  readonly resets: number;
  readonly errorCodes: Readonly<Record<string, number>>;
  readonly bytesSent: number;
  readonly connectionsOpened: number;
}

export interface RunResult extends ConnectionCounts {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly elapsedMs: number;
  readonly sent: number;
  readonly ok2xx: number;
  readonly fail4xx: number;
  readonly fail5xx: number;
  /** Connections that pipelined (the server advertised PIPELINING and --pipelining was given). */
  readonly pipelinedConnections: number;
  /** Final replies and bytes sent per second: one entry per full second, plus the last
   *  partial second scaled up when it lasted at least 500 ms or is the only one. */
  readonly repliesPerSecond: readonly number[];
  readonly bytesPerSecond: readonly number[];
  /** Microseconds. latency is corrected for coordinated omission when a rate was set. */
  readonly latencyUs: HistogramSummary;
  readonly latencyUncorrectedUs: HistogramSummary | null;
  readonly phasesUs: Readonly<Record<Phase, HistogramSummary>>;
}

export interface RunHandle {
  readonly done: Promise<RunResult>;
  /** Hands out no more messages; those in flight finish (bounded by the reply timeout). */
  stop(): void;
  /** Ends every connection now. */
  abort(): void;
}

export function startRun(plan: RunPlan, onSample?: (sample: RunSample) => void): RunHandle {
  const stats = createRunStats();
  const startedAt = new Date();
  const t0 = performance.now();
  const endAt = plan.durationMs === null ? Infinity : t0 + plan.durationMs;
  const intervalMs = plan.ratePerSecond === null ? 0 : 1000 / plan.ratePerSecond;
  let claimed = 0;
  let stopped = false;
  let finished = 0;
  const repliesPerSecond: number[] = [];
  const bytesPerSecond: number[] = [];
  let totalReplies = 0;

  /** When the next message is due, or NaN when the budget is spent. */
  const nextIntended = (): number => {
    if (stopped) return NaN;
    if (plan.amount !== null && claimed >= plan.amount) return NaN;
    const intended = intervalMs > 0 ? t0 + claimed * intervalMs : performance.now();
    return intended < endAt ? intended : NaN;
  };

  let resolveDone: (result: RunResult) => void = () => {};
  const done = new Promise<RunResult>((resolve) => (resolveDone = resolve));

  const host: ConnectionHost = {
    claim() {
      const intended = nextIntended();
      if (!Number.isNaN(intended)) claimed += 1;
      return intended;
    },
    isOver: () => Number.isNaN(nextIntended()),
    finished() {
      finished += 1;
      if (finished === plan.connections) complete();
    },
  };

  const config = {
    host: plan.host,
    port: plan.port,
    timeoutMs: plan.timeoutMs,
    perConnection: plan.perConnection,
    pipelining: plan.pipelining,
    rateCorrection: plan.ratePerSecond !== null,
    commands: plan.commands,
    wire: plan.wire,
    stats,
  };
  const connections: Connection[] = Array.from({ length: plan.connections }, () => createConnection(config, host));

  stats.lastReplyAt = t0;
  const sweeper = setInterval(
    () => {
      const now = performance.now();
      for (const connection of connections) connection.checkTimeout(now);
      // An -a run against a target that never answers would reconnect forever without
      // using up its budget: after two reply timeouts without any reply, give up.
      if (plan.amount !== null && !stopped && now - stats.lastReplyAt > 2 * plan.timeoutMs) {
        countError(stats, 'STALLED');
        abort();
      }
    },
    Math.max(5, Math.min(100, plan.timeoutMs / 4)),
  );
  let second = 0;
  const sampler = setInterval(() => {
    second += 1;
    const replies = stats.repliesThisSecond;
    const bytes = stats.bytesThisSecond;
    stats.repliesThisSecond = 0;
    stats.bytesThisSecond = 0;
    totalReplies += replies;
    repliesPerSecond.push(replies);
    bytesPerSecond.push(bytes);
    onSample?.({ second, replies, bytes, totalReplies, elapsedMs: performance.now() - t0 });
  }, 1000);

  function complete(): void {
    clearInterval(sweeper);
    clearInterval(sampler);
    const elapsedMs = performance.now() - t0;
    // The last, partial second counts (scaled to a per-second rate) when it is at least
    // half a second long, or when it is all there is: a 3 s run would otherwise lose its
    // third sample to timer jitter, and a run under a second would have none.
    const partialMs = elapsedMs - second * 1000;
    if (repliesPerSecond.length === 0 || partialMs >= 500) {
      const seconds = Math.max(partialMs, 1) / 1000;
      repliesPerSecond.push(Math.round(stats.repliesThisSecond / seconds));
      bytesPerSecond.push(Math.round(stats.bytesThisSecond / seconds));
    }
    const phasesUs = Object.fromEntries(PHASES.map((phase) => [phase, summarizeHistogram(stats.phases[phase])])) as Record<Phase, HistogramSummary>;
    resolveDone({
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      elapsedMs,
      sent: stats.sent,
      ok2xx: stats.ok2xx,
      fail4xx: stats.fail4xx,
      fail5xx: stats.fail5xx,
      errors: stats.errors,
      timeouts: stats.timeouts,
      resets: stats.resets,
      errorCodes: Object.fromEntries(stats.errorCodes),
      bytesSent: stats.bytesSent,
      connectionsOpened: stats.connectionsOpened,
      pipelinedConnections: stats.pipelinedConnections,
      repliesPerSecond,
      bytesPerSecond,
      latencyUs: summarizeHistogram(stats.latency),
      latencyUncorrectedUs: plan.ratePerSecond === null ? null : summarizeHistogram(stats.latencyUncorrected),
      phasesUs,
    });
  }

  function abort(): void {
    stopped = true;
    for (const connection of connections) connection.abort();
  }

  for (const connection of connections) connection.start();

  return {
    done,
    stop() {
      stopped = true;
    },
    abort,
  };
}
