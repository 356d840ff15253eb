// What crosses the thread boundary between the pool and workers/deliver.ts: the task, the
// outcome and the workers' start-up data, plain data only (structured clone), the message
// as a transferred ArrayBuffer or a spool file's descriptor (threads share the process's
// fds). Types only: workers/ may import nothing else from src/.

import type { RunAs } from '../config/types.js';

/** How the workers start programs: native/spawn.c or Node's child_process. */
export type SpawnerName = 'native' | 'child_process';

/** Piscina's workerData: what each worker thread sets itself up from, once, as it loads. */
export interface PoolWorkerData {
  /** BroadcastChannel on which killAll() is announced to the workers. */
  readonly killChannel: string;
  /** How every worker starts programs: decided once, on the main thread. */
  readonly spawner: SpawnerName;
}

export interface DeliveryTask {
  /** argv[0]: run directly, never through a shell. */
  readonly program: string;
  /** argv[1..], macros already expanded. */
  readonly args: readonly string[];
  /** The whole environment of the program (clean: nothing inherited). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The bytes the program reads on stdin, exactly: trace headers and the transport's line
   * ending were applied while the message was received (src/message/), nothing is rewritten.
   */
  readonly message: TaskMessage;
  readonly timeoutMs: number;
  /** After SIGTERM on timeout, how long before SIGKILL. */
  readonly killGraceMs: number;
  /** null = /dev/null. Opened for append, created with the mode. */
  readonly outputFile: string | null;
  readonly outputMode: number;
  readonly errorFile: string | null;
  readonly errorMode: number;
  /** uid and gid the program runs under, without supplementary groups; null = the daemon's. */
  readonly runAs: RunAs | null;
  /** The program's working directory; null = the daemon's. */
  readonly cwd: string | null;
  /** The program's umask; null = the daemon's. */
  readonly umask: number | null;
  /** reply_from_output: the stream searched for a status line on a non-zero exit. */
  readonly replyFromOutput: 'none' | 'stdout' | 'stderr';
}

/**
 * A message in memory goes through a pipe; a spooled one is the program's stdin itself.
 */
export type TaskMessage =
  | {
      readonly kind: 'bytes';
      /** Transferred to the worker (never a pooled Buffer's ArrayBuffer), unless `header` is set. */
      readonly bytes: ArrayBuffer;
      /**
       * Trace headers for this run only (LMTP: they name its recipient), written to stdin
       * before the bytes. The bytes are then shared by several runs: each task gets a
       * copy (structured clone) when it is posted to a worker, so copies exist only for
       * runs about to start, never for runs waiting in a transport's queue.
       */
      readonly header?: string;
    }
  /**
   * The daemon's read-write descriptor of an anonymous spool file (O_TMPFILE), `size`
   * bytes long. The daemon owns and closes it once the task has settled; the worker gives
   * each run its own read-only descriptor at offset 0 (via /proc/self/fd), never this one.
   */
  | {
      readonly kind: 'file';
      readonly fd: number;
      readonly size: number;
      /**
       * Trace headers for this run only (LMTP: they name its recipient): the program's
       * stdin is then a pipe, fed the header and then the file. Absent: the file is stdin.
       */
      readonly header?: string;
    };

/**
 * Group kills of a run that reached no process, as "SIGNAL CODE" ("SIGTERM EPERM": a
 * setuid program changed the uid of everything left in the group). Logged as a warning;
 * they never change the reply.
 */
export type KillFailures = readonly string[];

/**
 * How long the worker spent on the run, from before the spawn to the reap (and the group
 * kill): the program's own time, without the wait for a slot. Set by workers/deliver.ts
 * on every outcome it returns; absent on outcomes made elsewhere (tests, tools).
 */
export interface RunTime {
  readonly runMs?: number;
}

/** How one program run ended. Operational outcomes are values, never thrown. */
export type ProgramOutcome = RunTime &
  (
  | {
      readonly kind: 'exited';
      readonly pid: number;
      readonly exitCode: number;
      /** The program closed stdin early (EPIPE): logged, the exit status still decides. */
      readonly stdinError: string | null;
      readonly killFailures: KillFailures;
      /**
       * With reply_from_output, on a non-zero exit: the first line of that stream that began
       * with an enhanced status code, as read (at most OUTPUT_LINE_MAX_BYTES, decoded as
       * UTF-8, its line ending removed); null when none or not asked for. src/delivery
       * decides whether it may word the reply, and cleans it.
       */
      readonly statusLine: string | null;
      /** The last 1 KiB of a failed run's stderr, as UTF-8; null on success, empty, or with error_file. */
      readonly stderrTail: string | null;
    }
  | {
      readonly kind: 'signaled';
      readonly pid: number;
      readonly signal: string;
      readonly killFailures: KillFailures;
      readonly stderrTail: string | null;
    }
  | {
      readonly kind: 'timed-out';
      readonly pid: number;
      /** The signal that finally ended it (SIGTERM, or SIGKILL after the grace); null if it exited. */
      readonly signal: string | null;
      readonly killFailures: KillFailures;
      readonly stderrTail: string | null;
    }
  | {
      readonly kind: 'spawn-failed';
      /** errno code: ENOENT, EACCES, ... */
      readonly errorCode: string;
      readonly message: string;
    }
  | {
      readonly kind: 'output-failed';
      /** output_file or error_file could not be opened: the program was not started. */
      readonly errorCode: string;
      /** Names the option and the path: "output_file /x: is a symbolic link". */
      readonly message: string;
    }
  );

/**
 * What DeliveryPool.run() resolves with: a program run's outcome, or the pool's own two.
 * Created here, in the execution layer; src/delivery maps each kind to a reply.
 */
export type PoolOutcome =
  | ProgramOutcome
  /** No program slot and the wait queue full (Pool_Max_Queue), or a forced stop began. */
  | { readonly kind: 'pool-busy' }
  /** The caller's signal aborted (its client left) before a program slot came: nothing ran. */
  | { readonly kind: 'client-gone' }
  /** The worker died or threw (a bug): the program's fate is unknown. */
  | { readonly kind: 'pool-failed'; readonly message: string };
