// The composition root: builds every long-lived object from one Config and starts the
// listeners, all or nothing. Reload is reload.ts, the two-stage stop shutdown.ts; signals
// are wired in cli.ts.
//
// States: created -> started -> draining -> stopped (see shutdown.ts); a reload swaps the
// Config in while started.

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LoadResult } from '../config/load.js';
import type { Config, ListenerConfig } from '../config/types.js';
import { createDispatcher } from '../delivery/dispatcher.js';
import { createMailPolicy } from '../delivery/mail-policy.js';
import { createRecipientChecker } from '../delivery/recipient-check.js';
import { createQueueIdGenerator } from '../delivery/queue-id.js';
import { createDeliveryPool } from '../pool/pool.js';
import { createRouter } from '../routing/router.js';
import { loadLineEndingsAddon } from '../../native/addons.js';
import { javascriptScans, type LineEndingScans } from '../message/line-endings.js';
import { createMessageStore, type MessageStore } from '../message/message-store.js';
import { createSpool, probeSpool } from '../message/spool-file.js';
import { createListener, type Listener } from '../smtp/listener.js';
import type { MailPolicy } from '../smtp/policy.js';
import { computeSessionLimit, createSessionBudget, readFdUsage } from './fd-budget.js';
import { createOrphanReaper, type OrphanReaper } from './orphan-reaper.js';
import { createMetrics } from './metrics.js';
import { createMetricsServer, METRICS_MAX_CONNECTIONS } from './metrics-server.js';
import { createReloader, type ReloadResult, type Serving } from './reload.js';
import { createShutdown, type StopResult } from './shutdown.js';

export type { ReloadResult } from './reload.js';
export type { StopResult } from './shutdown.js';

export interface Daemon {
  start(): Promise<AddressInfo[]>;
  /** First stage: drain within Shutdown_Timeout, then force. Idempotent. */
  stop(): Promise<StopResult>;
  /** Second stage, at once. */
  force(): void;
  /** Loads the config file again and swaps it in if it is valid; reloads run one at a time. */
  reload(): Promise<ReloadResult>;
  /** The listeners serving now (not those draining after a reload removed them). */
  readonly listeners: readonly Listener[];
  /** Where Metrics_Listen serves, once started; null when it is off. */
  readonly metricsAddress: AddressInfo | null;
  /** What /readyz answers: listening, not draining, the spool not failing. */
  readonly ready: boolean;
  /** This process's series (a front end hands them to the primary: cluster-front-end.ts). */
  readonly metricsRegistry: Registry;
}

export interface DaemonOptions {
  /** For smtpipe_build_info. */
  readonly version?: string;
  /** How reload() reads the config again (the CLI passes loadConfig of the same file). */
  readonly loadConfig?: () => Promise<LoadResult>;
  /**
   * Set when the process is a child subreaper (hardening.ts): orphans then come to the
   * daemon, which ends and reaps them from start() until stopped (orphan-reaper.ts).
   */
  readonly reapOrphan?: ((pid: number) => number) | null;
  /**
   * A front end of Processes > 1 (cluster-front-end.ts): it logs 'front end listening' and
   * 'front end reloaded', and the primary logs 'listening' and 'configuration reloaded' once.
   */
  readonly frontEnd?: boolean;
}

export function createDaemon(initialConfig: Config, logger: Logger, options: DaemonOptions = {}): Daemon {
  const pool = createDeliveryPool(initialConfig);
  const metrics = createMetrics(options.version ?? 'unknown');
  metrics.observePool(() => ({ waiting: pool.waiting, running: pool.running }));
  metrics.transports(initialConfig.transports.map((t) => t.name));
  const lineEndings = lineEndingScans();
  const store = createMessageStore({
    limits: storeLimits(initialConfig),
    spool: createSpool(initialConfig.spool.directory.text),
    scans: lineEndings.scans,
    observer: metrics,
  });
  metrics.observeStore(store.stats);
  const dispatcher = createDispatcher({ pool, logger, nextQueueId: createQueueIdGenerator(), observer: metrics });
  const checker = createRecipientChecker({ pool, logger });
  let currentPolicy = createMailPolicy(createRouter(initialConfig.transports), dispatcher, store, checker, initialConfig.maxReceivedHeaders);
  // Listeners hold this one; it asks whichever policy is current when a transaction starts.
  const policy: MailPolicy = { startTransaction: (session, sender) => currentPolicy.startTransaction(session, sender) };
  // Resized in start(), once the worker threads hold their descriptors, and by reloads.
  const sessionBudget = createSessionBudget(Number.MAX_SAFE_INTEGER);
  let fdUsage: ReturnType<typeof readFdUsage> | null = null;
  const newListener = (listener: ListenerConfig) => createListener(listener, policy, logger, sessionBudget, metrics);
  const serving: Serving = {
    config: initialConfig,
    listeners: initialConfig.listeners.map(newListener),
    retiring: new Set(),
    released: new Set(),
  };
  let ready = false;
  const metricsServer = initialConfig.metricsListen && createMetricsServer(initialConfig.metricsListen, metrics.registry, () => ready && store.spoolHealthy());
  /** Descriptors the metrics endpoint may hold: kept out of the sessions' budget. */
  const metricsReserve = metricsServer ? METRICS_MAX_CONNECTIONS : 0;
  let metricsAddress: AddressInfo | null = null;
  let reaper: OrphanReaper | null = null;

  /** Sessions that fit beside the programs `config` may run (from the figures read at start). */
  const sizeSessionBudget = (config: Config) => {
    if (!fdUsage) return;
    const { openFileLimit, fdsInUse } = fdUsage;
    const maxPrograms = maxConcurrentPrograms(config);
    sessionBudget.resize(computeSessionLimit(openFileLimit, fdsInUse, maxPrograms, metricsReserve));
    logger.info({ openFileLimit, fdsInUse, maxPrograms, sessionLimit: sessionBudget.limit }, 'file descriptor budget');
  };

  const shutdown = createShutdown({
    logger,
    pool,
    dispatcher,
    listeners: () => [...serving.listeners, ...serving.retiring],
    deadlineMs: () => serving.config.shutdownTimeoutMs,
    onDraining: () => {
      ready = false;
    },
    afterPool: async () => {
      // No program runs any more: whatever they left behind gets SIGKILL now.
      reaper?.stop();
      await metricsServer?.close();
    },
  });

  const reload = createReloader({
    serving,
    logger,
    metrics,
    loadConfig: options.loadConfig,
    newListener,
    stopping: () => shutdown.stopping,
    reloadedMessage: options.frontEnd === true ? 'front end reloaded' : 'configuration reloaded',
    apply(next) {
      pool.reconfigure(next);
      metrics.transports(next.transports.map((t) => t.name));
      store.reconfigure(storeLimits(next));
      currentPolicy = createMailPolicy(createRouter(next.transports), dispatcher, store, checker, next.maxReceivedHeaders);
      sizeSessionBudget(next);
    },
  });

  return {
    get listeners() {
      return serving.listeners;
    },
    reload,
    get metricsAddress() {
      return metricsAddress;
    },
    get ready() {
      return ready && store.spoolHealthy();
    },
    metricsRegistry: metrics.registry,
    async start() {
      fdUsage = readFdUsage();
      sizeSessionBudget(serving.config);
      const { reapOrphan } = options;
      if (reapOrphan) reaper = createOrphanReaper({ reapOrphan, runs: pool.runs, logger });
      const { spawner } = pool;
      if (spawner.fallbackReason !== null) {
        logger.warn({ reason: spawner.fallbackReason }, 'native spawner unavailable: programs start through child_process');
      }
      if (lineEndings.fallbackReason !== null) {
        logger.warn({ reason: lineEndings.fallbackReason }, 'native line-ending scans unavailable: using the JavaScript ones (slower on large messages)');
      }
      await checkSpool(store, pool, reaper);
      const { listeners } = serving;
      // All or nothing: a daemon serving some of its Listens would look healthy to a
      // supervisor that only sees the process (and /readyz would never turn ready).
      const bound = await Promise.allSettled([...listeners.map((listener) => listener.listen()), metricsServer ? metricsServer.listen() : null]);
      const failure = bound.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failure) {
        // Each address that failed, "cannot listen on ADDR: EADDRINUSE ..." (listener.ts).
        for (const result of bound) {
          if (result.status === 'rejected') logger.error({ err: result.reason }, String((result.reason as Error).message));
        }
        for (const listener of listeners) if (listener.address) listener.closeAll();
        if (metricsServer && bound.at(-1)?.status === 'fulfilled') await metricsServer.close();
        await pool.close();
        reaper?.stop();
        throw failure.reason;
      }
      const addresses = bound.slice(0, listeners.length).map((result) => (result as PromiseFulfilledResult<AddressInfo>).value);
      if (metricsServer) metricsAddress = (bound.at(-1) as PromiseFulfilledResult<AddressInfo>).value;
      ready = true;
      logger.info(
        {
          listeners: addresses.map((a) => `${a.address}:${a.port}`),
          transports: serving.config.transports.map((t) => t.name),
          spawner: spawner.name,
          lineEndings: lineEndings.name,
          spool: { directory: store.spool.directory, method: store.spool.method },
          metrics: metricsAddress && `${metricsAddress.address}:${metricsAddress.port}`,
        },
        options.frontEnd === true ? 'front end listening' : 'listening',
      );
      return addresses;
    },
    stop: () => shutdown.stop(),
    force: () => shutdown.force(),
  };
}

function storeLimits(config: Config) {
  return { memoryBytes: config.spool.memoryBytes, thresholdBytes: config.spool.thresholdBytes };
}

/** The C scans when the addon loads on this thread, else the JavaScript ones (and why). */
function lineEndingScans(): { scans: LineEndingScans; name: 'native' | 'javascript'; fallbackReason: string | null } {
  const loaded = loadLineEndingsAddon();
  return loaded.ok
    ? { scans: loaded.addon, name: 'native', fallbackReason: null }
    : { scans: javascriptScans, name: 'javascript', fallbackReason: loaded.reason };
}

/**
 * One spool file created and freed before listening: a directory that cannot take them is
 * a start-up error (exit 78), not a 451 on the first large message.
 */
async function checkSpool(store: MessageStore, pool: { close(): Promise<void> }, reaper: OrphanReaper | null): Promise<void> {
  try {
    await probeSpool(store.spool);
  } catch (error) {
    await pool.close();
    reaper?.stop();
    throw Object.assign(new Error(`Spool_Directory ${store.spool.directory}: cannot create a spool file (${(error as NodeJS.ErrnoException).code ?? String(error)})`), {
      code: 'ERR_SPOOL_UNUSABLE',
      cause: error,
    });
  }
}

/** Programs that may run at once: what each costs in descriptors sizes the session budget. */
function maxConcurrentPrograms(config: Config): number {
  return Math.min(
    config.transports.reduce((sum, transport) => sum + transport.concurrency, 0),
    config.pool.threads * config.pool.tasksPerThread,
  );
}
