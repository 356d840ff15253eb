// Gives the syntax tree its meaning: global options, ESMTP_Listener, LMTP_Listener and pipe_transport
// become the ParsedConfig; Momentum's other options and stanzas (momentum-names.ts) are
// warned about and skipped, any other name is an error. Pure: host facts come in as arguments.

import type { ConfigDiagnostic, ParsedConfig, ParsedListener, ParsedTransport, SourcePosition } from './types.js';
import type { ItemNode, OptionNode, ScopeNode } from './ast.js';
import { bindConflict } from './listen-conflicts.js';
import { describeScope } from './ast.js';
import { ConfigCode } from './codes.js';
import { createDiagnosticSink, formatPosition, sortDiagnostics, type DiagnosticSink } from './diagnostics.js';
import { defaultPoolThreads } from './defaults.js';
import { GLOBAL_OPTIONS, MAX_PROCESSES } from './global-options.js';
import { MOMENTUM_REFUSED_LISTENER_OPTIONS } from './listener-options.js';
import { buildListeners } from './listener-schema.js';
import { buildTransport, type BuiltTransport } from './transport-schema.js';
import { readOptions, resolveOptions } from './option-table.js';
import { isMomentumGlobalOption, isMomentumStanza } from './momentum-names.js';
import { didYouMean } from './suggest.js';

/** The stanzas smtpipe reads at top level, for "did you mean". */
const SMTPIPE_STANZAS = ['ESMTP_Listener', 'LMTP_Listener', 'pipe_transport'] as const;

export interface SchemaContext {
  /** Absolute path of the main file: Config.file. */
  readonly file: string;
  /** The main file as the user named it: where whole-config errors point (1:1). */
  readonly displayFile: string;
  /** os.hostname(): default Banner_Hostname. */
  readonly hostname: string;
  /** os.availableParallelism(): sizes the default Pool_Threads. */
  readonly parallelism: number;
  /** The default Spool_Directory: TMPDIR when absolute, else /var/tmp. */
  readonly tmpdir: string;
}

export interface SchemaResult {
  /** Present only when there are no errors. */
  readonly config: ParsedConfig | undefined;
  readonly errors: readonly ConfigDiagnostic[];
  readonly warnings: readonly ConfigDiagnostic[];
}

export function buildConfig(items: readonly ItemNode[], ctx: SchemaContext): SchemaResult {
  const sink = createDiagnosticSink();
  const globals = new Map<string, OptionNode>();
  const listeners: ParsedListener[] = [];
  let listenScopes = 0;
  let disabledListens = 0;
  const transports: BuiltTransport[] = [];

  for (const item of items) {
    if (item.kind === 'option') {
      collectGlobal(item, globals, sink);
    } else if (item.kind === 'scope' && (item.key === 'esmtp_listener' || item.key === 'lmtp_listener')) {
      const protocol = item.key === 'lmtp_listener' ? 'lmtp' : 'smtp';
      const built = buildListeners(item, { hostname: ctx.hostname, protocol }, sink);
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
  checkTransportDuplicates(transports, sink);

  const g = resolveOptions(GLOBAL_OPTIONS, [readOptions(globals, GLOBAL_OPTIONS, sink)]);
  checkAddressConflicts(listeners, g.metricsListen, globals.get('metrics_listen')?.position, sink);
  const config: ParsedConfig = {
    file: ctx.file,
    listeners,
    transports: transports.map((t) => (t.exitCodesWritten ? t.config : { ...t.config, exitCodes: g.exitCodes })),
    exitCodes: g.exitCodes,
    maxReceivedHeaders: g.maxReceivedHeaders,
    processes: g.processes === 'auto' ? Math.max(1, Math.min(ctx.parallelism, MAX_PROCESSES)) : g.processes,
    pool: {
      threads: g.threads ?? defaultPoolThreads(ctx.parallelism),
      tasksPerThread: g.tasksPerThread,
      maxQueue: g.maxQueue,
      spawner: g.spawner,
    },
    shutdownTimeoutMs: g.shutdownTimeoutMs,
    metricsListen: g.metricsListen,
    spool: {
      memoryBytes: g.memoryInFlight,
      thresholdBytes: g.spoolThreshold,
      directory: g.spoolDirectory ?? { text: ctx.tmpdir, position: { file: ctx.displayFile, line: 1, column: 1 } },
    },
  };
  const ok = sink.errors.length === 0;
  const files = filesInReadingOrder(items, ctx.displayFile);
  return {
    config: ok ? config : undefined,
    errors: sortDiagnostics(sink.errors, files),
    warnings: sortDiagnostics(sink.warnings, files),
  };
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
  // Relay_Hosts is refused wherever it is written: ignoring it would open the listeners.
  const refused = MOMENTUM_REFUSED_LISTENER_OPTIONS.get(item.key);
  if (refused !== undefined) {
    sink.error(ConfigCode.REFUSED_OPTION, item.position, `${item.name}: ${refused}`);
    return;
  }
  if (!GLOBAL_OPTIONS.names.some((n) => n.toLowerCase() === item.key)) {
    // Momentum core options (Keep_Message_Dicts_In_Memory, ...): a shared ecelerity.conf
    // must still load, so they only warn. Anything else is a typo, and a typo ignored is a
    // setting silently lost (issue 16): an error, with the nearest name of ours.
    const hint = didYouMean(item.name, GLOBAL_OPTIONS.names);
    if (isMomentumGlobalOption(item.key)) {
      sink.warn(ConfigCode.IGNORED_OPTION, item.position, `${item.name} is not used by smtpipe; ignored${hint}`);
    } else {
      sink.error(ConfigCode.UNKNOWN_OPTION, item.position, `unknown option "${item.name}"${hint || '; not an smtpipe option nor a Momentum global option'}`);
    }
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
  if (isMomentumStanza(scope.key)) {
    // A real Momentum module or scope in a shared ecelerity.conf, even one a letter away
    // from a name of ours (the catalogue decides, not the distance).
    sink.warn(ConfigCode.IGNORED_STANZA, scope.position, `${describeScope(scope)} is not used by smtpipe; ignored with its contents`);
    return;
  }
  // Ignoring a misspelt pipe_transport would drop its domains: their mail would get 550.
  const hint =
    scope.key === 'listen' || scope.key === 'peer'
      ? ` (${scope.type} belongs inside ESMTP_Listener { } or LMTP_Listener { })`
      : didYouMean(scope.type, SMTPIPE_STANZAS) || '; not an smtpipe stanza nor a Momentum module or global scope';
  sink.error(ConfigCode.UNKNOWN_STANZA, scope.position, `unknown stanza ${describeScope(scope)}${hint}`);
}

/**
 * Addresses that cannot all be bound (listen-conflicts.ts): two Listens, or Metrics_Listen
 * and a Listen. Said now, not as EADDRINUSE and exit 70 at start (which systemd retries
 * every 2 s) or a refused reload. Port 0 is exempt.
 */
function checkAddressConflicts(
  listeners: readonly ParsedListener[],
  metrics: { readonly label: string; readonly host: string | undefined; readonly port: number } | null,
  metricsAt: SourcePosition | undefined,
  sink: DiagnosticSink,
): void {
  listeners.forEach((l, i) => {
    for (const first of listeners.slice(0, i)) {
      const conflict = bindConflict(first, l);
      if (conflict === undefined) continue;
      sink.error(
        ConfigCode.DUPLICATE,
        l.position,
        conflict === 'same'
          ? `Listen "${l.label}" is already configured at ${formatPosition(first.position)}`
          : `Listen "${l.label}" overlaps Listen "${first.label}" (${formatPosition(first.position)}): ` +
              'a wildcard address holds the port on every address, so the second bind would fail (EADDRINUSE)',
      );
      return;
    }
  });
  if (metrics === null || metricsAt === undefined) return;
  const taken = listeners.find((l) => bindConflict(l, metrics) !== undefined);
  if (taken === undefined) return;
  sink.error(
    ConfigCode.DUPLICATE,
    metricsAt,
    `Metrics_Listen "${metrics.label}" would bind the port of Listen "${taken.label}" (${formatPosition(taken.position)}): ` +
      'give the metrics their own port (EADDRINUSE at start otherwise)',
  );
}

function checkTransportDuplicates(transports: readonly BuiltTransport[], sink: DiagnosticSink): void {
  const names = new Map<string, ParsedTransport>();
  const domains = new Map<string, ParsedTransport>();
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
    // A second copy of a transport (an editor backup in an included directory) or one
    // without a name already has its error: its domains would only repeat it, naming the
    // same transport twice or a transport "" (peer-interop G8).
    if (first !== undefined || config.name === '') continue;
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
