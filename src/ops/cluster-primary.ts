// The primary of Processes > 1: forks the front ends (node:cluster) and is the one daemon
// operators see: the pid to signal (SIGHUP validates, then reloads all; SIGTERM drains all),
// Metrics_Listen for all. Restarts a front end that dies, with a backoff, and SIGKILLs what
// its programs leave (their clients got no reply). Runs no session and no program itself.
//
// States: starting (until every front end listens) -> serving -> stopping -> exit.

import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { formatDiagnostic } from '../config/load.js';
import { createClusterMetrics, type FrontEndSeries } from './cluster-metrics.js';
import { FRONT_END_COUNT_ENV, FRONT_END_INDEX_ENV, isFromFrontEnd, type FromFrontEnd } from './cluster-messages.js';
import type { RoleParts } from './cluster-front-end.js';
import { EXIT_CONFIG, EXIT_FORCED, EXIT_OK, EXIT_SOFTWARE } from './exit-codes.js';
import { createMetricsServer } from './metrics-server.js';
import { createOrphanReaper } from './orphan-reaper.js';


/** A front end that ran this long before dying is restarted at once; sooner, after a backoff. */
const STABLE_MS = 30_000;
const RESTART_BACKOFF_MIN_MS = 1_000;
const RESTART_BACKOFF_MAX_MS = 30_000;
/** A scrape or /readyz waits this long for a front end's answer; a reload, the longer one. */
const STATUS_TIMEOUT_MS = 2_000;
const RELOAD_TIMEOUT_MS = 60_000;
/** Past Shutdown_Timeout, front ends have forced; this long more and the primary SIGKILLs them. */
const STOP_GRACE_MS = 10_000;

/** Pure: the wait before restarting a front end that died the `quickDeaths`-th time in a row within STABLE_MS. */
export function restartDelayMs(quickDeaths: number): number {
  if (quickDeaths <= 1) return 0;
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MIN_MS * 2 ** (quickDeaths - 2));
}

interface Slot {
  readonly index: number;
  worker: Worker | null;
  listening: boolean;
  listeners: readonly string[];
  startedAt: number;
  quickDeaths: number;
  restart: NodeJS.Timeout | null;
  exitCode: number | null;
}

interface Pending {
  readonly worker: Worker;
  readonly resolve: (message: FromFrontEnd | null) => void;
}

export async function runPrimary(parts: RoleParts): Promise<number> {
  const { config, logger } = parts;
  const processes = config.processes;
  // SCHED_NONE: each front end accepts on the shared socket itself. Round-robin makes the
  // primary accept every connection and pass it on, a cost per message for a relay that
  // opens one connection per message (docs/operations.md, "Processes"). Node's own
  // NODE_CLUSTER_SCHED_POLICY=rr still chooses round-robin.
  if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const slots: Slot[] = Array.from({ length: processes }, (_, index) => ({
    index,
    worker: null,
    listening: false,
    listeners: [],
    startedAt: 0,
    quickDeaths: 0,
    restart: null,
    exitCode: null,
  }));
  let state: 'starting' | 'serving' | 'stopping' = 'starting';
  let startFailure: number | null = null;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  // Its runs window is empty: every orphan here is a program of a dead front end, and dies at once.
  const reaper = parts.reapOrphan && createOrphanReaper({ reapOrphan: parts.reapOrphan, runs: { started: 0, oldestRunning: null }, logger });

  const ask = (worker: Worker, kind: 'reload' | 'status', timeoutMs: number): Promise<FromFrontEnd | null> =>
    new Promise((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => settle(id, null), timeoutMs);
      pending.set(id, {
        worker,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
      worker.send({ smtpipe: kind, id }, (error: Error | null) => {
        if (error) settle(id, null);
      });
    });
  const settle = (id: number, message: FromFrontEnd | null): void => {
    const waiting = pending.get(id);
    pending.delete(id);
    waiting?.resolve(message);
  };
  // A front end that has just died may not have been reported yet: its channel is closed,
  // and a send without a callback would raise an 'error' nobody handles.
  const tell = (worker: Worker | null, message: { smtpipe: 'stop' | 'force' }): void => {
    if (worker?.isConnected()) worker.send(message, () => {});
  };
  const live = () => slots.filter((slot) => slot.worker !== null && slot.listening);
  const statuses = async () => {
    const answers = await Promise.all(live().map((slot) => ask(slot.worker as Worker, 'status', STATUS_TIMEOUT_MS)));
    return answers.filter((a): a is Extract<FromFrontEnd, { smtpipe: 'status' }> => a?.smtpipe === 'status');
  };
  const metrics = createClusterMetrics(parts.version, async (): Promise<FrontEndSeries[]> => (await statuses()).map((s) => s.metrics));
  const ready = async () => {
    if (state !== 'serving' || live().length < processes) return false;
    const answers = await statuses();
    return answers.length === processes && answers.every((s) => s.ready);
  };
  const metricsServer = config.metricsListen && createMetricsServer(config.metricsListen, metrics.registry, ready);

  const fork = (slot: Slot): void => {
    slot.restart = null;
    slot.listening = false;
    slot.startedAt = performance.now();
    const worker = cluster.fork({ [FRONT_END_INDEX_ENV]: String(slot.index), [FRONT_END_COUNT_ENV]: String(processes) });
    slot.worker = worker;
    // Its death is handled on 'exit'; this only keeps a failed send from crashing the primary.
    worker.on('error', (error: Error) => logger.warn({ frontEnd: slot.index, err: error }, 'front end channel error'));
    worker.on('message', (message: unknown) => {
      if (!isFromFrontEnd(message)) return;
      if (message.smtpipe === 'listening') onListening(slot, worker, message.listeners);
      else settle(message.id, message);
    });
  };

  let resolveListening: (address: AddressInfo | null) => void = () => {};
  const allListening = new Promise<AddressInfo | null>((resolve) => {
    resolveListening = resolve;
  });
  const onListening = (slot: Slot, worker: Worker, listeners: readonly string[]): void => {
    slot.listening = true;
    slot.listeners = listeners;
    if (state === 'serving') logger.info({ frontEnd: slot.index, frontEndPid: worker.process.pid }, 'front end restarted');
    if (state === 'stopping') tell(worker, { smtpipe: 'stop' });
    if (state === 'starting' && slots.every((s) => s.listening)) resolveListening(null);
  };

  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let stopDeadline: NodeJS.Timeout | null = null;
  const stop = (): void => {
    if (state === 'stopping') return;
    state = 'stopping';
    for (const slot of slots) {
      if (slot.restart) clearTimeout(slot.restart);
      slot.restart = null;
      tell(slot.worker, { smtpipe: 'stop' });
    }
    stopDeadline = setTimeout(() => {
      logger.error({ frontEnds: slots.filter((s) => s.worker).map((s) => s.worker?.process.pid) }, 'front ends still running past Shutdown_Timeout: SIGKILL');
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
    }, config.shutdownTimeoutMs + STOP_GRACE_MS);
    checkAllGone();
  };
  const checkAllGone = (): void => {
    if (state !== 'stopping' || slots.some((slot) => slot.worker !== null)) return;
    if (stopDeadline) clearTimeout(stopDeadline);
    void (async () => {
      reaper?.stop();
      await metricsServer?.close();
      const graceful = slots.every((slot) => slot.exitCode === EXIT_OK);
      if (startFailure === null) logger.info({ result: graceful ? 'graceful' : 'forced' }, 'stopped');
      finish(startFailure ?? (graceful ? EXIT_OK : EXIT_FORCED));
    })();
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.find((s) => s.worker === worker);
    if (!slot) return;
    for (const [id, waiting] of pending) if (waiting.worker === worker) settle(id, null);
    slot.worker = null;
    slot.exitCode = code;
    const wasListening = slot.listening;
    slot.listening = false;
    // Its programs are ours now (a child subreaper inherits them): they die before their
    // output can matter, as their clients got no reply and will send again.
    reaper?.sweep();
    if (state === 'stopping') return checkAllGone();
    if (state === 'starting' && !wasListening) {
      logger.fatal({ frontEnd: slot.index, frontEndPid: worker.process.pid, code, signal }, 'could not start: a front end exited before listening');
      startFailure = code === EXIT_CONFIG ? EXIT_CONFIG : EXIT_SOFTWARE;
      resolveListening(null);
      return stop();
    }
    slot.quickDeaths = performance.now() - slot.startedAt < STABLE_MS ? slot.quickDeaths + 1 : 1;
    const delayMs = restartDelayMs(slot.quickDeaths);
    logger.error({ frontEnd: slot.index, frontEndPid: worker.process.pid, code, signal, restartInMs: delayMs }, 'front end exited unexpectedly: restarting it');
    metrics.frontEndRestarted();
    slot.restart = setTimeout(() => fork(slot), delayMs);
  });

  let reloads: Promise<void> = Promise.resolve();
  const reloadOnce = async (): Promise<void> => {
    if (state === 'stopping') {
      logger.warn('reload ignored: shutting down');
      return;
    }
    const startedAt = performance.now();
    const result = await parts.loadConfig();
    if (!result.ok) {
      for (const error of result.errors) logger.error({ diagnostic: formatDiagnostic(error) }, 'config error');
      logger.error({ file: config.file, errors: result.errors.length }, 'reload failed: configuration invalid, still serving the previous one');
      metrics.reload(false);
      return;
    }
    // Each front end loads the same file again (a Config holds Maps and compiled templates:
    // it does not cross IPC as it is) and logs its own warnings and 'front end reloaded'.
    const targets = live();
    const answers = await Promise.all(targets.map((slot) => ask(slot.worker as Worker, 'reload', RELOAD_TIMEOUT_MS)));
    const failed = targets.flatMap((slot, i) => {
      const answer = answers[i];
      if (answer?.smtpipe === 'reloaded' && answer.ok) return [];
      return [{ frontEnd: slot.index, reason: answer?.smtpipe === 'reloaded' ? answer.reason : 'no answer' }];
    });
    metrics.reload(failed.length === 0);
    const durationMs = Math.round(performance.now() - startedAt);
    if (failed.length === 0) {
      logger.info({ file: config.file, frontEnds: targets.length, transports: result.config.transports.map((t) => t.name), durationMs }, 'configuration reloaded');
    } else {
      logger.error({ file: config.file, failed, durationMs }, 'reload failed in some front ends (see their lines); the others applied it');
    }
  };
  // One at a time, as in a single process (reload.ts): a SIGHUP during a reload runs after it.
  const reloadAll = (): void => {
    reloads = reloads.then(reloadOnce).catch((error: unknown) => logger.error({ err: error }, 'reload threw'));
  };

  let signalsSeen = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalsSeen += 1;
    logger.info({ signal, stage: signalsSeen === 1 ? 'drain' : 'force' }, 'signal');
    if (signalsSeen === 1) stop();
    else for (const slot of slots) tell(slot.worker, { smtpipe: 'force' });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'signal: reloading configuration');
    reloadAll();
  });

  void finished.then((code) => {
    parts.flush();
    process.exit(code);
  });
  let metricsAddress: AddressInfo | null = null;
  try {
    metricsAddress = metricsServer ? await metricsServer.listen() : null;
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    return EXIT_SOFTWARE;
  }
  for (const slot of slots) fork(slot);
  await allListening;
  if (state !== 'starting') return -1;
  state = 'serving';
  logger.info(
    {
      listeners: slots[0]?.listeners ?? [],
      transports: config.transports.map((t) => t.name),
      metrics: metricsAddress && `${metricsAddress.address}:${metricsAddress.port}`,
      processes,
      frontEnds: slots.map((slot) => slot.worker?.process.pid),
      schedulingPolicy: cluster.schedulingPolicy === cluster.SCHED_NONE ? 'none' : 'rr',
    },
    'listening',
  );
  return -1;
}
