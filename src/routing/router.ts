// Recipient domain -> transport. Pure: no I/O, no config loading; built once per
// config and shared by every session.

import { domainToASCII } from 'node:url';
import type { TransportConfig } from '../config/types.js';

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * The A-label form (RFC 5890) that routing compares: `bücher.example` and
 * `xn--bcher-kva.example` are one domain, however the client or the config wrote it.
 */
function aLabels(domain: string): string {
  return NON_ASCII.test(domain) ? domainToASCII(domain) : domain.toLowerCase();
}

export interface Router {
  /** The transport that accepts mail for `domain`, or undefined (relaying denied). */
  route(domain: string): TransportConfig | undefined;
}

/**
 * Internationalized domains are compared in A-labels (SMTPUTF8 clients send U-labels).
 * Exact domains win over wildcards; `*.example.com` matches any subdomain of
 * example.com but not example.com itself (as Postfix's `.example.com` does), and the
 * longest wildcard wins. Matching is case-insensitive; a trailing dot is ignored.
 */
export function createRouter(transports: readonly TransportConfig[]): Router {
  const exact = new Map<string, TransportConfig>();
  const wildcard = new Map<string, TransportConfig>();
  for (const transport of transports) {
    for (const domain of transport.domains) {
      if (domain.startsWith('*.')) wildcard.set(aLabels(domain.slice(2)), transport);
      else exact.set(aLabels(domain), transport);
    }
  }
  return {
    route(domain) {
      let name = aLabels(domain);
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
