// The daemon's life cycle: builds every long-lived object from one Config, starts the
// listeners, and stops in two stages (drain, then force). Signals are wired in cli.ts.
//
// States: created -> started -> draining -> stopped. A drain lets every delivery in
// flight finish and get its real reply; force SIGKILLs running programs (their clients
// get 451) and closes every session with 421.

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { createDispatcher } from '../delivery/dispatcher.js';
import { createMailPolicy } from '../delivery/mail-policy.js';
import { createQueueIdGenerator } from '../delivery/queue-id.js';
import { createDeliveryPool } from '../pool/pool.js';
import { createRouter } from '../routing/router.js';
import { assertUpstreamShape } from '../smtp/connection.js';
import { createListener, type Listener } from '../smtp/listener.js';
import { computeSessionLimit, createSessionBudget, readFdUsage } from './fd-budget.js';
import { createMetrics } from './metrics.js';
import { createMetricsServer } from './metrics-server.js';

export type StopResult = 'graceful' | 'forced';

export interface Daemon {
  start(): Promise<AddressInfo[]>;
  /** First stage: drain within Shutdown_Timeout, then force. Idempotent. */
  stop(): Promise<StopResult>;
  /** Second stage, at once. */
  force(): void;
  readonly listeners: readonly Listener[];
  /** Where Metrics_Listen serves, once started; null when it is off. */
  readonly metricsAddress: AddressInfo | null;
}

export interface DaemonOptions {
  /** For smtpipe_build_info. */
  readonly version?: string;
}

/** After a force, how long replies and 421s get to reach clients. */
const FORCE_SETTLE_MS = 3000;

export function createDaemon(config: Config, logger: Logger, options: DaemonOptions = {}): Daemon {
  assertUpstreamShape();
  const pool = createDeliveryPool(config);
  const metrics = createMetrics(options.version ?? 'unknown');
  metrics.observePool(() => ({ waiting: pool.waiting, running: pool.running }));
  const dispatcher = createDispatcher({ pool, logger, nextQueueId: createQueueIdGenerator(), observer: metrics });
  const policy = createMailPolicy(createRouter(config.transports), dispatcher);
  // Sized in start(), once the worker threads hold their descriptors.
  let sessionBudget = createSessionBudget(Number.MAX_SAFE_INTEGER);
  const slots = { tryOpen: () => sessionBudget.tryOpen(), close: () => sessionBudget.close() };
  const listeners = config.listeners.map((listener) => createListener(listener, policy, logger, slots, metrics));
  let ready = false;
  const metricsServer = config.metricsListen && createMetricsServer(config.metricsListen, metrics, () => ready);
  let metricsAddress: AddressInfo | null = null;
  let stopping: Promise<StopResult> | undefined;
  let forceNow: () => void = () => {};
  const forced = new Promise<void>((resolve) => {
    forceNow = resolve;
  });

  const allClosed = () => Promise.all(listeners.map((listener) => listener.closed())).then(() => undefined);

  async function stopInStages(): Promise<StopResult> {
    // Worker threads and closed sockets hold no ref: without this the process could
    // exit mid-stop, before the last replies and the "stopped" line.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      return await drainThenForce();
    } finally {
      clearInterval(keepAlive);
    }
  }

  async function drainThenForce(): Promise<StopResult> {
    ready = false;
    logger.info({ inFlight: dispatcher.inFlight, deadlineMs: config.shutdownTimeoutMs }, 'draining');
    for (const listener of listeners) listener.drain();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), config.shutdownTimeoutMs);
    });
    // Drained = every session closed AND every program ended: a delivery whose client is
    // gone still runs, and a second signal or the deadline must still be able to stop it.
    const drained = Promise.all([allClosed(), pool.idle()]).then(() => 'drained' as const);
    const first = await Promise.race([drained, deadline, forced.then(() => 'signal' as const)]);
    clearTimeout(timer);
    if (first !== 'drained') {
      logger.warn({ reason: first, inFlight: dispatcher.inFlight }, 'forcing shutdown');
      pool.killAll();
      const settle = new Promise((resolve) => setTimeout(resolve, FORCE_SETTLE_MS).unref());
      // Killed programs produce their 451s; then whoever is left gets 421.
      await Promise.race([waitUntil(() => dispatcher.inFlight === 0), settle]);
      for (const listener of listeners) listener.closeAll();
      await Promise.race([allClosed(), settle]);
    }
    await pool.close();
    await metricsServer?.close();
    logger.info({ result: first === 'drained' ? 'graceful' : 'forced' }, 'stopped');
    return first === 'drained' ? 'graceful' : 'forced';
  }

  return {
    listeners,
    get metricsAddress() {
      return metricsAddress;
    },
    async start() {
      const { openFileLimit, fdsInUse } = readFdUsage();
      const maxPrograms = Math.min(
        config.transports.reduce((sum, transport) => sum + transport.concurrency, 0),
        config.pool.threads * config.pool.tasksPerThread,
      );
      sessionBudget = createSessionBudget(computeSessionLimit(openFileLimit, fdsInUse, maxPrograms));
      logger.info({ openFileLimit, fdsInUse, maxPrograms, sessionLimit: sessionBudget.limit }, 'file descriptor budget');
      const { spawner } = pool;
      if (spawner.fallbackReason !== null) {
        logger.warn({ reason: spawner.fallbackReason }, 'native spawner unavailable: programs start through child_process');
      }
      const addresses = await Promise.all(listeners.map((listener) => listener.listen()));
      if (metricsServer) metricsAddress = await metricsServer.listen();
      ready = true;
      logger.info(
        {
          listeners: addresses.map((a) => `${a.address}:${a.port}`),
          transports: config.transports.map((t) => t.name),
          spawner: spawner.name,
          metrics: metricsAddress && `${metricsAddress.address}:${metricsAddress.port}`,
        },
        'listening',
      );
      return addresses;
    },
    stop() {
      stopping ??= stopInStages();
      return stopping;
    },
    force() {
      forceNow();
    },
  };
}

function waitUntil(condition: () => boolean, intervalMs = 20): Promise<void> {
  return new Promise((resolve) => {
    const poll = () => (condition() ? resolve() : setTimeout(poll, intervalMs).unref());
    poll();
  });
}
