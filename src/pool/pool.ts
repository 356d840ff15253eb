// The worker pool: Piscina threads that run programs, a p-queue per transport for its
// `concurrency`, and one bounded wait queue shared by all transports. Knows nothing of
// SMTP or replies; a delivery that cannot run comes back as a value, never a throw.
// Chooses the workers' spawner once, at creation (spawner.ts), and reports the choice.

import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import PQueue from 'p-queue';
import { Piscina } from 'piscina';
import { probeSpawnAddon } from '../../native/addons.js';
import type { Config, TransportConfig } from '../config/types.js';
import { resolveSpawner, type SpawnerName, type SpawnerReport } from './spawner.js';
import type { DeliveryTask, PoolOutcome, PoolWorkerData, ProgramOutcome } from './task.js';

export type { PoolOutcome, SpawnerName, SpawnerReport };

export interface DeliveryPool {
  /**
   * Runs one program under its transport's limits; resolves with how it ended. When
   * `signal` aborts while the task waits for a slot, it leaves the queue at once
   * (client-gone); once its program is started, the signal changes nothing.
   */
  run(transport: TransportConfig, task: DeliveryTask, signal?: AbortSignal, lane?: PoolLane): Promise<PoolOutcome>;
  /** Messages waiting for a program slot, all transports together. */
  readonly waiting: number;
  /** Program runs started and not yet ended. */
  readonly running: number;
  /** The runs in the order they started, for src/ops/orphan-reaper.ts. */
  readonly runs: RunWindow;
  /** Tells every worker to SIGKILL the process groups of its running programs. */
  killAll(): void;
  /** Waits for runs in flight, then stops the threads. */
  close(): Promise<void>;
  /** Resolves once no message waits and no program runs. */
  idle(): Promise<void>;
  /** How the workers start programs, and why `auto` fell back (log it at start-up). */
  readonly spawner: SpawnerReport;
  /**
   * Takes a reloaded config's transports (concurrency, new ones) and Pool_Max_Queue.
   * Threads and spawner stay as they started: changing those needs a restart.
   */
  reconfigure(config: Config): void;
}

/**
 * Which limits a run waits under. 'delivery': the transport's `concurrency`, and
 * Pool_Max_Queue waiting messages. 'recipient-check': recipient_check_concurrency, and
 * Pool_Max_Queue waiting checks of their own, so a flood of RCPTs never takes a slot
 * or a queue place from a message, nor spawns past its own limit.
 */
export type PoolLane = 'delivery' | 'recipient-check';

export interface RunWindow {
  /** Runs handed to a worker so far; they are numbered 1, 2, ... in that order. */
  readonly started: number;
  /** The number of the oldest run not yet ended (its program not yet reaped), or null. */
  readonly oldestRunning: number | null;
}

const WORKER_FILE = new URL('../../workers/deliver.js', import.meta.url).href;

/**
 * A worker's JS garbage is small and short-lived (task objects, argv and env strings; the
 * message itself is an external ArrayBuffer). Left to V8, each worker's young generation
 * grew towards its default ceiling for the first ~40 s of load, which was most of the
 * daemon's RSS rise at c=200 (about 160 -> 215 MB); capped at 4 MB, RSS is flat from 10 s
 * on at the same throughput (bench/README.md, "RSS growth").
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/**
 * Throws (code ERR_POOL_SPAWNER_UNAVAILABLE) when Spawner = native and the native spawner
 * fails its self-test: a start-up error, before any thread exists.
 */
export function createDeliveryPool(config: Config): DeliveryPool {
  const resolution = resolveSpawner(config.pool.spawner, probeSpawnAddon);
  if (!resolution.ok) throw Object.assign(new Error(resolution.reason), { code: 'ERR_POOL_SPAWNER_UNAVAILABLE' });
  const spawner = resolution.report;
  // Unique per pool without module state: tests run several daemons in one process.
  const killChannel = `smtpipe-kill-${randomUUID()}`;
  const workerData: PoolWorkerData = { killChannel, spawner: spawner.name };
  const piscina = new Piscina<DeliveryTask, ProgramOutcome>({
    filename: WORKER_FILE,
    minThreads: config.pool.threads,
    maxThreads: config.pool.threads,
    concurrentTasksPerWorker: config.pool.tasksPerThread,
    idleTimeout: Number.MAX_SAFE_INTEGER,
    // Admission is bounded by our own queues below; Piscina's never refuses.
    maxQueue: Number.MAX_SAFE_INTEGER,
    // A worker supervises many children at once: its event loop must never block.
    atomics: 'disabled',
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    // Deliveries are timed by the dispatcher (metrics); Piscina's histograms are never read.
    recordTiming: false,
    workerData,
  });
  // A removed transport's queue stays: runs in flight finish on it, and it costs nothing idle.
  const queues = new Map<string, PQueue>();
  const checkQueues = new Map<string, PQueue>();
  let maxQueue = 0;
  const configure = (next: Config) => {
    maxQueue = next.pool.maxQueue;
    for (const transport of next.transports) {
      setConcurrency(queues, transport.name, transport.concurrency);
      setConcurrency(checkQueues, transport.name, transport.recipientCheckConcurrency);
    }
  };
  configure(config);
  const broadcaster = new BroadcastChannel(killChannel);
  broadcaster.unref();
  // Numbers of the runs in flight; a Set keeps insertion order, so the first is the oldest.
  const inFlight = new Set<number>();
  let started = 0;
  const runs: RunWindow = {
    get started() {
      return started;
    },
    get oldestRunning() {
      for (const number of inFlight) return number;
      return null;
    },
  };
  const countWaiting = (lane: ReadonlyMap<string, PQueue> = queues) => {
    let waiting = 0;
    for (const queue of lane.values()) waiting += queue.size;
    return waiting;
  };
  // Set by killAll(): messages still waiting are refused instead of started.
  let killed = false;

  async function runOnPool(task: DeliveryTask): Promise<PoolOutcome> {
    started += 1;
    const number = started;
    inFlight.add(number);
    try {
      // A shared message (header set, LMTP) is cloned for each run, never transferred.
      const { message } = task;
      const transfer = message.kind === 'bytes' && message.header === undefined ? [message.bytes] : [];
      return await piscina.run(task, { transferList: transfer });
    } catch (error) {
      // A worker that died (or a bug in it): the program's fate is unknown, so tempfail.
      return { kind: 'pool-failed', message: error instanceof Error ? error.message : String(error) };
    } finally {
      inFlight.delete(number);
    }
  }

  return {
    spawner,
    get waiting() {
      return countWaiting();
    },
    get running() {
      return inFlight.size;
    },
    runs,
    async run(transport, task, signal, lane = 'delivery') {
      const laneQueues = lane === 'delivery' ? queues : checkQueues;
      const queue = laneQueues.get(transport.name);
      if (!queue) throw new Error(`no queue for transport ${transport.name}`);
      if (signal?.aborted) return { kind: 'client-gone' };
      const start = () => (killed ? Promise.resolve<PoolOutcome>({ kind: 'pool-busy' }) : runOnPool(task));
      // A free slot and no one waiting: p-queue starts the task within add(), so there is no
      // wait to leave, and the controller and listeners below would be made for nothing.
      if (queue.size === 0 && queue.pending < queue.concurrency && !queue.isPaused) return queue.add(start);
      if (queue.pending >= queue.concurrency && countWaiting(laneQueues) >= maxQueue) return { kind: 'pool-busy' };
      // p-queue's own signal would also end the wait for a task already running, and free
      // its slot under a live program: this one is aborted only while the task waits.
      const waiting = new AbortController();
      let started = false;
      const leave = () => {
        if (!started) waiting.abort();
      };
      signal?.addEventListener('abort', leave, { once: true });
      try {
        return await queue.add(
          () => {
            started = true;
            return start();
          },
          { signal: waiting.signal },
        );
      } catch (error) {
        if (waiting.signal.aborted) return { kind: 'client-gone' };
        throw error;
      } finally {
        signal?.removeEventListener('abort', leave);
      }
    },
    reconfigure: configure,
    killAll() {
      killed = true;
      broadcaster.postMessage('kill');
    },
    async idle() {
      await Promise.all([...queues.values(), ...checkQueues.values()].map((queue) => queue.onIdle()));
    },
    async close() {
      await this.idle();
      await piscina.close();
      broadcaster.close();
    },
  };
}

/** A transport's queue in one lane at `concurrency`, created on first sight. */
function setConcurrency(lane: Map<string, PQueue>, name: string, concurrency: number): void {
  const queue = lane.get(name);
  if (queue) queue.concurrency = concurrency;
  else lane.set(name, new PQueue({ concurrency }));
}
