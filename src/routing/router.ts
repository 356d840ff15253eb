// Recipient domain -> transport. Pure: no I/O, no config loading; built once per
// config and shared by every session.

import type { TransportConfig } from '../config/types.js';

export interface Router {
  /** The transport that accepts mail for `domain`, or undefined (relaying denied). */
  route(domain: string): TransportConfig | undefined;
}

/**
 * Exact domains win over wildcards; `*.example.com` matches any subdomain of
 * example.com but not example.com itself (as Postfix's `.example.com` does), and the
 * longest wildcard wins. Matching is case-insensitive; a trailing dot is ignored.
 */
export function createRouter(transports: readonly TransportConfig[]): Router {
  const exact = new Map<string, TransportConfig>();
  const wildcard = new Map<string, TransportConfig>();
  for (const transport of transports) {
    for (const domain of transport.domains) {
      if (domain.startsWith('*.')) wildcard.set(domain.slice(2), transport);
      else exact.set(domain, transport);
    }
  }
  return {
    route(domain) {
      let name = domain.toLowerCase();
      if (name.endsWith('.')) name = name.slice(0, -1);
      if (name === '') return undefined;
      const hit = exact.get(name);
      if (hit || wildcard.size === 0) return hit;
      for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
        const parent = wildcard.get(name.slice(dot + 1));
        if (parent) return parent;
      }
      return undefined;
    },
  };
}
