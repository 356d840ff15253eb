// The plain-data shapes of one comparison run: what scenarios produce and what the pure
// modules (targets, report-md, chart-svg) consume. Types only: no I/O, no logic, so the
// JSON written to bench/results/ is exactly a RunReport.

import type { CpuPerMessage } from './cpu-costs.js';

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
  /** null when the resources group did not run. */
  readonly resources: ResourcesResult | null;
  /** null when the held-large group did not run. */
  readonly heldLarge: HeldLargeResult | null;
  /** The large-ceiling and baseline groups, when they ran. */
  readonly interleaved: readonly InterleavedResult[];
  /** The cpu group (issue 17); absent or null when it did not run. */
  readonly cpu?: CpuResult | null;
  readonly targets: readonly TargetResult[];
  /** Fairness remarks and skip reasons, in the order they arose. */
  readonly notes: readonly string[];
}

/** One RSS sample of the smtpipe process: seconds since the sampled run started, MB. */
export interface RssSample {
  readonly t: number;
  readonly rssMb: number;
}

/** 1,000 (plan) raw sessions past EHLO, then idle: what each costs the daemon. */
export interface IdleSessionsResult {
  readonly status: Status;
  readonly note: string | null;
  readonly sessionsWanted: number;
  /** Sessions that got their EHLO reply and were idle when "with" was sampled. */
  readonly sessionsOpen: number;
  /** Median of the samples before any session opened, MB. */
  readonly baselineRssMb: number | null;
  readonly baselinePssMb: number | null;
  /** Median of the samples while every session was open and idle, MB. */
  readonly withRssMb: number | null;
  readonly withPssMb: number | null;
  /** Highest RSS the kernel saw (VmHWM) by the time the sessions were closed, MB. */
  readonly peakRssMb: number | null;
  /** A few seconds after the sessions were closed, MB. */
  readonly afterCloseRssMb: number | null;
  /** (with - baseline) / sessions open, KB. */
  readonly perSessionKb: number | null;
}

/** Many large messages in flight at once, each held by a program that does not read it yet. */
export interface LargeDeliveriesResult {
  readonly status: Status;
  readonly note: string | null;
  readonly messages: number;
  readonly sizeBytes: number;
  readonly sampleIntervalMs: number;
  /** Seconds from the start of sending until every program was holding its message; null = never. */
  readonly allHeldAfterSeconds: number | null;
  readonly baselineRssMb: number | null;
  /** Peak of the RSS samples (every sampleIntervalMs), MB. */
  readonly peakRssMb: number | null;
  /** The kernel's high-water mark (VmHWM) at the end: the peak no sampling can miss, MB. */
  readonly hwmRssMb: number | null;
  readonly peakPssMb: number | null;
  /** peakRssMb / (messages x size). */
  readonly peakPerInFlight: number | null;
  /** Most programs seen holding their message at once (sampled every 250 ms). */
  readonly maxHeldPrograms: number;
  readonly ok2xx: number;
  readonly fail4xx: number;
  readonly fail5xx: number;
  readonly errors: number;
  readonly seconds: number;
}

/** RSS at one point of the growth run. */
export interface RssCheckpoint {
  readonly seconds: number;
  readonly rssMb: number | null;
}

/** A long steady run: does the daemon's RSS keep growing? */
export interface GrowthResult {
  readonly status: Status;
  readonly note: string | null;
  readonly connections: number;
  readonly size: string;
  readonly durationSeconds: number;
  /** The fit covers the samples from here to durationSeconds. */
  readonly fitFromSeconds: number;
  readonly samples: readonly RssSample[];
  readonly checkpoints: readonly RssCheckpoint[];
  /** Least-squares slope over the fit window, MB per minute. */
  readonly slopeMbPerMin: number | null;
  /** Rise of the fitted line over the window / its value at the window's start, %. */
  readonly growthPct: number | null;
  readonly msgsPerSecond: number;
  readonly ok2xx: number;
  readonly errors: number;
}

/** The resources group: smtpipe's memory with idle sessions, large messages, and over time. */
export interface ResourcesResult {
  /** "smtpipe (native)", or "smtpipe (default)" when the native spawner was unavailable. */
  readonly system: string;
  readonly idle: IdleSessionsResult;
  readonly large: LargeDeliveriesResult;
  readonly growth: GrowthResult;
}

/**
 * The held-large group (issue 13's first target): many large messages in flight at once,
 * held by a slow transport until all have been sent, then delivered and checked byte by byte.
 */
export interface HeldLargeResult {
  readonly system: string;
  readonly status: Status;
  readonly note: string | null;
  readonly messages: number;
  /** Each message as the program should receive it (LF line endings), bytes. */
  readonly sizeBytes: number;
  /** Each message on the wire (CRLF, dot-stuffed, without the final dot), bytes. */
  readonly wireBytes: number;
  /** The slow transport's concurrency: programs running at once; the rest wait in the daemon. */
  readonly concurrency: number;
  /** Seconds from the first connection until every message's final dot was written; null = never. */
  readonly allSentAfterSeconds: number | null;
  /** Most messages whose final dot was written and whose reply had not come, at once. */
  readonly maxInFlight: number;
  /** Most slow programs seen running at once (sampled every 250 ms). */
  readonly maxHeldPrograms: number;
  readonly baselineRssMb: number | null;
  /** Peak of the RSS samples of the daemon process, MB. */
  readonly peakRssMb: number | null;
  /** The kernel's high-water mark (VmHWM) of the daemon process at the end, MB. */
  readonly hwmRssMb: number | null;
  readonly sampleIntervalMs: number;
  readonly ok2xx: number;
  /** Final replies other than 2xx, and sessions that ended without a final reply. */
  readonly failed: number;
  /** Messages whose SHA-256, as the program computed it, equals one of the sent ones. */
  readonly byteExact: number;
  /** Digests the programs wrote that match no sent message (corrupted deliveries). */
  readonly corrupted: number;
  readonly seconds: number;
}

/** Systems measured in turn at one point, several rounds (ABBA order), to compare within noise. */
export interface InterleavedResult {
  /** The --only group: "large-ceiling" or "baseline". */
  readonly group: string;
  readonly status: Status;
  readonly note: string | null;
  readonly point: LoadPoint;
  /** The systems in the order of the first round; [numerator, denominator] of the target. */
  readonly systems: readonly string[];
  readonly rounds: number;
  /** Every run, in the order it ran. */
  readonly measurements: readonly Measurement[];
}

/** 'sink-equal-rate': the bare sink offered (smtp-load -R) the msgs/s smtpipe reached in the same round. */
export type CpuRole = 'sink' | 'sink-equal-rate' | 'smtpipe' | 'smtpipe-processes';

/** One server measured over a fixed number of messages in the cpu group. */
export interface CpuServerRun {
  readonly system: string;
  /** The bare smtp-server sink (at full speed or at smtpipe's rate), smtpipe with one process, or with `Processes = N`. */
  readonly role: CpuRole;
  /** The rate offered to the generator (-R), msgs/s; null = full speed. */
  readonly offeredRate: number | null;
  /** Front-end processes (1 unless the daemon ran with Processes = N). */
  readonly processes: number;
  readonly status: Status;
  readonly note: string | null;
  /** 2xx replies in the measured window: the per-message divisor. */
  readonly messages: number;
  readonly seconds: number;
  readonly msgsPerSecond: number;
  /** The server's CPU per message; null when the run failed. */
  readonly cpu: CpuPerMessage | null;
  /** Each front end's main thread busy over the run, % of one core (one entry per process). */
  readonly mainBusyPct: readonly number[];
  /** The load generator's own CPU per message (it shares the cores), us; null when unknown. */
  readonly generatorUs: number | null;
  /**
   * Cores busy with everything else on the machine meanwhile (other jobs: /proc/stat's busy
   * time minus the server's and the generator's), averaged over the run; null when unknown.
   */
  readonly otherLoadCores: number | null;
}

/** The C posix_spawn loop in the same round, per spawn. */
export interface CpuLoopRun {
  readonly status: Status;
  readonly note: string | null;
  readonly spawns: number;
  readonly spawnsPerSecond: number;
  /** The loop process itself (getrusage RUSAGE_SELF), us per spawn. */
  readonly selfUs: number | null;
  /** Its programs (RUSAGE_CHILDREN), us per spawn. */
  readonly childrenUs: number | null;
}

export interface CpuRound {
  readonly round: number;
  readonly servers: readonly CpuServerRun[];
  readonly loop: CpuLoopRun;
}

/** The cpu group (issue 17): CPU per message of smtpipe's threads and programs, a bare sink and the C loop. */
export interface CpuResult {
  readonly status: Status;
  readonly note: string | null;
  readonly point: LoadPoint;
  readonly warmupMessages: number;
  readonly messages: number;
  readonly clockTicksPerSecond: number;
  /** N of the `Processes = N` run, null when it did not run. */
  readonly processesOption: number | null;
  readonly cores: number;
  readonly rounds: readonly CpuRound[];
}
