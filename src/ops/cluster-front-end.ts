// A front end of Processes > 1: today's daemon (its listeners on the sockets the cluster
// shares, its pool, its orphan reaper) on its share of the limits (process-share.ts),
// without Metrics_Listen, driven by the primary over IPC (cluster-messages.ts). It must not
// act on SIGHUP itself: the primary validates the file first and reloads every front end.

import type { Logger } from 'pino';
import type { LoadResult } from '../config/load.js';
import type { Config } from '../config/types.js';
import { FRONT_END_COUNT_ENV, FRONT_END_INDEX_ENV, isToFrontEnd, type FromFrontEnd, type ToFrontEnd } from './cluster-messages.js';
import { createDaemon, type Daemon } from './daemon.js';
import { EXIT_SOFTWARE, exitForStartFailure, exitForStop } from './exit-codes.js';
import { frontEndConfig } from './process-share.js';

/** What cli.ts hands either role once the process is set up (logger, hardening). */
export interface RoleParts {
  readonly config: Config;
  readonly loadConfig: () => Promise<LoadResult>;
  readonly logger: Logger;
  readonly flush: () => void;
  readonly version: string;
  readonly reapOrphan: ((pid: number) => number) | null;
}


/** Starts the daemon; resolves -1 while it serves (the process then ends by process.exit), else an exit code. */
export async function runFrontEnd(parts: RoleParts): Promise<number> {
  const index = Number(process.env[FRONT_END_INDEX_ENV]);
  const processes = Number(process.env[FRONT_END_COUNT_ENV]);
  // Programs get a clean environment anyway; nothing else needs to see these.
  delete process.env[FRONT_END_INDEX_ENV];
  delete process.env[FRONT_END_COUNT_ENV];
  const logger = parts.logger.child({ frontEnd: index });
  const share = (result: LoadResult): LoadResult => (result.ok ? { ...result, config: frontEndConfig(result.config, processes) } : result);
  let daemon: Daemon;
  try {
    daemon = createDaemon(frontEndConfig(parts.config, processes), logger, {
      version: parts.version,
      loadConfig: () => parts.loadConfig().then(share),
      reapOrphan: parts.reapOrphan,
      frontEnd: true,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    return EXIT_SOFTWARE;
  }
  const send = (message: FromFrontEnd): void => {
    // The callback: a primary gone meanwhile is no error to raise (this process exits then).
    if (process.connected) process.send?.(message, undefined, undefined, () => {});
  };
  let started: Promise<unknown> = Promise.resolve();
  let draining = false;
  // A stop that comes while starting waits for the start: the daemon drains what it bound.
  const drain = (): void => {
    if (draining) return;
    draining = true;
    void started
      .then(() => daemon.stop())
      .then(
        (outcome) => exit(exitForStop(outcome)),
        (error: unknown) => {
          logger.fatal({ err: error }, 'stop failed');
          exit(EXIT_SOFTWARE);
        },
      );
  };
  const exit = (code: number): void => {
    parts.flush();
    process.exit(code);
  };
  const force = (): void => {
    drain();
    daemon.force();
  };
  // A signal sent to the whole group (Ctrl-C, systemd's KillMode=control-group) reaches
  // the front ends too: they drain as the primary would have told them to.
  let signalsSeen = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signalsSeen += 1;
    logger.info({ signal, stage: signalsSeen === 1 ? 'drain' : 'force' }, 'signal');
    if (signalsSeen > 1) force();
    else drain();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => logger.info({ signal: 'SIGHUP' }, 'signal ignored: the primary process reloads every front end'));
  process.on('message', (message: unknown) => {
    if (isToFrontEnd(message)) answer(message, daemon, send, { drain, force });
  });

  const starting = daemon.start();
  started = starting.catch(() => undefined);
  let addresses;
  try {
    addresses = await starting;
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    return exitForStartFailure(error);
  }
  send({ smtpipe: 'listening', listeners: addresses.map((a) => `${a.address}:${a.port}`) });
  return -1;
}

function answer(message: ToFrontEnd, daemon: Daemon, send: (message: FromFrontEnd) => void, stages: { drain(): void; force(): void }): void {
  switch (message.smtpipe) {
    case 'stop':
      stages.drain();
      return;
    case 'force':
      stages.force();
      return;
    case 'reload':
      void daemon.reload().then(
        (result) => send({ smtpipe: 'reloaded', id: message.id, ok: result.ok, reason: result.ok ? null : result.reason }),
        (error: unknown) => send({ smtpipe: 'reloaded', id: message.id, ok: false, reason: String(error) }),
      );
      return;
    case 'status':
      void daemon.metricsRegistry.getMetricsAsJSON().then(
        (metrics) => send({ smtpipe: 'status', id: message.id, ready: daemon.ready, metrics }),
        () => send({ smtpipe: 'status', id: message.id, ready: daemon.ready, metrics: [] }),
      );
  }
}
