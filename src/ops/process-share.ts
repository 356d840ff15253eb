// One front end's share of the limits when Processes = N > 1 (docs/operations.md,
// "Processes"): pure, no I/O. Limits that mean "all sessions/programs together" are divided,
// each front end getting ceil(limit / N), so the sum exceeds the written limit by at most
// N - 1; keeping them global would cost an IPC round trip per session or message.

import type { Config, ListenerConfig, TransportConfig } from '../config/types.js';

/** ceil(limit / processes): never 0 for a limit that is not 0 (a front end must serve). */
export function shareOf(limit: number, processes: number): number {
  return Math.ceil(limit / processes);
}

/**
 * The config one of `processes` front ends runs with: Listener_Sessions, each transport's
 * concurrency and recipient_check_concurrency, Pool_Max_Queue and Max_Memory_In_Flight
 * divided; Metrics_Listen off (the primary serves it). With 1 process: `config` itself.
 * Per-client limits and throttles stay as written: a client's sessions may land on any
 * front end, and dividing them would refuse a client that happens to land unevenly.
 */
export function frontEndConfig(config: Config, processes: number): Config {
  if (processes <= 1) return config;
  const listener = (l: ListenerConfig): ListenerConfig => Object.freeze({ ...l, maxSessions: shareOf(l.maxSessions, processes) });
  const transport = (t: TransportConfig): TransportConfig =>
    Object.freeze({
      ...t,
      concurrency: shareOf(t.concurrency, processes),
      recipientCheckConcurrency: shareOf(t.recipientCheckConcurrency, processes),
    });
  return Object.freeze({
    ...config,
    listeners: Object.freeze(config.listeners.map(listener)),
    transports: Object.freeze(config.transports.map(transport)),
    pool: Object.freeze({ ...config.pool, maxQueue: shareOf(config.pool.maxQueue, processes) }),
    spool: Object.freeze({ ...config.spool, memoryBytes: shareOf(config.spool.memoryBytes, processes) }),
    metricsListen: null,
  });
}
