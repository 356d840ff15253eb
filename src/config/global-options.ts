// The global (top-level) options of smtpipe, one row each: how each is read, its default,
// how it prints and its doc line. Other top-level names are Momentum's core options,
// warned about and ignored by schema.ts.

import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { parseListenAddress } from './listen-address.js';
import { count, defineOptions, quote, seconds, whole, wholeSeconds } from './option-table.js';
import { didYouMean } from './suggest.js';
import { readExitCodePreset } from './exit-values.js';
import type { ExitCodePreset, MetricsListen, ParsedConfig, PoolConfig, WrittenValue } from './types.js';
import { parseWholeNumber, readInteger, readScalar, readText } from './values.js';

export interface GlobalOptions {
  /** null: one per CPU the process may use, at most 4 (defaults.ts). */
  readonly threads: number | null;
  readonly tasksPerThread: number;
  readonly maxQueue: number;
  readonly spawner: PoolConfig['spawner'];
  readonly shutdownTimeoutMs: number;
  readonly metricsListen: MetricsListen | null;
  readonly memoryInFlight: number;
  readonly spoolThreshold: number;
  /** null: the process's TMPDIR, else /var/tmp (schema.ts). */
  readonly spoolDirectory: WrittenValue | null;
  readonly exitCodes: ExitCodePreset;
  readonly maxReceivedHeaders: number;
  /** 'auto': one per CPU the process may use (schema.ts). */
  readonly processes: number | 'auto';
}

const SPAWNERS = ['auto', 'native', 'child_process'] as const;

/** Processes: a fork per CPU is the most that helps; 256 keeps a typo from forking thousands. */
export const MAX_PROCESSES = 256;

export const GLOBAL_OPTIONS = defineOptions<GlobalOptions, ParsedConfig>({
  threads: {
    name: 'Pool_Threads',
    ...count({ min: 1 }),
    defaultDoc: 'CPUs available, at most 4',
    doc: 'worker threads that supervise programs',
    print: (c) => whole(c.pool.threads),
  },
  tasksPerThread: {
    name: 'Pool_Tasks_Per_Thread',
    ...count({ min: 1 }),
    default: '64',
    doc: 'programs one worker thread runs at once',
    print: (c) => whole(c.pool.tasksPerThread),
  },
  maxQueue: {
    name: 'Pool_Max_Queue',
    // 0 is allowed: no waiting room, a message finding every slot busy is tempfailed.
    ...count({ min: 0 }),
    default: '1000',
    doc: 'messages waiting for a program slot, all transports together; beyond it `451 4.3.2` (0 = no waiting)',
    print: (c) => whole(c.pool.maxQueue),
  },
  spawner: {
    name: 'Spawner',
    type: '"auto", "native" or "child_process"',
    default: '"auto"',
    doc: 'how programs start: `"native"` (posix_spawn addon), `"child_process"`, or `"auto"`: native when its start-up self-test passes, else child_process with one warning',
    read: readSpawner,
    print: (c) => quote(c.pool.spawner),
  },
  shutdownTimeoutMs: {
    name: 'Shutdown_Timeout',
    ...seconds({ min: 0 }),
    default: '30',
    doc: 'how long a SIGTERM drain may take before smtpipe forces',
    print: (c) => wholeSeconds(c.shutdownTimeoutMs),
  },
  metricsListen: {
    name: 'Metrics_Listen',
    type: 'address',
    defaultDoc: 'off',
    doc: '`"127.0.0.1:9465"`: HTTP `/metrics` (Prometheus), `/healthz`, `/readyz`. At most 16 connections, each closed after 10 s idle; their descriptors are kept out of the sessions\' budget',
    read: readMetricsListen,
    print: (c) => (c.metricsListen === null ? null : quote(c.metricsListen.label)),
  },

  memoryInFlight: {
    name: 'Max_Memory_In_Flight',
    ...count({ min: 0, unit: 'bytes' }),
    default: '67108864',
    doc: 'message bytes held in memory, all sessions together, from DATA to the end of their delivery; past it messages go to spool files (0 = spool every message). See docs/operations.md, "Memory and the spool"',
    print: (c) => whole(c.spool.memoryBytes),
  },
  spoolThreshold: {
    name: 'Spool_Threshold',
    ...count({ min: 0, unit: 'bytes' }),
    default: '1048576',
    doc: 'a message larger than this (after trace headers and line endings) always goes to a spool file, whose descriptor is the program\'s stdin',
    print: (c) => whole(c.spool.thresholdBytes),
  },
  spoolDirectory: {
    name: 'Spool_Directory',
    type: 'absolute path',
    defaultDoc: 'the `TMPDIR` of the process, else `/var/tmp`',
    doc: 'where spool files are created: nameless (`O_TMPFILE`), 0600, freed when closed, so nothing is left behind even after `kill -9`. Must exist and be writable; checked by `--check`, start-up and reload',
    read: readSpoolDirectory,
    print: (c) => quote(c.spool.directory.text),
  },
  // Capitalised like the other global options (Momentum's style for top-level names); the
  // transport's own spelling is `exit_codes`, as its other options are lower case.
  exitCodes: {
    name: 'Exit_Codes',
    type: '"momentum", "sysexits" or "qmail"',
    default: '"momentum"',
    doc: 'the `exit_codes` of every pipe_transport that does not set its own; `"momentum"` keeps Momentum\'s behaviour (an unmapped non-zero exit is a permanent `504 5.5.0`)',
    read: readExitCodePreset,
    print: (c) => quote(c.exitCodes),
  },
  maxReceivedHeaders: {
    name: 'Max_Received_Headers',
    // Postfix's hopcount_limit and its default. RFC 5321 6.3 says a Received: count
    // "SHOULD use a large rejection threshold, normally at least 100": raise it to follow that.
    ...count({ min: 1 }),
    default: '50',
    doc: 'a message whose header section holds more `Received:` fields than this is refused with `554 5.4.6 mail loop detected` and no program runs (Postfix\'s `hopcount_limit`). See docs/operations.md, "Mail loops"',
    print: (c) => whole(c.maxReceivedHeaders),
  },
  processes: {
    name: 'Processes',
    type: `whole number 1-${MAX_PROCESSES} or "auto"`,
    default: '1',
    doc: 'SMTP front-end processes sharing the listening sockets, each with its own event loop and worker pool; `"auto"`: one per CPU. With more than 1 the process started is a supervisor that owns signals and Metrics_Listen. Needs a restart. See docs/operations.md, "Processes"',
    read: readProcesses,
    print: (c) => whole(c.processes),
  },
});

function readProcesses(opt: OptionNode, sink: DiagnosticSink): number | 'auto' | undefined {
  const scalar = readScalar(opt, sink);
  if (scalar === undefined) return undefined;
  if (scalar.text.toLowerCase() === 'auto') return 'auto';
  if (parseWholeNumber(scalar.text) === undefined) {
    sink.error(ConfigCode.INVALID_VALUE, scalar.position, `${opt.name}: expected a whole number 1-${MAX_PROCESSES} or "auto", got ${JSON.stringify(scalar.text)}`);
    return undefined;
  }
  return readInteger(opt, sink, { min: 1, max: MAX_PROCESSES });
}

function readSpoolDirectory(opt: OptionNode, sink: DiagnosticSink): WrittenValue | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  if (text.startsWith('/')) return { text, position: opt.value.position };
  sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: expected an absolute path, got ${JSON.stringify(text)}`);
  return undefined;
}

function readMetricsListen(opt: OptionNode, sink: DiagnosticSink): MetricsListen | undefined {
  const label = readText(opt, sink);
  if (label === undefined) return undefined;
  const address = parseListenAddress(label);
  if (!address.ok) {
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${address.reason}`);
    return undefined;
  }
  return { label, host: address.host, port: address.port };
}

function readSpawner(opt: OptionNode, sink: DiagnosticSink): PoolConfig['spawner'] | undefined {
  const text = readText(opt, sink)?.toLowerCase();
  if (text === undefined) return undefined;
  const known = SPAWNERS.find((name) => name === text);
  if (known !== undefined) return known;
  sink.error(
    ConfigCode.INVALID_VALUE,
    opt.value.position,
    `${opt.name}: expected "auto", "native" or "child_process", got ${JSON.stringify(text)}${didYouMean(text, SPAWNERS)}`,
  );
  return undefined;
}
