// Which Peer scope a client falls in, and the Listen's options as that Peer makes them:
// built once per Listen config (a reload builds a new one), asked once per session.
// Pure; refusing the client and logging are session-hooks.ts's.

import { BlockList } from 'node:net';
import { isIPv4 } from 'node:net';
import type { ListenerConfig, PeerRule } from '../config/types.js';
import { canonicalIp } from './ip-address.js';

export interface PeerMatch {
  /** The Listen's options with every matching Peer's overrides applied. */
  readonly config: ListenerConfig;
  /** The most specific matching Peer as written ("10.0.0.0/8"), or null: none matched. */
  readonly peer: string | null;
  /** false: a matching Peer says Enable = false; the client gets 554 5.7.1. */
  readonly enabled: boolean;
}

export interface PeerTable {
  match(clientAddress: string): PeerMatch;
}

interface Row {
  readonly rule: PeerRule;
  readonly block: BlockList;
  readonly family: 'ipv4' | 'ipv6';
  /** The Listen's options under this Peer and every wider one that contains it. */
  readonly match: PeerMatch;
}

/**
 * Rows in the config's order: most specific prefix first (src/config/peer-scope.ts). Two
 * matching CIDR blocks always nest, so the Peers that contain a client are the first
 * match and the wider ones containing it: each row's resolved options are computed here,
 * and a session costs one scan and no copy.
 */
export function createPeerTable(config: ListenerConfig): PeerTable {
  const none: PeerMatch = { config, peer: null, enabled: true };
  const rows: Row[] = [];
  for (const rule of config.peers) {
    const block = new BlockList();
    block.addSubnet(rule.network, rule.prefix, rule.family);
    // The wider Peers containing this one, least specific first, so the narrower win.
    const layers = config.peers.filter((wider) => wider.prefix <= rule.prefix && wider.family === rule.family && contains(wider, rule)).reverse();
    let resolved: ListenerConfig = config;
    let enabled = true;
    for (const layer of layers) {
      const { enable, ...overrides } = layer.overrides;
      resolved = { ...resolved, ...overrides };
      if (enable !== undefined) enabled = enable;
    }
    rows.push({ rule, block, family: rule.family, match: { config: resolved, peer: rule.label, enabled } });
  }
  return {
    match(clientAddress) {
      if (rows.length === 0) return none;
      // A dual-stack socket's IPv4 client (::ffff:a.b.c.d) is judged by IPv4 Peers.
      const address = canonicalIp(clientAddress);
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      for (const row of rows) if (row.family === family && row.block.check(address, family)) return row.match;
      return none;
    },
  };
}

/** Whether `wider` (prefix no longer than `narrow`'s) contains `narrow`'s network. */
function contains(wider: PeerRule, narrow: PeerRule): boolean {
  const list = new BlockList();
  list.addSubnet(wider.network, wider.prefix, wider.family);
  return list.check(narrow.network, narrow.family);
}
