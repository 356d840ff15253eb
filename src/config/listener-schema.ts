// `ESMTP_Listener { Listen "addr:port" { } }` -> one ListenerConfig per Listen, with
// listener-scope options folded in (Listen wins). Does not decide SMTP behaviour; it
// only validates and applies defaults.

import { isIP } from 'node:net';
import type { BareNewlinePolicy, ListenerConfig, ListenerProxy } from './types.js';
import type { OptionNode, ScopeNode } from './ast.js';
import { describeScope } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { DEFAULTS, defaultSessionsPerClient } from './defaults.js';
import { parseListenAddress } from './listen-address.js';
import { gatherOptions } from './scope-options.js';
import { hostnameProblem } from './hostnames.js';
import { foldTls, readVerifyMode, type TlsOptions, type WrittenPath } from './listener-tls.js';
import { readBoolean, readInteger, readScalarList, readSecondsAsMs, readText } from './values.js';

const KNOWN = [
  'Max_Message_Size',
  'Listener_Sessions',
  'Idle_Time',
  'Max_Recipients_Per_Message',
  'Banner_Hostname',
  'Greeting_Pause',
  'Bare_Newlines',
  'Max_Receptions_Per_Connection',
  'Max_Recipients_Per_Connection',
  'Max_Sessions_Per_Client',
  'Max_Data_Time',
  'SMTP_Extensions',
  'TLS_Certificate',
  'TLS_Key',
  'TLS_Client_CA',
  'TLS_Verify_Mode',
  'Use_SSL',
  'Proxy_Protocol',
  'Proxy_Hosts',
  'Enable',
] as const;

/** Documented Momentum listener options we accept and ignore, with a warning each. */
const UNSUPPORTED = [
  'TLS_Ciphers',
  'TLS_Protocols',
  'Relay_Hosts',
  'Accept_Queue_Backlog',
  'Concurrency',
  'Hostname',
];

type ListenerOptions = Partial<Omit<ListenerConfig, 'label' | 'host' | 'port' | 'position' | 'tls' | 'proxy'>> &
  TlsOptions & {
    /** The pieces PROXY is assembled from (TLS's are in TlsOptions), once both scopes are folded. */
    proxyProtocol?: boolean;
    proxyHosts?: string[];
    /** Enable = false: the Listen is checked like any other, then not bound. */
    enable?: boolean;
  };

/** SMTP_Extensions names smtpipe always offers (or, for STARTTLS, offers when asked to). */
const EXTENSIONS_ALWAYS_ON = new Set(['ENHANCEDSTATUSCODES', 'PIPELINING', '8BITMIME', 'SIZE']);

/** Behind a proxy on the same host by default; anything else must be listed. */
const DEFAULT_PROXY_HOSTS = ['127.0.0.0/8', '::1'];

export interface ListenerHost {
  /** Default Banner_Hostname (os.hostname()). */
  readonly hostname: string;
}

export interface BuiltListeners {
  /** The Listens to bind: valid, and not switched off with Enable = false. */
  readonly listeners: readonly ListenerConfig[];
  /** Listen stanzas written, valid or not. */
  readonly listenScopes: number;
  /** Valid Listen stanzas with Enable = false (their own, or the ESMTP_Listener's). */
  readonly disabled: number;
}

export function buildListeners(scope: ScopeNode, host: ListenerHost, sink: DiagnosticSink): BuiltListeners {
  if (scope.name !== undefined) {
    sink.error(
      ConfigCode.INVALID_VALUE,
      scope.name.position,
      `${scope.type} takes no name: write ${scope.type} { Listen ... }`,
    );
  }
  const gathered = gatherOptions(scope.items, { label: scope.type, known: KNOWN, unsupported: UNSUPPORTED }, sink);
  const outer = readListenerOptions(gathered.options, sink);
  const listeners: ListenerConfig[] = [];
  let listenScopes = 0;
  let disabled = 0;
  for (const sub of gathered.scopes) {
    if (sub.key !== 'listen') {
      ignoreNested(sub, scope.type, sink);
      continue;
    }
    listenScopes += 1;
    const listener = buildListen(sub, outer, host, sink);
    if (listener === 'disabled') disabled += 1;
    else if (listener !== undefined) listeners.push(listener);
  }
  return { listeners, listenScopes, disabled };
}

function buildListen(
  scope: ScopeNode,
  outer: ListenerOptions,
  host: ListenerHost,
  sink: DiagnosticSink,
): ListenerConfig | 'disabled' | undefined {
  const label = describeScope(scope);
  const gathered = gatherOptions(scope.items, { label, known: KNOWN, unsupported: UNSUPPORTED }, sink);
  for (const sub of gathered.scopes) ignoreNested(sub, label, sink);
  const inner = readListenerOptions(gathered.options, sink);
  if (scope.name === undefined) {
    sink.error(
      ConfigCode.MISSING_OPTION,
      scope.position,
      `${scope.type} needs an address: ${scope.type} "127.0.0.1:2525" { }`,
    );
    return undefined;
  }
  const address = parseListenAddress(scope.name.text);
  if (!address.ok) {
    sink.error(ConfigCode.INVALID_VALUE, scope.name.position, `${label}: ${address.reason}`);
    return undefined;
  }
  const d = DEFAULTS.listener;
  const maxSessions = inner.maxSessions ?? outer.maxSessions ?? d.maxSessions;
  const listener: ListenerConfig = {
    label: scope.name.text,
    host: address.host,
    port: address.port,
    maxMessageBytes: inner.maxMessageBytes ?? outer.maxMessageBytes ?? d.maxMessageBytes,
    maxSessions,
    idleTimeoutMs: inner.idleTimeoutMs ?? outer.idleTimeoutMs ?? d.idleTimeSeconds * 1000,
    maxRecipientsPerMessage:
      inner.maxRecipientsPerMessage ?? outer.maxRecipientsPerMessage ?? d.maxRecipientsPerMessage,
    bannerHostname: inner.bannerHostname ?? outer.bannerHostname ?? host.hostname,
    greetingPauseMs: inner.greetingPauseMs ?? outer.greetingPauseMs ?? d.greetingPauseSeconds * 1000,
    bareNewlines: inner.bareNewlines ?? outer.bareNewlines ?? d.bareNewlines,
    maxReceptionsPerConnection:
      inner.maxReceptionsPerConnection ?? outer.maxReceptionsPerConnection ?? d.maxReceptionsPerConnection,
    maxRecipientsPerConnection:
      inner.maxRecipientsPerConnection ?? outer.maxRecipientsPerConnection ?? d.maxRecipientsPerConnection,
    maxSessionsPerClient: inner.maxSessionsPerClient ?? outer.maxSessionsPerClient ?? defaultSessionsPerClient(maxSessions),
    maxDataMs: inner.maxDataMs ?? outer.maxDataMs ?? d.maxDataSeconds * 1000,
    tls: foldTls(inner, outer, label, scope.position, sink),
    proxy: foldProxy(inner, outer),
    position: scope.position,
  };
  // Momentum's Enable: a staged Listen is still checked, so enabling it later is safe.
  return (inner.enable ?? outer.enable ?? true) ? listener : 'disabled';
}

function foldProxy(inner: ListenerOptions, outer: ListenerOptions): ListenerProxy | null {
  if (!(inner.proxyProtocol ?? outer.proxyProtocol ?? false)) return null;
  return { trustedHosts: inner.proxyHosts ?? outer.proxyHosts ?? DEFAULT_PROXY_HOSTS };
}

function readListenerOptions(options: ReadonlyMap<string, OptionNode>, sink: DiagnosticSink): ListenerOptions {
  const out: { -readonly [K in keyof ListenerOptions]: ListenerOptions[K] } = {};
  for (const opt of options.values()) {
    switch (opt.key) {
      case 'max_message_size':
        out.maxMessageBytes = readInteger(opt, sink, { unit: 'bytes', min: 1 });
        break;
      case 'listener_sessions':
        out.maxSessions = readInteger(opt, sink, { min: 1 });
        break;
      case 'idle_time':
        out.idleTimeoutMs = readSecondsAsMs(opt, sink, { min: 1 });
        break;
      case 'max_recipients_per_message':
        out.maxRecipientsPerMessage = readInteger(opt, sink, { min: 1 });
        break;
      case 'banner_hostname':
        out.bannerHostname = readBannerHostname(opt, sink);
        break;
      case 'greeting_pause':
        out.greetingPauseMs = readSecondsAsMs(opt, sink, { min: 0, fractional: true });
        break;
      case 'bare_newlines':
        out.bareNewlines = readBareNewlines(opt, sink);
        break;
      case 'max_receptions_per_connection':
        out.maxReceptionsPerConnection = readInteger(opt, sink, { min: 0 });
        break;
      case 'max_recipients_per_connection':
        out.maxRecipientsPerConnection = readInteger(opt, sink, { min: 0 });
        break;
      case 'max_sessions_per_client':
        out.maxSessionsPerClient = readInteger(opt, sink, { min: 0 });
        break;
      case 'max_data_time':
        out.maxDataMs = readSecondsAsMs(opt, sink, { min: 1 });
        break;
      case 'smtp_extensions':
        out.starttls = readExtensions(opt, sink);
        break;
      case 'tls_certificate':
        out.certificate = readWrittenPath(opt, sink);
        break;
      case 'tls_key':
        out.key = readWrittenPath(opt, sink);
        break;
      case 'tls_client_ca':
        out.clientCa = readWrittenPath(opt, sink);
        break;
      case 'tls_verify_mode':
        out.verifyMode = readVerifyMode(opt, sink);
        break;
      case 'enable':
        out.enable = readBoolean(opt, sink);
        break;
      case 'use_ssl':
        out.useSsl = readBoolean(opt, sink);
        break;
      case 'proxy_protocol':
        out.proxyProtocol = readBoolean(opt, sink);
        break;
      case 'proxy_hosts':
        out.proxyHosts = readProxyHosts(opt, sink);
        break;
    }
  }
  return out;
}

/** True when STARTTLS is listed; other extensions smtpipe cannot offer are warned about. */
function readExtensions(opt: OptionNode, sink: DiagnosticSink): boolean | undefined {
  const items = readScalarList(opt, sink);
  if (items === undefined) return undefined;
  let starttls = false;
  for (const item of items) {
    const name = item.text.toUpperCase();
    if (name === 'STARTTLS') starttls = true;
    else if (!EXTENSIONS_ALWAYS_ON.has(name)) {
      sink.warn(ConfigCode.UNSUPPORTED_OPTION, item.position, `${opt.name}: smtpipe does not offer ${item.text}; ignored`);
    }
  }
  return starttls;
}

function readWrittenPath(opt: OptionNode, sink: DiagnosticSink): WrittenPath | undefined {
  const file = readText(opt, sink);
  if (file === undefined) return undefined;
  if (file === '') {
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: expected a file path`);
    return undefined;
  }
  return { file, position: opt.value.position };
}

/** Addresses or CIDR blocks, checked here so net.BlockList never throws later. */
function readProxyHosts(opt: OptionNode, sink: DiagnosticSink): string[] | undefined {
  const items = readScalarList(opt, sink);
  if (items === undefined) return undefined;
  const hosts: string[] = [];
  for (const item of items) {
    const [address = '', prefix, extra] = item.text.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^[0-9]+$/.test(prefix) && bits !== undefined && bits <= maxBits);
    if (family === 0 || !prefixOk || extra !== undefined) {
      sink.error(ConfigCode.INVALID_VALUE, item.position, `${opt.name}: ${JSON.stringify(item.text)} is not an IP address or CIDR block`);
      continue;
    }
    hosts.push(item.text.toLowerCase());
  }
  if (hosts.length === 0 && items.length === 0) {
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: list at least one trusted proxy address`);
  }
  return hosts;
}

function readBareNewlines(opt: OptionNode, sink: DiagnosticSink): BareNewlinePolicy | undefined {
  const text = readText(opt, sink)?.toLowerCase();
  if (text === 'reject' || text === 'normalize' || text === undefined) return text;
  sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: expected "reject" or "normalize", got ${JSON.stringify(text)}`);
  return undefined;
}

/** Goes into the 220 greeting and Received: lines, so it must be one clean word. */
function readBannerHostname(opt: OptionNode, sink: DiagnosticSink): string | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const problem = hostnameProblem(text);
  if (problem === undefined) return text;
  sink.error(
    ConfigCode.INVALID_VALUE,
    opt.value.position,
    `${opt.name}: ${JSON.stringify(text)} is not a host name: ${problem}`,
  );
  return undefined;
}

function ignoreNested(scope: ScopeNode, parent: string, sink: DiagnosticSink): void {
  sink.warn(
    ConfigCode.IGNORED_STANZA,
    scope.position,
    `${describeScope(scope)} inside ${parent} is not used by smtpipe; ignored with its contents`,
  );
}
