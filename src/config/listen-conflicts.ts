// Which configured addresses (every Listen, Metrics_Listen) could not all be bound at once,
// found at load instead of as EADDRINUSE at start or reload. Pure; the rules follow what
// Linux does with the sockets smtpipe makes (test/unit/config-listen-conflicts.test.ts binds them).

import { isIPv4, isIPv6 } from 'node:net';

export interface BindAddress {
  /** undefined = every address (":25"). */
  readonly host: string | undefined;
  readonly port: number;
}

/**
 * One address as the kernel sees it. ":25" and "[::]:25" are one dual-stack socket:
 * Node (libuv) binds "::" with IPV6_V6ONLY off whatever the sysctl says, or 0.0.0.0 on a
 * host without IPv6, so they take the port on every address of both families.
 * "0.0.0.0:25" takes it on every IPv4 address. A host name is compared as written: what
 * it resolves to is known only at bind time.
 */
type Bound =
  | { readonly kind: 'any' }
  | { readonly kind: 'any4' }
  | { readonly kind: 'v4' | 'v6' | 'name'; readonly address: string };

function classify(host: string | undefined): Bound {
  if (host === undefined) return { kind: 'any' };
  if (isIPv4(host)) return host === '0.0.0.0' ? { kind: 'any4' } : { kind: 'v4', address: host };
  if (isIPv6(host)) {
    // The URL parser writes an IPv6 address in its one canonical form ("0:0::1" -> "::1").
    const canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
    return canonical === '::' ? { kind: 'any' } : { kind: 'v6', address: canonical };
  }
  return { kind: 'name', address: host.toLowerCase() };
}

export type BindConflict = 'same' | 'overlap';

/**
 * 'same': two spellings of one address; 'overlap': a wildcard and an address it covers
 * (Linux refuses a second listening socket on a port a wildcard one holds, even with
 * SO_REUSEADDR). undefined: both can be bound. Port 0 never conflicts (the OS picks).
 */
export function bindConflict(a: BindAddress, b: BindAddress): BindConflict | undefined {
  if (a.port !== b.port || a.port === 0) return undefined;
  const x = classify(a.host);
  const y = classify(b.host);
  if (x.kind === 'any' || y.kind === 'any' || (x.kind === 'any4' && y.kind === 'any4')) {
    return x.kind === y.kind ? 'same' : 'overlap';
  }
  if (x.kind === 'any4' || y.kind === 'any4') {
    return x.kind === 'v4' || y.kind === 'v4' ? 'overlap' : undefined;
  }
  return x.kind === y.kind && 'address' in x && 'address' in y && x.address === y.address ? 'same' : undefined;
}
