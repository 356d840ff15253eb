// One spelling per client IP address, so that a per-client count, a log line and
// ${client_address} agree however the address arrived (socket, PROXY v1 text, PROXY v2
// bytes). Pure.

import { isIPv4, isIPv6 } from 'node:net';

const MAPPED_IPV4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * IPv4 as is; IPv6 lower-case and compressed (RFC 5952, through the WHATWG URL parser);
 * an IPv4-mapped IPv6 address (a dual-stack socket's IPv4 peer) as its IPv4 address.
 * Anything else is returned unchanged.
 */
export function canonicalIp(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address) || address.includes('%')) return address;
  const compressed = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const mapped = MAPPED_IPV4.exec(compressed);
  if (!mapped) return compressed;
  const high = parseInt(mapped[1] ?? '0', 16);
  const low = parseInt(mapped[2] ?? '0', 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}
