import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { buildHeldMessages, checkDigests, parseDigests, toWire } from '../compare/held-message.js';
import { SYSTEM } from '../compare/names.js';
import { roundOrder } from '../compare/scenarios/interleaved.js';
import { baselineTarget, heldLargeTarget, largeCeilingTarget, pairedRatio } from '../compare/targets-spool.js';
import type { HeldLargeResult, InterleavedResult, Measurement } from '../compare/types.js';

const NATIVE = SYSTEM.smtpipe('native');

function held(change: Partial<HeldLargeResult> = {}): HeldLargeResult {
  return {
    system: NATIVE,
    status: 'ok',
    note: null,
    messages: 200,
    sizeBytes: 10_485_760,
    wireBytes: 10_621_954,
    concurrency: 20,
    allSentAfterSeconds: 30,
    maxInFlight: 200,
    maxHeldPrograms: 20,
    baselineRssMb: 80,
    peakRssMb: 190,
    hwmRssMb: 200,
    sampleIntervalMs: 100,
    ok2xx: 200,
    failed: 0,
    byteExact: 200,
    corrupted: 0,
    seconds: 40,
    ...change,
  };
}

const heldCases: Array<[string, HeldLargeResult | null, string, number | null]> = [
  ['bounded and byte-exact', held(), 'PASS', 200],
  ['exactly the ceiling passes', held({ hwmRssMb: 250, peakRssMb: 240 }), 'PASS', 250],
  ['VmHWM over 250 MB (today: 2,297)', held({ hwmRssMb: 2297, peakRssMb: 2290 }), 'FAIL', 2297],
  ['a sampled peak above VmHWM counts', held({ hwmRssMb: 200, peakRssMb: 251 }), 'FAIL', 251],
  ['one message not byte-exact', held({ byteExact: 199, corrupted: 1 }), 'FAIL', 200],
  ['one message refused', held({ ok2xx: 199, failed: 1 }), 'FAIL', 200],
  ['not all held at once: the RSS proves nothing', held({ allSentAfterSeconds: null, maxInFlight: 120 }), 'FAIL', 200],
  ['the run failed', held({ status: 'failed', note: 'daemon exited', hwmRssMb: null, peakRssMb: null }), 'SKIP', null],
  ['the group did not run', null, 'SKIP', null],
];

for (const [title, result, verdict, value] of heldCases) {
  test(`held-large target: ${title} -> ${verdict}`, () => {
    const t = heldLargeTarget(result);
    assert.equal(t.verdict, verdict, t.detail);
    assert.equal(t.value, value);
  });
}

test('held-large detail names VmHWM, the sampled peak, the bytes in flight and the byte-exact count', () => {
  assert.equal(
    heldLargeTarget(held({ hwmRssMb: 2297.4, peakRssMb: 2290.2 })).detail,
    'VmHWM 2297 MB, sampled peak 2290 MB, 2000 MB in flight (all 200 in flight at 30.0 s); 200/200 byte-exact, 200 2xx',
  );
});

function run(system: string, msgsPerSecond: number, status: Measurement['status'] = 'ok', size = '2k', sizeBytes = 2048): Measurement {
  return {
    system,
    point: { connections: 50, size, sizeBytes, durationSeconds: 8 },
    status,
    note: null,
    msgsPerSecond,
    bytesPerSecond: msgsPerSecond * sizeBytes,
    p50Ms: 10,
    p99Ms: 20,
    sent: 1,
    ok2xx: 1,
    fail4xx: 0,
    fail5xx: 0,
    errors: 0,
    windowSeconds: 8,
    usage: null,
  };
}

test('paired ratio: round k of one system over round k of the other, the median of those', () => {
  // ABBA order: A B | B A | A B
  const runs = [run('a', 100), run('b', 100), run('b', 110), run('a', 99), run('a', 80), run('b', 100)];
  const p = pairedRatio(runs, 'a', 'b');
  assert.ok(p);
  assert.deepEqual(p.perRound, [1, 0.9, 0.8]);
  assert.equal(p.ratio, 0.9);
  assert.deepEqual([p.numeratorMedian, p.denominatorMedian], [99, 100]);
  // A failed round drops out; pairs are formed from the ok ones.
  assert.deepEqual(pairedRatio([run('a', 100), run('b', 0, 'failed'), run('b', 50)], 'a', 'b')?.perRound, [2]);
  assert.equal(pairedRatio([run('a', 100)], 'a', 'b'), null);
});

test('round order alternates: A B, B A, A B', () => {
  assert.deepEqual([0, 1, 2].map((r) => roundOrder(['a', 'b'], r).join('')), ['ab', 'ba', 'ab']);
});

function group(name: string, systems: [string, string], rates: Array<[number, number]>, size = '2k', sizeBytes = 2048): InterleavedResult {
  return {
    group: name,
    status: 'ok',
    note: null,
    point: { connections: name === 'baseline' ? 50 : 10, size, sizeBytes, durationSeconds: 8 },
    systems,
    rounds: rates.length,
    measurements: rates.flatMap(([a, b]) => [run(systems[0], a, 'ok', size, sizeBytes), run(systems[1], b, 'ok', size, sizeBytes)]),
  };
}

test('large-ceiling target: smtpipe at >= 0.8x the ceiling at c=10 10m (today 0.45x)', () => {
  const large = (rates: Array<[number, number]>) => largeCeilingTarget([group('large-ceiling', [NATIVE, SYSTEM.ceiling], rates, '10m', 10_485_760)]);
  const today = large([[34, 76], [35, 77], [33, 75]]);
  assert.equal(today.verdict, 'FAIL');
  assert.equal(today.name, `large-ceiling: c=10 10m ${NATIVE} / ${SYSTEM.ceiling}`);
  assert.match(today.detail, /^0\.45, 0\.45, 0\.44 per round; 340\.0 MB\/s vs 760\.0 MB\/s \(medians\)$/);
  assert.equal(large([[64, 80], [70, 80], [60, 80]]).verdict, 'PASS');
  assert.equal(large([[63, 80], [70, 80], [60, 80]]).verdict, 'FAIL'); // median 0.7875
  assert.equal(largeCeilingTarget([]).verdict, 'SKIP');
  assert.equal(largeCeilingTarget([{ ...group('large-ceiling', [NATIVE, SYSTEM.ceiling], []), status: 'failed', note: 'ceiling did not start' }]).verdict, 'SKIP');
});

test('baseline target: no slower than the baseline checkout, within 5 %', () => {
  const base = (rates: Array<[number, number]>) => baselineTarget([group('baseline', [NATIVE, SYSTEM.baseline], rates)]);
  assert.equal(base([[500, 500], [480, 500], [530, 500]]).verdict, 'PASS');
  assert.equal(base([[475, 500], [480, 500], [470, 500]]).verdict, 'PASS'); // 0.95
  assert.equal(base([[470, 500], [480, 500], [460, 500]]).verdict, 'FAIL'); // 0.94
  assert.equal(base([[470, 500], [480, 500], [460, 500]]).name, `baseline: c=50 2k ${NATIVE} / ${SYSTEM.baseline}`);
  assert.match(baselineTarget([]).detail, /--baseline DIR/);
});

test('held messages: the wire form is CRLF and dot-stuffed, each message unique, its digest that of the LF form', () => {
  assert.equal(toWire('.a\nb\n..c\n').toString('latin1'), '..a\r\nb\r\n...c\r\n');
  const m = buildHeldMessages(3, 4096, Buffer.from('filler bytes'));
  assert.ok(m.sizeBytes <= 4096 && m.sizeBytes > 4096 - 80, String(m.sizeBytes));
  const wire = (i: number) => Buffer.concat([m.commonWire, m.uniqueWire(i)]);
  assert.equal(wire(0).length, m.wireBytes);
  const lf = (i: number) => wire(i).toString('latin1').replace(/\r\n/g, '\n').replace(/^\.\./gm, '.');
  for (const i of [0, 1, 2]) {
    assert.equal(lf(i).length, m.sizeBytes);
    assert.equal(createHash('sha256').update(lf(i), 'latin1').digest('hex'), m.expectedDigest(i));
  }
  assert.notEqual(m.expectedDigest(0), m.expectedDigest(1));
  assert.match(wire(2).toString('latin1'), /\r\n\.\.[^\r]{75}\r\n/, 'some line is dot-stuffed');
  assert.match(lf(2), /\nbench message 3 of 3\n$/);
  assert.doesNotMatch(wire(1).toString('latin1'), /[^\r]\n|\r[^\n]/, 'no bare CR or LF');
});

test('digest check: byte-exact, missing and corrupted counted as multisets', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const c = 'c'.repeat(64);
  assert.deepEqual(parseDigests(`${a}  -\n\n${b}  -\nnoise\n`), [a, b]);
  assert.deepEqual(checkDigests([a, b, c], [b, a, c]), { byteExact: 3, missing: 0, corrupted: 0 });
  assert.deepEqual(checkDigests([a, b, c], [a, a, 'd'.repeat(64)]), { byteExact: 1, missing: 2, corrupted: 2 });
});
