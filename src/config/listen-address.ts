// Parses a Listen name: "127.0.0.1:2525", ":25" (every address), "[::1]:2525",
// "mx.example.com:25", and says when two Listens are the same address (listenKey).
// Pure; port 0 is allowed (the OS picks one, as tests need).

import { isIP, isIPv6 } from 'node:net';
import { hostnameProblem } from './hostnames.js';

export type ListenAddress =
  | { readonly ok: true; readonly host: string | undefined; readonly port: number }
  | { readonly ok: false; readonly reason: string };

const EXAMPLES = 'e.g. "127.0.0.1:2525", ":25" or "[::1]:2525"';

export function parseListenAddress(label: string): ListenAddress {
  let host: string;
  let port: string;
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(label);
  if (bracketed !== null) {
    host = bracketed[1] as string;
    port = bracketed[2] as string;
    if (!isIPv6(host)) return { ok: false, reason: `"${host}" is not an IPv6 address` };
  } else {
    const colon = label.lastIndexOf(':');
    if (colon === -1) return { ok: false, reason: `expected host:port, ${EXAMPLES}` };
    host = label.slice(0, colon);
    port = label.slice(colon + 1);
    if (host.includes(':')) return { ok: false, reason: `an IPv6 address must be in brackets, e.g. "[::1]:25"` };
    if (host !== '' && isIP(host) === 0) {
      // Digits and dots that are not an IPv4 address are a typo, not a host name.
      if (/^[0-9.]+$/.test(host)) return { ok: false, reason: `"${host}" is not an IPv4 address` };
      const problem = hostnameProblem(host);
      if (problem !== undefined) return { ok: false, reason: `"${host}" is not a host name: ${problem}` };
    }
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) {
    return { ok: false, reason: `port ${JSON.stringify(port)} is not a number from 0 to 65535 (${EXAMPLES})` };
  }
  return { ok: true, host: host === '' ? undefined : host, port: Number(port) };
}

/**
 * What makes two Listens the same address: the host as written (":25" and "0.0.0.0:25"
 * stay apart, as they bind differently) and the port. The rule for pairing Listens across
 * a reload (src/ops/listener-plan.ts) and for reconfiguring one in place
 * (src/smtp/listener.ts); which addresses cannot be bound together is listen-conflicts.ts.
 */
export function listenKey(listen: { readonly host: string | undefined; readonly port: number }): string {
  return `${listen.host ?? '*'}|${listen.port}`;
}

export function sameListenAddress(
  a: { readonly host: string | undefined; readonly port: number },
  b: { readonly host: string | undefined; readonly port: number },
): boolean {
  return listenKey(a) === listenKey(b);
}
