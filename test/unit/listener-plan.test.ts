// planListeners: which running Listens a reload keeps, adds, rebinds and removes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListenerConfig } from '../../src/config/types.js';
import { listenKey, sameListenAddress } from '../../src/config/listen-address.js';
import { planListeners } from '../../src/ops/listener-plan.js';
import { canReconfigure } from '../../src/smtp/listener.js';

const listen = (label: string, implicit = false): ListenerConfig => {
  const [host = '', port = ''] = label.split(/:(?=\d+$)/);
  return {
    label, host: host === '' ? undefined : host, port: Number(port),
    tls: implicit ? ({ mode: 'implicit' } as ListenerConfig['tls']) : null,
  } as ListenerConfig;
};
const running = (...configs: ListenerConfig[]) => configs.map((config) => ({ config, name: config.label }));
const labels = (list: readonly { label: string }[]) => list.map((l) => l.label);

test('plan: same address and TLS mode is kept with its new config; the rest is added or removed', () => {
  const now = running(listen('127.0.0.1:25'), listen('127.0.0.1:26'));
  const next = [listen('127.0.0.1:25'), listen('127.0.0.1:27')];
  const plan = planListeners(now, next, canReconfigure);
  assert.deepEqual([...plan.kept].map(([l, c]) => [l.name, c === next[0]]), [['127.0.0.1:25', true]]);
  assert.deepEqual(labels(plan.added), ['127.0.0.1:27']);
  assert.deepEqual(plan.removed.map((l) => l.name), ['127.0.0.1:26']);
  assert.deepEqual(plan.rebound, []);
  assert.deepEqual(plan.reclaimed, []);
});

test('plan: a Listen that turns Use_SSL on keeps its port but needs a new server, bound after the old closes', () => {
  const now = running(listen('127.0.0.1:465'));
  const plan = planListeners(now, [listen('127.0.0.1:465', true)], canReconfigure);
  assert.equal(plan.kept.size, 0);
  assert.deepEqual(plan.added, []);
  assert.deepEqual(labels(plan.rebound), ['127.0.0.1:465']);
  assert.deepEqual(plan.removed.map((l) => l.name), ['127.0.0.1:465']);
});

test('plan: with nothing running, every Listen is added', () => {
  const plan = planListeners([], [listen(':25'), listen('[::1]:25')], canReconfigure);
  assert.deepEqual(labels(plan.added), [':25', '[::1]:25']);
  assert.deepEqual([plan.kept.size, plan.rebound.length, plan.removed.length], [0, 0, 0]);
});

test('plan: a Listen on an address an earlier reload released is reclaimed (bind retried), not added', () => {
  const now = running(listen('127.0.0.1:25'));
  const released = new Set([listenKey(listen('127.0.0.2:25')), listenKey(listen('127.0.0.3:0'))]);
  const next = [listen('127.0.0.1:25'), listen('127.0.0.2:25'), listen('127.0.0.3:0'), listen('127.0.0.4:25')];
  const plan = planListeners(now, next, canReconfigure, (a) => released.has(listenKey(a)));
  assert.deepEqual(labels(plan.reclaimed), ['127.0.0.2:25']);
  // Port 0 gets a new port from the kernel: nothing to wait for.
  assert.deepEqual(labels(plan.added), ['127.0.0.3:0', '127.0.0.4:25']);
  assert.deepEqual([plan.kept.size, plan.rebound.length, plan.removed.length], [1, 0, 0]);
  assert.notEqual(listenKey(listen(':25')), listenKey(listen('0.0.0.0:25')));
});

test('Listen identity: one rule for duplicates, reload pairing and reconfiguring in place', () => {
  const cases: Array<[string, string, boolean]> = [
    ['127.0.0.1:25', '127.0.0.1:25', true],
    ['127.0.0.1:25', '127.0.0.1:26', false],
    [':25', '0.0.0.0:25', false], // bind differently: every address vs IPv4 only
    [':25', ':25', true],
    ['[::1]:25', '[::1]:25', true],
    ['mx.example.com:25', 'mx.example.com:25', true],
  ];
  for (const [a, b, same] of cases) {
    assert.equal(sameListenAddress(listen(a), listen(b)), same, `${a} vs ${b}`);
    assert.equal(listenKey(listen(a)) === listenKey(listen(b)), same, `${a} vs ${b} (key)`);
    // The TLS mode is what canReconfigure adds to the address.
    assert.equal(canReconfigure(listen(a), listen(b)), same);
    assert.equal(canReconfigure(listen(a), listen(b, true)), false);
  }
});
