import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRouter } from '../../src/routing/router.js';
import { makeTransport } from '../helpers/transport.js';

const tickets = makeTransport({ name: 'tickets', domains: ['example.com', '*.example.net', 'deep.sub.example.net'] });
const archive = makeTransport({ name: 'archive', domains: ['*.sub.example.net', 'example.org'] });
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
];

for (const [domain, expected] of cases) {
  test(`route(${JSON.stringify(domain)}) -> ${expected ?? 'none'}`, () => {
    assert.equal(router.route(domain)?.name, expected);
  });
}
