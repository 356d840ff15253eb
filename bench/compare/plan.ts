// What one `npm run bench` measures: its flags, the load matrix (default or --full) and the
// durations. Pure: no I/O, no clock; run.ts executes the plan, scenarios/ know how.

import { parseArgs } from 'node:util';
import type { LoadPoint } from './types.js';

export const SCENARIOS = [
  'spawn',
  'ceiling',
  'naive',
  'naive-native',
  'smtpipe',
  'smtp-sink',
  'postfix',
  'haraka',
  'memory',
  'resources',
  'held-large',
  'large-ceiling',
  'baseline',
  'cpu',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface RunOptions {
  readonly full: boolean;
  /** Where <date>.md, .json and .svg go. */
  readonly outDir: string;
  /** null = every scenario. */
  readonly only: ReadonlySet<ScenarioName> | null;
  /** Overrides every duration (a quick smoke run), seconds; null = the plan's. */
  readonly seconds: number | null;
  /** Keep the scratch directory (generated configs, server logs) instead of removing it. */
  readonly keep: boolean;
  /** Another built checkout of smtpipe, run as "smtpipe@baseline" by the baseline group; null = none. */
  readonly baseline: string | null;
  /**
   * The cpu group's `Processes = N` run: N from --processes; null = N = 2 when this build
   * of smtpipe knows the option, else no such run.
   */
  readonly processes: number | null;
}

/** The cpu group (scenarios/cpu.ts): CPU per message at one point, a fixed count of messages. */
export interface CpuPlan {
  readonly point: LoadPoint;
  /** Sent to each server before its first measured round (JIT, pools, caches). */
  readonly warmupMessages: number;
  /** Sent per measured run: CPU is divided by the 2xx among them. */
  readonly messages: number;
  readonly rounds: number;
  /** The C posix_spawn loop's run per round, seconds. */
  readonly loopSeconds: number;
}

export interface MemoryPlan {
  readonly point: LoadPoint;
  readonly heldMessages: number;
  readonly heldSize: string;
  readonly heldSizeBytes: number;
}

/** The resources group (scenarios/resources.ts): smtpipe with the native spawner only. */
export interface ResourcesPlan {
  /** Raw sessions opened past EHLO and left idle. */
  readonly idleSessions: number;
  /** Listener_Sessions for that daemon: above idleSessions, so none is refused. */
  readonly listenerSessions: number;
  readonly large: {
    readonly messages: number;
    readonly size: string;
    readonly sizeBytes: number;
    /**
     * Every program waits, without reading its stdin, until all `messages` are held at once
     * (then they are released together); at most this long after the first byte was sent.
     */
    readonly holdTimeoutSeconds: number;
    readonly maxMessageBytes: number;
    readonly sampleIntervalMs: number;
  };
  readonly growth: {
    readonly point: LoadPoint;
    readonly sampleIntervalMs: number;
    /** The slope is fitted over [fitFromSeconds, point.durationSeconds]. */
    readonly fitFromSeconds: number;
    /** Where the report gives the RSS. */
    readonly checkpointSeconds: readonly number[];
  };
}

/** The held-large group (scenarios/held-large.ts): issue 13's first target. */
export interface HeldLargePlan {
  readonly messages: number;
  /** Each message as its program receives it, bytes. */
  readonly sizeBytes: number;
  /** The slow transport's programs at once; the other messages wait inside the daemon. */
  readonly concurrency: number;
  /** The programs are released when every final dot is out, or this long after the start. */
  readonly holdTimeoutSeconds: number;
  /** For the whole session of each message, greeting to final reply. */
  readonly replyTimeoutSeconds: number;
  readonly maxMessageBytes: number;
  readonly sampleIntervalMs: number;
}

/** Systems measured in turn at one point (scenarios/interleaved.ts). */
export interface InterleavedPlan {
  readonly point: LoadPoint;
  readonly rounds: number;
}

export interface Plan {
  readonly mode: 'default' | 'full';
  /** Every SMTP system runs every point, in this order. */
  readonly points: readonly LoadPoint[];
  /**
   * The points the targets are judged at (c=50 2k, and every 10m point): the only ones the
   * reference systems run, which explain a target rather than compete on the chart.
   */
  readonly targetPoints: readonly LoadPoint[];
  /** Spawn loops with small stdin, one per concurrency the chart shows. */
  readonly spawnLoops: readonly LoadPoint[];
  /** Spawn loops writing a large message into stdin: the bandwidth baseline per large point. */
  readonly bandwidthLoops: readonly LoadPoint[];
  readonly memory: MemoryPlan;
  readonly resources: ResourcesPlan;
  readonly heldLarge: HeldLargePlan;
  /** smtpipe against the ceiling at c=10 10m (issue 13: >= 0.8x). */
  readonly largeCeiling: InterleavedPlan;
  /** smtpipe against smtpipe@baseline at c=50 2k (issue 13: no slower). */
  readonly baseline: InterleavedPlan;
  readonly cpu: CpuPlan;
  /** Seconds to wait for Postfix to deliver what it queued, after the generator stops. */
  readonly drainTimeoutSeconds: number;
}

export const USAGE = `Usage: npm run bench -- [flags]

Runs every system of the comparison with the same load generator and writes
bench/results/<date>.md, .json and .svg.

Flags:
  --full            the whole matrix: connections 1, 10, 50, 200 x sizes 2k, 100k, 10m
                    (default: 2k at every connection count, c=50 at 100k, c=10 at 10m;
                    about 12 minutes on 2 cores)
  --only LIST       comma-separated scenarios: ${SCENARIOS.join(', ')}
                    (resources: smtpipe's RSS with 1,000 idle sessions, with 200 x 10 MB in
                    flight, and over an 80 s run; about 2.5 minutes)
                    (held-large: 200 x 10 MB held in flight, peak RSS and byte-exact delivery;
                    large-ceiling: c=10 10m against the ceiling, 3 interleaved rounds;
                    baseline: c=50 2k against --baseline, 5 interleaved rounds; each 1-2 minutes;
                    cpu: CPU per message of smtpipe's threads and programs, a bare smtp-server
                    and the C spawn loop, c=50 2k, 3 rounds; 2-4 minutes)
  --processes N     the cpu group also runs smtpipe with \`Processes = N\` (default: 2, when
                    this build of smtpipe has the option)
  --baseline DIR    a built checkout of smtpipe (npm ci && npm run build there), run as
                    "smtpipe@baseline" by the baseline group
  --seconds N       every run lasts N seconds (a quick smoke run; figures are noisier)
  --out DIR         output directory (default bench/results)
  --keep            keep the scratch directory (configs, server logs) and print its path
  -h, --help        this text
`;

export type ParsedRunArgs =
  | { readonly kind: 'run'; readonly options: RunOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

export function parseRunArgs(argv: readonly string[]): ParsedRunArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        full: { type: 'boolean', default: false },
        only: { type: 'string' },
        seconds: { type: 'string' },
        out: { type: 'string', default: 'bench/results' },
        keep: { type: 'boolean', default: false },
        baseline: { type: 'string' },
        processes: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  if (values.help) return { kind: 'help' };
  let only: Set<ScenarioName> | null = null;
  if (values.only !== undefined) {
    only = new Set();
    for (const name of values.only.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!(SCENARIOS as readonly string[]).includes(name)) {
        return { kind: 'error', message: `--only: unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})` };
      }
      only.add(name as ScenarioName);
    }
  }
  let seconds: number | null = null;
  if (values.seconds !== undefined) {
    seconds = Number(values.seconds);
    if (!Number.isFinite(seconds) || seconds <= 0) return { kind: 'error', message: `--seconds must be a positive number, got "${values.seconds}"` };
  }
  if (values.baseline === '') return { kind: 'error', message: '--baseline needs a directory' };
  let processes: number | null = null;
  if (values.processes !== undefined) {
    processes = Number(values.processes);
    if (!Number.isInteger(processes) || processes < 2) return { kind: 'error', message: `--processes must be an integer of at least 2, got "${values.processes}"` };
  }
  return { kind: 'run', options: { full: values.full, outDir: values.out, only, seconds, keep: values.keep, baseline: values.baseline ?? null, processes } };
}

const SIZE_BYTES: Readonly<Record<string, number>> = { '2k': 2048, '100k': 102_400, '1m': 1_048_576, '10m': 10_485_760 };

export function sizeToBytes(size: string): number {
  const bytes = SIZE_BYTES[size];
  if (bytes === undefined) throw new Error(`bug: no byte count for size ${size}`);
  return bytes;
}

function point(connections: number, size: string, durationSeconds: number): LoadPoint {
  return { connections, size, sizeBytes: sizeToBytes(size), durationSeconds };
}

export const CONNECTIONS = [1, 10, 50, 200] as const;

export function buildPlan(options: Pick<RunOptions, 'full' | 'seconds'>): Plan {
  const d = (seconds: number) => options.seconds ?? seconds;
  const small = CONNECTIONS.map((c) => point(c, '2k', d(10)));
  const points = options.full
    ? [...small, ...CONNECTIONS.map((c) => point(c, '100k', d(10))), ...CONNECTIONS.map((c) => point(c, '10m', d(10)))]
    : [...small, point(50, '100k', d(5)), point(10, '10m', d(5))];
  const large = points.filter((p) => p.size === '10m');
  return {
    mode: options.full ? 'full' : 'default',
    points,
    targetPoints: points.filter((p) => (p.connections === 50 && p.size === '2k') || p.size === '10m'),
    spawnLoops: CONNECTIONS.map((c) => point(c, '2k', d(3))),
    bandwidthLoops: large.map((p) => ({ ...p })),
    memory: { point: point(50, '2k', d(8)), heldMessages: 200, heldSize: '1m', heldSizeBytes: sizeToBytes('1m') },
    resources: {
      idleSessions: 1000,
      listenerSessions: 2000,
      large: { messages: 200, size: '10m', sizeBytes: sizeToBytes('10m'), holdTimeoutSeconds: 90, maxMessageBytes: 20_000_000, sampleIntervalMs: 100 },
      growth: growthPlan(point(200, '2k', d(80))),
    },
    heldLarge: { messages: 200, sizeBytes: sizeToBytes('10m'), concurrency: 20, holdTimeoutSeconds: 90, replyTimeoutSeconds: 180, maxMessageBytes: 20_000_000, sampleIntervalMs: 100 },
    largeCeiling: { point: point(10, '10m', d(5)), rounds: 3 },
    baseline: { point: point(50, '2k', d(8)), rounds: 5 },
    // A count, not a duration: CPU is divided by messages. --seconds scales it (at ~500 msgs/s).
    cpu: { point: point(50, '2k', d(10)), warmupMessages: 1000, messages: options.seconds === null ? 4000 : Math.max(200, Math.round(options.seconds * 500)), rounds: 3, loopSeconds: d(4) },
    drainTimeoutSeconds: 120,
  };
}

/**
 * The growth run's windows, in proportion to its length: for 80 s, the RSS at 20, 50 and 80 s
 * and the slope over the last 60 s. The first quarter is warm-up: at c=200 the main
 * isolate's old space grows into its working band (about 30-45 MB here) for ~20 s, which
 * a fit from 10 s read as growth (bench/README.md, "Growth").
 */
export function growthPlan(growthPoint: LoadPoint): ResourcesPlan['growth'] {
  const seconds = growthPoint.durationSeconds;
  const from = seconds / 4;
  return { point: growthPoint, sampleIntervalMs: 1000, fitFromSeconds: from, checkpointSeconds: [from, (from + seconds) / 2, seconds] };
}

/** True when the scenario is selected by --only (or there is no --only). */
export function wants(options: Pick<RunOptions, 'only'>, name: ScenarioName): boolean {
  return options.only === null || options.only.has(name);
}
