// `ESMTP_Listener { Listen "addr:port" { } }` (or LMTP_Listener, the same options) -> one ParsedListener per Listen, with
// listener-scope options folded in (Listen wins). Does not decide SMTP behaviour; it
// only validates and applies the defaults of listener-options.ts.

import type { ListenerProtocol, ListenerProxy, ParsedListener } from './types.js';
import type { ScopeNode } from './ast.js';
import { describeScope } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { defaultSessionsPerClient } from './defaults.js';
import { parseListenAddress } from './listen-address.js';
import { LISTENER_OPTIONS, MOMENTUM_REFUSED_LISTENER_OPTIONS, MOMENTUM_UNSUPPORTED_LISTENER_OPTIONS, type ListenerOptions } from './listener-options.js';
import { foldAuth } from './listener-auth.js';
import { foldTls } from './listener-tls.js';
import { isMomentumStanza } from './momentum-names.js';
import { readOptions, resolveOptions } from './option-table.js';
import { orderPeers, readPeers } from './peer-scope.js';
import { gatherOptions, type ScopeRules } from './scope-options.js';
import { didYouMean } from './suggest.js';
import type { PeerRule, SourcePosition } from './types.js';

export interface ListenerHost {
  /** Default Banner_Hostname (os.hostname()). */
  readonly hostname: string;
  /** 'lmtp' for the Listens of an LMTP_Listener. */
  readonly protocol: ListenerProtocol;
}

export interface BuiltListeners {
  /** The Listens to bind: valid, and not switched off with Enable = false. */
  readonly listeners: readonly ParsedListener[];
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
  const gathered = gatherOptions(scope.items, rules(scope.type), sink);
  const outer = readOptions(gathered.options, LISTENER_OPTIONS, sink);
  const outerScope: OuterScope = {
    options: outer,
    peers: readPeers(gathered.scopes.filter((s) => s.key === 'peer'), rules(scope.type), sink),
    requireTlsAt: gathered.options.get('require_tls')?.position,
  };
  const listeners: ParsedListener[] = [];
  let listenScopes = 0;
  let disabled = 0;
  for (const sub of gathered.scopes) {
    if (sub.key === 'peer') continue;
    if (sub.key !== 'listen') {
      ignoreNested(sub, scope.type, sink, ['Listen', 'Peer']);
      continue;
    }
    listenScopes += 1;
    const listener = buildListen(sub, outerScope, host, sink);
    if (listener === 'disabled') disabled += 1;
    else if (listener !== undefined) listeners.push(listener);
  }
  return { listeners, listenScopes, disabled };
}

function rules(label: string): ScopeRules {
  return { label, known: LISTENER_OPTIONS.names, unsupported: MOMENTUM_UNSUPPORTED_LISTENER_OPTIONS, refused: MOMENTUM_REFUSED_LISTENER_OPTIONS };
}

/** What a Listen inherits from its ESMTP_Listener / LMTP_Listener. */
interface OuterScope {
  readonly options: Partial<ListenerOptions>;
  readonly peers: readonly PeerRule[];
  /** Where Require_TLS is written, if it is. */
  readonly requireTlsAt: SourcePosition | undefined;
}

function buildListen(
  scope: ScopeNode,
  outerScope: OuterScope,
  host: ListenerHost,
  sink: DiagnosticSink,
): ParsedListener | 'disabled' | undefined {
  const outer = outerScope.options;
  const label = describeScope(scope);
  const gathered = gatherOptions(scope.items, rules(label), sink);
  for (const sub of gathered.scopes) if (sub.key !== 'peer') ignoreNested(sub, label, sink, ['Peer']);
  const inner = readOptions(gathered.options, LISTENER_OPTIONS, sink);
  const ownPeers = readPeers(gathered.scopes.filter((s) => s.key === 'peer'), rules(label), sink);
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
  const resolved = resolveOptions(LISTENER_OPTIONS, [inner, outer]);
  // The TLS and PROXY pieces are folded from both scopes; the rest is one value each.
  const plain = omit(resolved, FOLDED);
  const tls = foldTls(inner, outer, label, scope.position, sink);
  const auth = foldAuth(inner, outer, resolved, tls, { label, position: scope.position }, sink);
  if (auth === undefined) return undefined;
  const listener: ParsedListener = {
    label: scope.name.text,
    host: address.host,
    port: address.port,
    protocol: host.protocol,
    ...plain,
    bannerHostname: plain.bannerHostname ?? host.hostname,
    maxSessionsPerClient: plain.maxSessionsPerClient ?? defaultSessionsPerClient(plain.maxSessions),
    smtputf8: (inner.extensions ?? outer.extensions)?.smtputf8 ?? false,
    tls,
    ...auth,
    proxy: resolved.proxyProtocol ? ({ trustedHosts: resolved.proxyHosts } satisfies ListenerProxy) : null,
    peers: orderPeers(ownPeers, outerScope.peers),
    position: scope.position,
  };
  if (listener.tls === null) refuseRequireTlsWithoutTls(listener, gathered.options.get('require_tls')?.position ?? outerScope.requireTlsAt, sink);
  // Momentum's Enable: a staged Listen is still checked, so enabling it later is safe.
  return resolved.enable ? listener : 'disabled';
}

/**
 * RFC 3207 4: Require_TLS on a Listen that cannot do TLS would refuse every MAIL; say so at
 * load, where it is written (the Listen's option, the listener's, or a Peer's).
 */
function refuseRequireTlsWithoutTls(listener: ParsedListener, requireTlsAt: SourcePosition | undefined, sink: DiagnosticSink): void {
  const why = `Listen "${listener.label}" has no TLS (add "STARTTLS" to SMTP_Extensions with TLS_Certificate and TLS_Key, or Use_SSL = true)`;
  if (listener.requireTls && requireTlsAt !== undefined) {
    sink.error(ConfigCode.INVALID_VALUE, requireTlsAt, `Require_TLS = true, but ${why}: every MAIL would get 530`);
  }
  for (const peer of listener.peers) {
    if (peer.overrides.requireTls === true) {
      sink.error(ConfigCode.INVALID_VALUE, peer.position, `Peer "${peer.label}" sets Require_TLS = true, but ${why}: its clients could never send`);
    }
  }
}

/** Options that make up tls, proxy or the Enable decision rather than a field of their own. */
const FOLDED = ['extensions', 'certificate', 'key', 'clientCa', 'verifyMode', 'useSsl', 'proxyProtocol', 'proxyHosts', 'enable', 'authPasswordFile', 'authAllowPlaintext', 'requireAuth'] as const;

function omit<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Omit<T, K> {
  const out: Partial<T> = { ...value };
  for (const key of keys) delete out[key];
  return out as Omit<T, K>;
}

/**
 * A scope inside a listener that smtpipe does not read: a real Momentum scope (a shared
 * ecelerity.conf) is ignored with a warning; anything else is a typo, an error, because
 * ignoring a misspelt Listen would silently drop its address.
 */
function ignoreNested(scope: ScopeNode, parent: string, sink: DiagnosticSink, valid: readonly string[]): void {
  if (isMomentumStanza(scope.key)) {
    sink.warn(
      ConfigCode.IGNORED_STANZA,
      scope.position,
      `${describeScope(scope)} inside ${parent} is not used by smtpipe; ignored with its contents`,
    );
    return;
  }
  const hint = didYouMean(scope.type, valid) || `; ${parent} holds only ${valid.join(' and ')} scopes`;
  sink.error(ConfigCode.UNKNOWN_STANZA, scope.position, `unknown stanza ${describeScope(scope)} inside ${parent}${hint}`);
}
