// The two-stage stop. A drain lets every delivery in flight finish and get its real reply
// (within Shutdown_Timeout); force SIGKILLs running programs (their clients get 451) and
// closes every session with 421. Waits on events only; daemon.ts hands in what to stop.
//
// States: serving -> draining -> [forcing] -> stopped. A second signal or the deadline
// turns a drain into a force.

import type { Logger } from 'pino';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { DeliveryPool } from '../pool/pool.js';
import type { Listener } from '../smtp/listener.js';

export type StopResult = 'graceful' | 'forced';

/** After a force, how long replies and 421s get to reach clients. */
const FORCE_SETTLE_MS = 3000;

export interface Shutdown {
  /** First stage: drain within the deadline, then force. Idempotent. */
  stop(): Promise<StopResult>;
  /** Second stage, at once. */
  force(): void;
  /** True from the first stop() on. */
  readonly stopping: boolean;
}

export interface ShutdownParts {
  readonly logger: Logger;
  readonly pool: Pick<DeliveryPool, 'idle' | 'killAll' | 'close'>;
  readonly dispatcher: Pick<Dispatcher, 'inFlight' | 'idle'>;
  /** Every listener at the moment of asking, serving or retiring. */
  readonly listeners: () => readonly Listener[];
  /** Shutdown_Timeout of the config in force when the stop begins. */
  readonly deadlineMs: () => number;
  /** Called first (/readyz turns 503). */
  readonly onDraining: () => void;
  /** Called once the pool is closed and no program runs (orphans, the metrics endpoint). */
  readonly afterPool: () => Promise<void>;
}

export function createShutdown(parts: ShutdownParts): Shutdown {
  const { logger, pool, dispatcher } = parts;
  let stopping: Promise<StopResult> | undefined;
  let forceNow: () => void = () => {};
  const forced = new Promise<void>((resolve) => {
    forceNow = resolve;
  });
  const allClosed = () => Promise.all(parts.listeners().map((listener) => listener.closed())).then(() => undefined);

  async function drainThenForce(): Promise<StopResult> {
    parts.onDraining();
    const deadlineMs = parts.deadlineMs();
    logger.info({ inFlight: dispatcher.inFlight, deadlineMs }, 'draining');
    for (const listener of parts.listeners()) listener.drain();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
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
      for (const listener of parts.listeners()) listener.closeAll();
      await Promise.race([allClosed(), settle]);
    }
    await pool.close();
    await parts.afterPool();
    const result = first === 'drained' ? 'graceful' : 'forced';
    logger.info({ result }, 'stopped');
    return result;
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

  return {
    get stopping() {
      return stopping !== undefined;
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
