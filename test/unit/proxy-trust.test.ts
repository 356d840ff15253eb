// Proxy_Hosts as a BlockList (src/smtp/proxy-trust.ts): addresses, subnets, both families,
// and IPv4 peers as a dual-stack socket reports them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListenerConfig } from '../../src/config/types.js';
import { isTrusted, trustedProxies } from '../../src/smtp/proxy-trust.js';

const withProxies = (...trustedHosts: string[]) => ({ proxy: { trustedHosts } }) as unknown as Pick<ListenerConfig, 'proxy'>;

test('no Proxy_Protocol: no list', () => {
  assert.equal(trustedProxies({ proxy: null }), null);
});

test('trusted peers: exact addresses, subnets, IPv6, ::ffff-mapped IPv4; an unknown peer never', () => {
  const list = trustedProxies(withProxies('127.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8'));
  assert.ok(list);
  const cases: Array<[string | undefined, boolean]> = [
    ['127.0.0.1', true],
    ['127.0.0.2', false],
    ['10.1.255.3', true],
    ['10.2.0.1', false],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.1.0.9', true],
    ['::ffff:192.0.2.1', false],
    ['::1', true],
    ['fd12:3456::1', true],
    ['fe80::1', false],
    [undefined, false],
  ];
  for (const [peer, trusted] of cases) assert.equal(isTrusted(list, peer), trusted, String(peer));
});
