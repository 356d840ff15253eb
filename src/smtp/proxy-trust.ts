// Which peers may send a PROXY header (Proxy_Hosts): a BlockList built from the config's
// addresses and subnets. Pure; refusing the socket is connection.ts's, logging listener.ts's.

import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { ListenerConfig } from '../config/types.js';

/** The trusted proxies of a Listen with Proxy_Protocol; null when it has none (no PROXY). */
export function trustedProxies(config: Pick<ListenerConfig, 'proxy'>): BlockList | null {
  if (!config.proxy) return null;
  const list = new BlockList();
  for (const entry of config.proxy.trustedHosts) {
    const [address = '', prefix] = entry.split('/');
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/** Whether a socket's peer address is on the list; an unknown address (gone) is not. */
export function isTrusted(list: BlockList, rawAddress: string | undefined): boolean {
  if (rawAddress === undefined) return false;
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
  const address = rawAddress.startsWith('::ffff:') && isIPv4(rawAddress.slice(7)) ? rawAddress.slice(7) : rawAddress;
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}
