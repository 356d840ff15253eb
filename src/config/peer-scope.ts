// `Peer "CIDR" { ... }` inside an ESMTP_Listener, LMTP_Listener or Listen: reads the
// client block and the per-session listener options it overrides (PEER_FIELDS). Pure; the
// table that matches a client at run time is src/smtp/peer-table.ts.

import { isIP } from 'node:net';
import type { ScopeNode } from './ast.js';
import { describeScope } from './ast.js';
import { ConfigCode } from './codes.js';
import { formatPosition, type DiagnosticSink } from './diagnostics.js';
import { LISTENER_OPTIONS, PEER_FIELDS, type ListenerOptions } from './listener-options.js';
import { readOptions } from './option-table.js';
import { gatherOptions, type ScopeRules } from './scope-options.js';
import type { PeerOverrides, PeerRule } from './types.js';

const PEER_OPTION_NAMES = PEER_FIELDS.map((field) => LISTENER_OPTIONS.rows[field].name);

/** The Peers of one scope, in the order written; duplicates and bad blocks are errors. */
export function readPeers(scopes: readonly ScopeNode[], rules: ScopeRules, sink: DiagnosticSink): PeerRule[] {
  const peers: PeerRule[] = [];
  const seen = new Map<string, PeerRule>();
  for (const scope of scopes) {
    const peer = readPeer(scope, rules, sink);
    if (peer === undefined) continue;
    const key = `${peer.family}|${peer.network}|${peer.prefix}`;
    const first = seen.get(key);
    if (first !== undefined) {
      sink.error(ConfigCode.DUPLICATE, scope.position, `${describeScope(scope)} is already configured at ${formatPosition(first.position)}`);
      continue;
    }
    seen.set(key, peer);
    peers.push(peer);
  }
  return peers;
}

/**
 * One table for a Listen: its own Peers and its listener's, most specific prefix first;
 * on an equal prefix the Listen's first. A client takes each option from the first Peer
 * that contains it and sets it, then from the Listen, the listener, the default.
 */
export function orderPeers(listenPeers: readonly PeerRule[], listenerPeers: readonly PeerRule[]): PeerRule[] {
  // Array.prototype.sort is stable: the Listen's stay ahead of the listener's on a tie.
  return [...listenPeers, ...listenerPeers].sort((a, b) => b.prefix - a.prefix);
}

function readPeer(scope: ScopeNode, parent: ScopeRules, sink: DiagnosticSink): PeerRule | undefined {
  const label = `${describeScope(scope)} in ${parent.label}`;
  const gathered = gatherOptions(scope.items, { ...parent, label }, sink);
  for (const sub of gathered.scopes) {
    sink.warn(ConfigCode.IGNORED_STANZA, sub.position, `${describeScope(sub)} inside ${label} is not used by smtpipe; ignored with its contents`);
  }
  for (const opt of gathered.options.values()) {
    if (PEER_OPTION_NAMES.some((name) => name.toLowerCase() === opt.key)) continue;
    sink.error(
      ConfigCode.INVALID_VALUE,
      opt.position,
      `${opt.name} cannot be set in a Peer: it applies to the whole Listen. A Peer may set ${PEER_OPTION_NAMES.join(', ')}`,
    );
  }
  const read: Partial<ListenerOptions> = readOptions(gathered.options, LISTENER_OPTIONS, sink);
  const overrides: Partial<Record<keyof PeerOverrides, unknown>> = {};
  for (const field of PEER_FIELDS) if (read[field] !== undefined) overrides[field] = read[field];
  if (scope.name === undefined) {
    sink.error(ConfigCode.MISSING_OPTION, scope.position, `${scope.type} needs a client address or CIDR block: Peer "10.0.0.0/8" { }`);
    return undefined;
  }
  const block = parseCidr(scope.name.text);
  if (block === undefined) {
    sink.error(
      ConfigCode.INVALID_VALUE,
      scope.name.position,
      `${describeScope(scope)}: not an IP address or CIDR block (e.g. "10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1")`,
    );
    return undefined;
  }
  return { label: scope.name.text, ...block, overrides: overrides as PeerOverrides, position: scope.position };
}

/** "a.b.c.d[/n]" or "v6[/n]"; no prefix: the one address (/32, /128). */
export function parseCidr(text: string): Pick<PeerRule, 'family' | 'network' | 'prefix'> | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || address.includes('%') || extra !== undefined) return undefined;
  const maxBits = version === 6 ? 128 : 32;
  if (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? maxBits : Number(prefixText);
  if (prefix > maxBits) return undefined;
  return { family: version === 6 ? 'ipv6' : 'ipv4', network: address.toLowerCase(), prefix };
}
