// The daemon's life cycle: builds every long-lived object from one Config, starts the
// listeners, and stops in two stages (drain, then force). Signals are wired in cli.ts.
//
// States: created -> started -> draining -> stopped. A drain lets every delivery in
// flight finish and get its real reply; force SIGKILLs running programs (their clients
// get 451) and closes every session with 421.
//
// Reload (SIGHUP) swaps in a new Config as one step: new transactions route with it, a
// transaction already past MAIL FROM finishes with the transport objects it started
// with, Listens are reconfigured, added or drained. An invalid file changes nothing.

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { formatDiagnostic, type LoadResult } from '../config/load.js';
import type { Config, ListenerConfig } from '../config/types.js';
import { createDispatcher } from '../delivery/dispatcher.js';
import { createMailPolicy } from '../delivery/mail-policy.js';
import { createQueueIdGenerator } from '../delivery/queue-id.js';
import { createDeliveryPool } from '../pool/pool.js';
import { createRouter } from '../routing/router.js';
import { assertUpstreamShape } from '../smtp/connection.js';
import { canReconfigure, createListener, type Listener } from '../smtp/listener.js';
import { planListeners } from './listener-plan.js';
import { listenKey } from '../config/listen-address.js';
import type { MailPolicy } from '../smtp/policy.js';
import { computeSessionLimit, createSessionBudget, readFdUsage } from './fd-budget.js';
import { createOrphanReaper, type OrphanReaper } from './orphan-reaper.js';
import { createMetrics } from './metrics.js';
import { createMetricsServer, METRICS_MAX_CONNECTIONS } from './metrics-server.js';

export type StopResult = 'graceful' | 'forced';

export type ReloadResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

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
}

/**
 * A Listen bound again on an address this daemon let go of (Use_SSL changed, or an
 * earlier reload removed it) waits this long for the old socket to let go: 2 s.
 */
const REBIND_ATTEMPTS = 40;
const REBIND_DELAY_MS = 50;

/** After a force, how long replies and 421s get to reach clients. */
const FORCE_SETTLE_MS = 3000;

export function createDaemon(initialConfig: Config, logger: Logger, options: DaemonOptions = {}): Daemon {
  assertUpstreamShape();
  let config = initialConfig;
  const pool = createDeliveryPool(config);
  const metrics = createMetrics(options.version ?? 'unknown');
  metrics.observePool(() => ({ waiting: pool.waiting, running: pool.running }));
  const dispatcher = createDispatcher({ pool, logger, nextQueueId: createQueueIdGenerator(), observer: metrics });
  let currentPolicy = createMailPolicy(createRouter(config.transports), dispatcher);
  // Listeners hold this one; it asks whichever policy is current when a transaction starts.
  const policy: MailPolicy = { startTransaction: (session, sender) => currentPolicy.startTransaction(session, sender) };
  // Resized in start(), once the worker threads hold their descriptors, and by reloads.
  const sessionBudget = createSessionBudget(Number.MAX_SAFE_INTEGER);
  let fdUsage: ReturnType<typeof readFdUsage> | null = null;
  const newListener = (listener: ListenerConfig) => createListener(listener, policy, logger, sessionBudget, metrics);
  let listeners = config.listeners.map(newListener);
  /** Listens a reload removed, still draining their sessions. */
  const retiring = new Set<Listener>();
  /** Addresses (listenKey) a reload removed and nothing has bound since: see listener-plan.ts, reclaimed. */
  const released = new Set<string>();
  let reloads: Promise<unknown> = Promise.resolve();
  let ready = false;
  const metricsServer = config.metricsListen && createMetricsServer(config.metricsListen, metrics, () => ready);
  /** Descriptors the metrics endpoint may hold: kept out of the sessions' budget. */
  const metricsReserve = metricsServer ? METRICS_MAX_CONNECTIONS : 0;
  let metricsAddress: AddressInfo | null = null;
  let stopping: Promise<StopResult> | undefined;
  let reaper: OrphanReaper | null = null;
  let forceNow: () => void = () => {};
  const forced = new Promise<void>((resolve) => {
    forceNow = resolve;
  });

  const everyListener = () => [...listeners, ...retiring];
  const allClosed = () => Promise.all(everyListener().map((listener) => listener.closed())).then(() => undefined);

  async function reloadOnce(): Promise<ReloadResult> {
    if (stopping) {
      logger.warn('reload ignored: shutting down');
      return { ok: false, reason: 'stopping' };
    }
    if (!options.loadConfig) return { ok: false, reason: 'no config loader' };
    const startedAt = performance.now();
    const result = await options.loadConfig();
    for (const warning of result.warnings) logger.warn({ diagnostic: formatDiagnostic(warning) }, 'config warning');
    if (!result.ok) {
      for (const error of result.errors) logger.error({ diagnostic: formatDiagnostic(error) }, 'config error');
      logger.error({ file: config.file, errors: result.errors.length }, 'reload failed: configuration invalid, still serving the previous one');
      metrics.reload(false);
      return { ok: false, reason: 'invalid configuration' };
    }
    const applied = await swapIn(result.config);
    if (!applied.ok) {
      metrics.reload(false);
      return applied;
    }
    metrics.reload(true);
    logger.info({ file: config.file, ...applied.summary, durationMs: Math.round(performance.now() - startedAt) }, 'configuration reloaded');
    return { ok: true };
  }

  /** Everything that can fail (binding new ports) happens before the first change. */
  async function swapIn(loaded: Config): Promise<{ ok: true; summary: Record<string, unknown> } | { ok: false; reason: string }> {
    warnAboutRestartOnlyChanges(config, loaded, logger);
    // What runs keeps the settings only a restart can change, so `config` tells the truth.
    const { threads, tasksPerThread, spawner } = config.pool;
    const next: Config = { ...loaded, pool: { ...loaded.pool, threads, tasksPerThread, spawner }, metricsListen: config.metricsListen };
    const { kept, added, reclaimed, rebound, removed } = planListeners(listeners, next.listeners, canReconfigure, (a) =>
      released.has(listenKey(a)),
    );
    const fresh: Listener[] = [];
    for (const listenerConfig of [...added, ...reclaimed]) {
      const listener = newListener(listenerConfig);
      try {
        if (!reclaimed.includes(listenerConfig)) await listener.listen();
        else {
          await listenWithRetry(listener, () =>
            logger.warn({ listener: listenerConfig.label }, 'reload: address still held after an earlier reload removed it; retrying the bind'),
          );
        }
      } catch (error) {
        logger.error({ err: error, listener: listenerConfig.label }, 'reload failed: cannot listen, still serving the previous configuration');
        for (const started of fresh) started.closeAll();
        return { ok: false, reason: `cannot listen on ${listenerConfig.label}` };
      }
      fresh.push(listener);
    }
    // The swap: from here on nothing is refused.
    config = next;
    pool.reconfigure(next);
    currentPolicy = createMailPolicy(createRouter(next.transports), dispatcher);
    for (const [listener, listenerConfig] of kept) listener.reconfigure(listenerConfig);
    if (fdUsage) {
      const maxPrograms = maxConcurrentPrograms(next);
      sessionBudget.resize(computeSessionLimit(fdUsage.openFileLimit, fdUsage.fdsInUse, maxPrograms, metricsReserve));
      logger.info({ maxPrograms, sessionLimit: sessionBudget.limit }, 'file descriptor budget');
    }
    for (const listener of removed) {
      released.add(listenKey(listener.config));
      retiring.add(listener);
      listener.drain();
      void listener.closed().then(() => retiring.delete(listener));
    }
    listeners = [...kept.keys(), ...fresh];
    for (const listenerConfig of rebound) {
      const listener = newListener(listenerConfig);
      const bound = await listenWithRetry(listener).then(() => true, () => false);
      if (bound) listeners.push(listener);
      else logger.error({ listener: listenerConfig.label }, 'reload: could not bind again after the TLS mode changed; this Listen is down until the next reload');
    }
    for (const listener of listeners) released.delete(listenKey(listener.config));
    // A stop that began while this reload was binding drained the listeners of that moment.
    if (stopping) for (const listener of listeners) listener.drain();
    return {
      ok: true,
      summary: {
        listeners: listeners.map((l) => l.config.label),
        removed: removed.map((l) => l.config.label),
        transports: next.transports.map((t) => t.name),
      },
    };
  }

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
    for (const listener of everyListener()) listener.drain();
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
      await Promise.race([dispatcher.idle(), settle]);
      for (const listener of everyListener()) listener.closeAll();
      await Promise.race([allClosed(), settle]);
    }
    await pool.close();
    // No program runs any more: whatever they left behind gets SIGKILL now.
    reaper?.stop();
    await metricsServer?.close();
    logger.info({ result: first === 'drained' ? 'graceful' : 'forced' }, 'stopped');
    return first === 'drained' ? 'graceful' : 'forced';
  }

  return {
    get listeners() {
      return listeners;
    },
    reload() {
      const run = reloads.then(reloadOnce, reloadOnce);
      reloads = run;
      return run;
    },
    get metricsAddress() {
      return metricsAddress;
    },
    async start() {
      fdUsage = readFdUsage();
      const { openFileLimit, fdsInUse } = fdUsage;
      const maxPrograms = maxConcurrentPrograms(config);
      sessionBudget.resize(computeSessionLimit(openFileLimit, fdsInUse, maxPrograms, metricsReserve));
      logger.info({ openFileLimit, fdsInUse, maxPrograms, sessionLimit: sessionBudget.limit }, 'file descriptor budget');
      const { reapOrphan } = options;
      if (reapOrphan) reaper = createOrphanReaper({ reapOrphan, runs: pool.runs, logger });
      const { spawner, lineEndings } = pool;
      if (spawner.fallbackReason !== null) {
        logger.warn({ reason: spawner.fallbackReason }, 'native spawner unavailable: programs start through child_process');
      }
      if (lineEndings.fallbackReason !== null) {
        logger.warn({ reason: lineEndings.fallbackReason }, 'native line-ending scans unavailable: using the JavaScript ones (slower on large messages)');
      }
      // All or nothing: a daemon serving some of its Listens would look healthy to a
      // supervisor that only sees the process (and /readyz would never turn ready).
      const bound = await Promise.allSettled([...listeners.map((listener) => listener.listen()), metricsServer ? metricsServer.listen() : null]);
      const failure = bound.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failure) {
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
          transports: config.transports.map((t) => t.name),
          spawner: spawner.name,
          lineEndings: lineEndings.name,
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

/** Programs that may run at once: what each costs in descriptors sizes the session budget. */
function maxConcurrentPrograms(config: Config): number {
  return Math.min(
    config.transports.reduce((sum, transport) => sum + transport.concurrency, 0),
    config.pool.threads * config.pool.tasksPerThread,
  );
}

/**
 * Binds, retrying while the address is in use, for an address this daemon closed itself.
 * Nothing signals when the last copy of a closed socket goes (a program's execve()), so
 * this is a bounded retry, not a wait for an event. Rejects with the last error.
 */
async function listenWithRetry(listener: Listener, onFirstRetry: () => void = () => {}): Promise<AddressInfo> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await listener.listen();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= REBIND_ATTEMPTS) throw error;
      if (attempt === 1) onFirstRetry();
      await new Promise((resolve) => setTimeout(resolve, REBIND_DELAY_MS));
    }
  }
}

/** Settings fixed for the life of the process: a reload keeps the old value and says so. */
function warnAboutRestartOnlyChanges(current: Config, next: Config, logger: Logger): void {
  const fixed: Array<[string, unknown, unknown]> = [
    ['Pool_Threads', current.pool.threads, next.pool.threads],
    ['Pool_Tasks_Per_Thread', current.pool.tasksPerThread, next.pool.tasksPerThread],
    ['Spawner', current.pool.spawner, next.pool.spawner],
    ['Metrics_Listen', current.metricsListen?.label ?? null, next.metricsListen?.label ?? null],
  ];
  for (const [option, was, now] of fixed) {
    if (was !== now) logger.warn({ option, running: was, file: now }, 'reload: this option takes effect only after a restart');
  }
}
