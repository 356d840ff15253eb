// The option rows themselves: each is complete (doc, type, a default or words for it),
// names are unique per scope, and a default that its own reader refuses is caught when
// the table is defined, not at the first load that needs it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GLOBAL_OPTIONS } from '../../src/config/global-options.js';
import { LISTENER_OPTIONS } from '../../src/config/listener-options.js';
import { count, defineOptions, whole } from '../../src/config/option-table.js';
import { TRANSPORT_OPTIONS } from '../../src/config/transport-options.js';

const SCOPES = { global: GLOBAL_OPTIONS, listener: LISTENER_OPTIONS, transport: TRANSPORT_OPTIONS };

test('option rows: a doc line, a type, and exactly one of default or defaultDoc', () => {
  for (const [scope, options] of Object.entries(SCOPES)) {
    for (const spec of Object.values(options.rows)) {
      assert.ok(spec.doc.length > 10 && spec.type.length > 0, `${scope} ${spec.name}`);
      assert.ok((spec.default === undefined) !== (spec.defaultDoc === undefined), `${scope} ${spec.name}: default xor defaultDoc`);
    }
    const lower = options.names.map((n) => n.toLowerCase());
    assert.equal(new Set(lower).size, lower.length, `${scope}: names unique, ignoring case`);
  }
});

test('option rows: defaults are read by the row, frozen, and stated in file units', () => {
  assert.equal(LISTENER_OPTIONS.defaults.idleTimeoutMs, 300_000);
  assert.equal(LISTENER_OPTIONS.defaults.bannerHostname, null);
  assert.deepEqual(LISTENER_OPTIONS.defaults.proxyHosts, ['127.0.0.0/8', '::1']);
  assert.ok(Object.isFrozen(LISTENER_OPTIONS.defaults.proxyHosts));
  assert.equal(TRANSPORT_OPTIONS.defaults.outputMode, 0o600);
  assert.equal(TRANSPORT_OPTIONS.defaults.outputFile, null, '"/dev/null" reads as no file');
  // Shared by every transport without a code map: it must not be changeable through one.
  assert.throws(() => (TRANSPORT_OPTIONS.defaults.codes as Map<number, unknown>).set(1, {}), /frozen config/);
});

test('defineOptions: a default its own reader refuses is a bug, thrown at once', () => {
  assert.throws(
    () => defineOptions<{ n: number }, { n: number }>({ n: { name: 'N', ...count({ min: 1 }), default: '0', doc: 'a count', print: (r) => whole(r.n) } }),
    /the default of N \(0\) does not read: .*must be at least 1, got 0/,
  );
});
