// What a reload changed, for its "configuration reloaded" line: transports, their domains
// and Listens added or removed. Pure: compares two Configs, logs nothing.

import type { Config } from '../config/types.js';

export interface ReloadChanges {
  readonly transportsAdded: string[];
  readonly transportsRemoved: string[];
  /** transport -> domains it serves now and did not before (a new transport: all of them). */
  readonly domainsAdded: Record<string, string[]>;
  /** transport -> domains it served before and does not now (a removed one: all of them). */
  readonly domainsRemoved: Record<string, string[]>;
  readonly listenersAdded: string[];
  readonly listenersRemoved: string[];
}

export function summarizeReload(current: Config, next: Config): ReloadChanges {
  const before = new Map(current.transports.map((t) => [t.name, t.domains]));
  const after = new Map(next.transports.map((t) => [t.name, t.domains]));
  const beforeListens = current.listeners.map((l) => l.label);
  const afterListens = next.listeners.map((l) => l.label);
  return {
    transportsAdded: [...after.keys()].filter((name) => !before.has(name)),
    transportsRemoved: [...before.keys()].filter((name) => !after.has(name)),
    domainsAdded: domainDifference(after, before),
    domainsRemoved: domainDifference(before, after),
    listenersAdded: afterListens.filter((label) => !beforeListens.includes(label)),
    listenersRemoved: beforeListens.filter((label) => !afterListens.includes(label)),
  };
}

/** Per transport of `from`, its domains that `other`'s transport of that name lacks; empty ones left out. */
function domainDifference(from: ReadonlyMap<string, readonly string[]>, other: ReadonlyMap<string, readonly string[]>): Record<string, string[]> {
  const difference: Record<string, string[]> = {};
  for (const [name, domains] of from) {
    const known = new Set(other.get(name) ?? []);
    const only = domains.filter((domain) => !known.has(domain));
    if (only.length > 0) difference[name] = only;
  }
  return difference;
}
