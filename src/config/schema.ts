// Gives the syntax tree its meaning: global options, ESMTP_Listener and pipe_transport
// become the frozen Config; Momentum's other options and stanzas are warned about and
// skipped. Pure: host facts (hostname, CPU count) come in as arguments.

import type { Config, ConfigDiagnostic, ListenerConfig, MetricsListen, SourcePosition, TransportConfig } from './types.js';
import { listenKey, parseListenAddress } from './listen-address.js';
import type { ItemNode, OptionNode, ScopeNode } from './ast.js';
import { describeScope } from './ast.js';
import { ConfigCode } from './codes.js';
import { createDiagnosticSink, formatPosition, sortDiagnostics, type DiagnosticSink } from './diagnostics.js';
import { DEFAULTS, defaultPoolThreads } from './defaults.js';
import { deepFreeze } from './freeze.js';
import { buildListeners } from './listener-schema.js';
import { buildTransport, type BuiltTransport } from './transport-schema.js';
import { didYouMean } from './suggest.js';
import { readInteger, readSecondsAsMs, readText } from './values.js';

export interface SchemaContext {
  /** Absolute path of the main file: Config.file. */
  readonly file: string;
  /** The main file as the user named it: where whole-config errors point (1:1). */
  readonly displayFile: string;
  /** os.hostname(): default Banner_Hostname. */
  readonly hostname: string;
  /** os.availableParallelism(): sizes the default Pool_Threads. */
  readonly parallelism: number;
}

export interface SchemaResult {
  /** Present only when there are no errors. */
  readonly config: Config | undefined;
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];
}

const GLOBAL_OPTIONS = ['Pool_Threads', 'Pool_Tasks_Per_Thread', 'Pool_Max_Queue', 'Spawner', 'Shutdown_Timeout', 'Metrics_Listen'];
const SPAWNERS = ['auto', 'native', 'child_process'] as const;

export function buildConfig(items: readonly ItemNode[], ctx: SchemaContext): SchemaResult {
  const sink = createDiagnosticSink();
  const globals = new Map<string, OptionNode>();
  const listeners: ListenerConfig[] = [];
  let listenScopes = 0;
  let disabledListens = 0;
  const transports: BuiltTransport[] = [];

  for (const item of items) {
    if (item.kind === 'option') {
      collectGlobal(item, globals, sink);
    } else if (item.kind === 'scope' && item.key === 'esmtp_listener') {
      const built = buildListeners(item, { hostname: ctx.hostname }, sink);
      listeners.push(...built.listeners);
      listenScopes += built.listenScopes;
      disabledListens += built.disabled;
    } else if (item.kind === 'scope' && item.key === 'pipe_transport') {
      transports.push(buildTransport(item, sink));
    } else if (item.kind === 'scope') {
      ignoreStanza(item, sink);
    }
  }

  const start: SourcePosition = { file: ctx.displayFile, line: 1, column: 1 };
  // An invalid Listen has its own error already; "none at all" would only add noise.
  if (listenScopes === 0) {
    sink.error(
      ConfigCode.MISSING_STANZA,
      start,
      'no Listen configured: add ESMTP_Listener { Listen "127.0.0.1:2525" { } }',
    );
  }
  if (listenScopes > 0 && disabledListens === listenScopes) {
    // Every Listen switched off: a daemon that receives nothing would still look healthy.
    sink.error(
      ConfigCode.MISSING_STANZA,
      start,
      'every Listen has Enable = false: smtpipe would receive no mail; enable at least one',
    );
  }
  if (transports.length === 0) {
    sink.error(
      ConfigCode.MISSING_STANZA,
      start,
      'no pipe_transport configured: add pipe_transport "name" { program_name = ... domain = ... }',
    );
  }
  checkListenDuplicates(listeners, sink);
  checkTransportDuplicates(transports, sink);

  const opt = (name: string): OptionNode | undefined => globals.get(name.toLowerCase());
  const readCount = (name: string, min: number): number | undefined => {
    const o = opt(name);
    return o === undefined ? undefined : readInteger(o, sink, { min });
  };
  const shutdown = opt('Shutdown_Timeout');
  const config: Config = {
    file: ctx.file,
    listeners,
    transports: transports.map((t) => t.config),
    pool: {
      threads: readCount('Pool_Threads', 1) ?? defaultPoolThreads(ctx.parallelism),
      tasksPerThread: readCount('Pool_Tasks_Per_Thread', 1) ?? DEFAULTS.poolTasksPerThread,
      // 0 is allowed: no waiting room, a message finding every slot busy is tempfailed.
      maxQueue: readCount('Pool_Max_Queue', 0) ?? DEFAULTS.poolMaxQueue,
      spawner: readSpawner(opt('Spawner'), sink) ?? DEFAULTS.poolSpawner,
    },
    shutdownTimeoutMs:
      (shutdown === undefined ? undefined : readSecondsAsMs(shutdown, sink, { min: 0 })) ??
      DEFAULTS.shutdownTimeoutSeconds * 1000,
    metricsListen: readMetricsListen(opt('Metrics_Listen'), sink),
  };
  const ok = sink.errors.length === 0;
  const files = filesInReadingOrder(items, ctx.displayFile);
  return {
    config: ok ? deepFreeze(config) : undefined,
    errors: sortDiagnostics(sink.errors, files),
    warnings: sortDiagnostics(sink.warnings, files),
  };
}

/** Off when absent: the metrics endpoint is an operator's choice of address. */
function readMetricsListen(opt: OptionNode | undefined, sink: DiagnosticSink): MetricsListen | null {
  if (opt === undefined) return null;
  const label = readText(opt, sink);
  if (label === undefined) return null;
  const address = parseListenAddress(label);
  if (!address.ok) {
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: ${address.reason}`);
    return null;
  }
  return { label, host: address.host, port: address.port };
}

function readSpawner(opt: OptionNode | undefined, sink: DiagnosticSink): (typeof SPAWNERS)[number] | undefined {
  if (opt === undefined) return undefined;
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

function filesInReadingOrder(items: readonly ItemNode[], mainFile: string): string[] {
  const files = [mainFile];
  const walk = (list: readonly ItemNode[]): void => {
    for (const item of list) {
      files.push(item.position.file);
      if (item.kind === 'scope') walk(item.items);
    }
  };
  walk(items);
  return files;
}

function collectGlobal(item: OptionNode, globals: Map<string, OptionNode>, sink: DiagnosticSink): void {
  if (!GLOBAL_OPTIONS.some((n) => n.toLowerCase() === item.key)) {
    // Momentum core options (Spool_Base, Keep_Message_Dicts_In_Memory, ...): a shared
    // ecelerity.conf must still load, but say so once, and catch typos of ours.
    const hint = didYouMean(item.name, GLOBAL_OPTIONS);
    sink.warn(ConfigCode.IGNORED_OPTION, item.position, `${item.name} is not used by smtpipe; ignored${hint}`);
    return;
  }
  const first = globals.get(item.key);
  if (first !== undefined) {
    sink.error(
      ConfigCode.DUPLICATE,
      item.position,
      `${item.name} is set twice (first at ${formatPosition(first.position)})`,
    );
    return;
  }
  globals.set(item.key, item);
}

function ignoreStanza(scope: ScopeNode, sink: DiagnosticSink): void {
  // A Listen outside any ESMTP_Listener is a mistake of ours, not a Momentum stanza.
  const hint = scope.key === 'listen' ? ' (Listen belongs inside ESMTP_Listener { })' : '';
  sink.warn(
    ConfigCode.IGNORED_STANZA,
    scope.position,
    `${describeScope(scope)} is not used by smtpipe; ignored with its contents${hint}`,
  );
}

/** Two Listen on the same fixed address would fail at bind time: say so now. Port 0 is exempt. */
function checkListenDuplicates(listeners: readonly ListenerConfig[], sink: DiagnosticSink): void {
  const seen = new Map<string, ListenerConfig>();
  for (const l of listeners) {
    if (l.port === 0) continue;
    const key = listenKey(l);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, l);
    } else {
      sink.error(
        ConfigCode.DUPLICATE,
        l.position,
        `Listen "${l.label}" is already configured at ${formatPosition(first.position)}`,
      );
    }
  }
}

function checkTransportDuplicates(transports: readonly BuiltTransport[], sink: DiagnosticSink): void {
  const names = new Map<string, TransportConfig>();
  const domains = new Map<string, TransportConfig>();
  for (const { config, domainPositions } of transports) {
    const first = names.get(config.name);
    if (first !== undefined && config.name !== '') {
      sink.error(
        ConfigCode.DUPLICATE,
        config.position,
        `pipe_transport "${config.name}" is already defined at ${formatPosition(first.position)}`,
      );
    }
    names.set(config.name, first ?? config);
    config.domains.forEach((domain, i) => {
      const owner = domains.get(domain);
      if (owner === undefined) {
        domains.set(domain, config);
      } else if (owner !== config) {
        sink.error(
          ConfigCode.DUPLICATE,
          domainPositions[i] ?? config.position,
          `domain "${domain}" is claimed by pipe_transport "${owner.name}" (${formatPosition(owner.position)}) ` +
            `and pipe_transport "${config.name}"`,
        );
      }
    });
  }
}
