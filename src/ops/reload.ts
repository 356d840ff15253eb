// Reload (SIGHUP): loads the file again and swaps the new Config in as one step. New
// transactions route with it, a transaction already past MAIL FROM finishes with the
// transport objects it started with, Listens are reconfigured, added or drained
// (listener-plan.ts decides which). An invalid file, or a new Listen that cannot bind,
// changes nothing. Reloads run one at a time.

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { listenKey } from '../config/listen-address.js';
import { formatDiagnostic, type LoadResult } from '../config/load.js';
import type { Config, ListenerConfig } from '../config/types.js';
import { canReconfigure, type Listener } from '../smtp/listener.js';
import { planListeners } from './listener-plan.js';
import { summarizeReload } from './reload-summary.js';
import type { Metrics } from './metrics.js';

export type ReloadResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What the daemon serves now; a reload changes it in place. */
export interface Serving {
  config: Config;
  /** The listeners serving now (not those draining after a reload removed them). */
  listeners: Listener[];
  /** Listens a reload removed, still draining their sessions. */
  readonly retiring: Set<Listener>;
  /** Addresses (listenKey) a reload removed and nothing has bound since: see listener-plan.ts, reclaimed. */
  readonly released: Set<string>;
}

export interface ReloadParts {
  readonly serving: Serving;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'reload'>;
  /** How the config is read again (the CLI passes loadConfig of the same file). */
  readonly loadConfig: (() => Promise<LoadResult>) | undefined;
  readonly newListener: (config: ListenerConfig) => Listener;
  /** Puts `next` in force for all but the listeners (pool, routing, fd budget); cannot fail. */
  readonly apply: (next: Config) => void;
  readonly stopping: () => boolean;
  /** What an applied reload logs: a front end's says 'front end reloaded' (cluster-primary.ts logs the one line). */
  readonly reloadedMessage: string;
}

/**
 * A Listen bound again on an address this daemon let go of (Use_SSL changed, or an
 * earlier reload removed it) waits this long for the old socket to let go: 2 s.
 */
const REBIND_ATTEMPTS = 40;
const REBIND_DELAY_MS = 50;

type SwapResult = { ok: true; summary: Record<string, unknown> } | { ok: false; reason: string };

/** reload(), serialised: a reload that comes while one runs starts when it ends. */
export function createReloader(parts: ReloadParts): () => Promise<ReloadResult> {
  let reloads: Promise<unknown> = Promise.resolve();
  const once = () => reloadOnce(parts);
  return () => {
    const run = reloads.then(once, once);
    reloads = run;
    return run;
  };
}

async function reloadOnce(parts: ReloadParts): Promise<ReloadResult> {
  const { logger, metrics, serving } = parts;
  if (parts.stopping()) {
    logger.warn('reload ignored: shutting down');
    return { ok: false, reason: 'stopping' };
  }
  if (!parts.loadConfig) return { ok: false, reason: 'no config loader' };
  const startedAt = performance.now();
  const result = await parts.loadConfig();
  for (const warning of result.warnings) logger.warn({ diagnostic: formatDiagnostic(warning) }, 'config warning');
  if (!result.ok) {
    for (const error of result.errors) logger.error({ diagnostic: formatDiagnostic(error) }, 'config error');
    logger.error({ file: serving.config.file, errors: result.errors.length }, 'reload failed: configuration invalid, still serving the previous one');
    metrics.reload(false);
    return { ok: false, reason: 'invalid configuration' };
  }
  const applied = await swapIn(result.config, parts);
  if (!applied.ok) {
    metrics.reload(false);
    return applied;
  }
  metrics.reload(true);
  logger.info({ file: serving.config.file, ...applied.summary, durationMs: Math.round(performance.now() - startedAt) }, parts.reloadedMessage);
  return { ok: true };
}

/** Everything that can fail (binding new ports) happens before the first change. */
async function swapIn(loaded: Config, parts: ReloadParts): Promise<SwapResult> {
  const { serving, logger, newListener } = parts;
  const current = serving.config;
  // What runs keeps the settings only a restart can change, so `config` tells the truth.
  const { threads, tasksPerThread, spawner } = current.pool;
  const next: Config = {
    ...loaded,
    pool: { ...loaded.pool, threads, tasksPerThread, spawner },
    metricsListen: current.metricsListen,
    processes: current.processes,
    spool: { ...loaded.spool, directory: current.spool.directory },
  };
  const { kept, added, reclaimed, rebound, removed } = planListeners(serving.listeners, next.listeners, canReconfigure, (a) =>
    serving.released.has(listenKey(a)),
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
      // The error says "cannot listen on ADDR: EADDRINUSE ..." (listener.ts).
      const reason = error instanceof Error ? error.message : `cannot listen on ${listenerConfig.label}`;
      logger.error({ err: error, listener: listenerConfig.label }, `reload failed: ${reason}; still serving the previous configuration`);
      for (const started of fresh) started.closeAll();
      return { ok: false, reason };
    }
    fresh.push(listener);
  }
  // The swap: from here on nothing is refused. Only a reload that applies says what it did not.
  warnAboutRestartOnlyChanges(current, loaded, logger);
  serving.config = next;
  parts.apply(next);
  for (const [listener, listenerConfig] of kept) listener.reconfigure(listenerConfig);
  for (const listener of removed) {
    serving.released.add(listenKey(listener.config));
    serving.retiring.add(listener);
    listener.drain();
    void listener.closed().then(() => serving.retiring.delete(listener));
  }
  serving.listeners = [...kept.keys(), ...fresh];
  for (const listenerConfig of rebound) {
    const listener = newListener(listenerConfig);
    const bound = await listenWithRetry(listener).then(() => true, () => false);
    if (bound) serving.listeners.push(listener);
    else logger.error({ listener: listenerConfig.label }, 'reload: could not bind again after the TLS mode changed; this Listen is down until the next reload');
  }
  for (const listener of serving.listeners) serving.released.delete(listenKey(listener.config));
  // A stop that began while this reload was binding drained the listeners of that moment.
  if (parts.stopping()) for (const listener of serving.listeners) listener.drain();
  return {
    ok: true,
    summary: {
      listeners: serving.listeners.map((l) => l.config.label),
      transports: next.transports.map((t) => t.name),
      ...summarizeReload(current, next),
    },
  };
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
    ['Processes', current.processes, next.processes],
    ['Metrics_Listen', current.metricsListen?.label ?? null, next.metricsListen?.label ?? null],
    ['Spool_Directory', current.spool.directory.text, next.spool.directory.text],
  ];
  for (const [option, was, now] of fixed) {
    if (was !== now) logger.warn({ option, running: was, configured: now }, 'reload: this option takes effect only after a restart');
  }
}
