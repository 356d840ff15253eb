import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRouter } from '../../src/routing/router.js';
import { makeTransport } from '../helpers/transport.js';

const tickets = makeTransport({ name: 'tickets', domains: ['example.com', '*.example.net', 'deep.sub.example.net', 'xn--bcher-kva.example'] });
const archive = makeTransport({ name: 'archive', domains: ['*.sub.example.net', 'example.org', '*.例子.广告'] });
const router = createRouter([tickets, archive]);

const cases: Array<[string, string | undefined]> = [
  ['example.com', 'tickets'],
  ['EXAMPLE.COM', 'tickets'],
  ['example.com.', 'tickets'],
  ['sub.example.com', undefined], // exact entries do not cover subdomains
  ['example.net', undefined], // a wildcard does not cover its own apex
  ['a.example.net', 'tickets'],
  ['x.sub.example.net', 'archive'], // the longest wildcard wins
  ['deep.sub.example.net', 'tickets'], // exact beats any wildcard
  ['example.org', 'archive'],
  ['example.orgx', undefined],
  ['', undefined],
  ['[127.0.0.1]', undefined],
  // IDNs are compared in A-labels, however the client or the config wrote them.
  ['bücher.example', 'tickets'],
  ['BÜCHER.example.', 'tickets'],
  ['xn--bcher-kva.example', 'tickets'],
  ['mx.例子.广告', 'archive'],
  ['mx.xn--fsqu00a.xn--4rr70v', 'archive'],
  ['\ufffd.example', undefined],
];

for (const [domain, expected] of cases) {
  test(`route(${JSON.stringify(domain)}) -> ${expected ?? 'none'}`, () => {
    assert.equal(router.route(domain)?.name, expected);
  });
}
