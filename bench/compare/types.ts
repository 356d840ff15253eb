// The plain-data shapes of one comparison run: what scenarios produce and what the pure
// modules (targets, report-md, chart-svg) consume. Types only: no I/O, no logic, so the
// JSON written to bench/results/ is exactly a RunReport.

/** One load point of the matrix: the same generator flags for every system. */
export interface LoadPoint {
  readonly connections: number;
  /** As given to the generator's --size: "2k", "100k", "10m". */
  readonly size: string;
  readonly sizeBytes: number;
  readonly durationSeconds: number;
}

export type Status = 'ok' | 'failed' | 'skipped';

/** Server-side figures sampled from /proc while a point ran (see measure.ts). */
export interface ServerUsage {
  /** Peak of the summed RSS of the server's process tree (sampled), MB. */
  readonly peakRssMb: number;
  /** Peak of the summed PSS (shared pages split between processes), MB; null when not sampled. */
  readonly peakPssMb: number | null;
  /** utime+stime of the server's main process over the window, % of one core. */
  readonly cpuPct: number;
  /** utime+stime (+ reaped children) of the whole tree, programs included, % of one core. */
  readonly treeCpuPct: number;
}

/** One system at one load point. */
export interface Measurement {
  /** Display name and chart line, e.g. "smtpipe (native)", "postfix (e2e)". */
  readonly system: string;
  readonly point: LoadPoint;
  readonly status: Status;
  /** Why it failed or was skipped, or a remark on an ok result. */
  readonly note: string | null;
  /** 2xx replies (or, end to end, deliveries) per second of the window. */
  readonly msgsPerSecond: number;
  /** msgsPerSecond x message size, bytes/s. */
  readonly bytesPerSecond: number;
  /** Final dot -> final reply, ms. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly sent: number;
  readonly ok2xx: number;
  readonly fail4xx: number;
  readonly fail5xx: number;
  /** Generator errors + timeouts + resets. */
  readonly errors: number;
  /** Seconds the rate is computed over (the generator's run, or until the queue drained). */
  readonly windowSeconds: number;
  readonly usage: ServerUsage | null;
}

export type LoopKind = 'child_process' | 'native' | 'c-posix_spawn';

/** A tight spawn-and-wait loop: the ceiling any program-per-message server can reach. */
export interface SpawnLoopResult {
  readonly loop: LoopKind;
  readonly concurrency: number;
  readonly stdinBytes: number;
  readonly status: Status;
  readonly note: string | null;
  readonly spawns: number;
  readonly seconds: number;
  readonly spawnsPerSecond: number;
  /** spawnsPerSecond x stdinBytes. */
  readonly bytesPerSecond: number;
  /** Spawn -> reaped, ms. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** Small-message throughput with and without 200 large messages held in flight. */
export interface MemoryResult {
  readonly system: string;
  readonly status: Status;
  readonly note: string | null;
  readonly heldMessages: number;
  readonly heldBytes: number;
  readonly baseline: Measurement | null;
  readonly loaded: Measurement | null;
  /** loaded / baseline msgs/s; null when either is missing. */
  readonly ratio: number | null;
}

export type Verdict = 'PASS' | 'FAIL' | 'SKIP';

/** One line of the targets list. */
export interface TargetResult {
  readonly verdict: Verdict;
  /** e.g. "c=50 2k: smtpipe (native) / naive". */
  readonly name: string;
  readonly value: number | null;
  /** e.g. ">= 1.8x". */
  readonly goal: string;
  readonly detail: string;
}

export interface HostInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly node: string;
  readonly memoryMb: number;
  /** 1-minute load average when the run started: the machine is shared. */
  readonly loadAverage: number;
}

export interface RunReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly mode: 'default' | 'full';
  readonly host: HostInfo;
  readonly measurements: readonly Measurement[];
  readonly spawnLoops: readonly SpawnLoopResult[];
  readonly memory: readonly MemoryResult[];
  readonly targets: readonly TargetResult[];
  /** Fairness remarks and skip reasons, in the order they arose. */
  readonly notes: readonly string[];
}
