// HeaderScan (src/message/header-scan.ts): what it reports of a header section, the same
// whatever the chunks the message arrives in, and its bounds (a line prefix, a value).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeaderScan, type HeaderFacts } from '../../src/message/header-scan.js';

const anyValue = () => true;

function scan(text: string | Buffer, cuts: readonly number[] = [], watch: ((value: string) => boolean) | undefined = anyValue): HeaderFacts {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const s = new HeaderScan(watch);
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    s.push(bytes.subarray(from, to));
    from = to;
  }
  return s.finish();
}

const cases: Array<[string, string, HeaderFacts]> = [
  ['no headers', '\r\nReceived: x\r\n', { receivedHeaders: 0, deliveredTo: [] }],
  ['two Received, any case, WSP before the colon', 'Received: a\r\nRECEIVED : b\r\nSubject: s\r\n\r\nbody\r\n', { receivedHeaders: 2, deliveredTo: [] }],
  ['a folded Received counts once', 'Received: a\r\n by b\r\n\twith c\r\n\r\n', { receivedHeaders: 1, deliveredTo: [] }],
  ['bare LF line endings', 'Received: a\nreceived: b\n\nReceived: body\n', { receivedHeaders: 2, deliveredTo: [] }],
  ['no empty line: the body starts at the first non-field line', 'Received: a\r\nnot a header\r\nReceived: b\r\n', { receivedHeaders: 1, deliveredTo: [] }],
  ['headers only, no final CRLF', 'Received: a\r\nReceived: b', { receivedHeaders: 2, deliveredTo: [] }],
  ['Delivered-To values, unfolded and trimmed', 'Delivered-To:  a@x.test \r\ndelivered-to:\r\n <b@x.test>\r\n\r\nDelivered-To: c@x.test\r\n', { receivedHeaders: 0, deliveredTo: ['a@x.test', '<b@x.test>'] }],
  ['a repeated value once', 'Delivered-To: a@x\r\nDelivered-To: a@x\r\n\r\n', { receivedHeaders: 0, deliveredTo: ['a@x'] }],
  ['an empty value is none', 'Delivered-To:\r\n\r\n', { receivedHeaders: 0, deliveredTo: [] }],
];

for (const [name, text, expected] of cases) {
  test(`HeaderScan: ${name}, cut anywhere`, () => {
    assert.deepEqual(scan(text), expected);
    const length = Buffer.byteLength(text);
    // Every single cut, and every pair of cuts: CR and LF apart, a name split, an empty line split.
    for (let i = 0; i <= length; i += 1) {
      assert.deepEqual(scan(text, [i]), expected, `cut at ${i}`);
      for (let j = i; j <= length; j += 1) assert.deepEqual(scan(text, [i, j]), expected, `cuts at ${i}, ${j}`);
    }
  });
}

test('HeaderScan: only the values the watch accepts are reported; no watch, no values', () => {
  const text = 'Delivered-To: a@x\r\nDelivered-To: b@x\r\n\r\n';
  assert.deepEqual(scan(text, [], (v) => v === 'b@x').deliveredTo, ['b@x']);
  const unwatched = new HeaderScan();
  unwatched.push(Buffer.from(text));
  assert.deepEqual(unwatched.finish(), { receivedHeaders: 0, deliveredTo: [] });
});

test('HeaderScan: a 10 MB header line and a value folded past 1 KiB are read without keeping them', () => {
  const seen: string[] = [];
  const watch = (value: string) => {
    seen.push(value);
    return true;
  };
  const longLine = `Received: ${'x'.repeat(10 * 1024 * 1024)}\r\n`;
  const folded = `Delivered-To: a@x${'\r\n y'.repeat(2000)}\r\n`;
  const text = `${longLine}${folded}Delivered-To: ${'z'.repeat(2000)}\r\nDelivered-To: ok@x\r\n\r\n`;
  const facts = scan(Buffer.from(text), [5, 4096, 65536], watch);
  assert.equal(facts.receivedHeaders, 1);
  // The folded value grew past what an address may be, the long one never fit: neither is offered.
  assert.deepEqual(seen, ['ok@x']);
  assert.deepEqual(facts.deliveredTo, ['ok@x']);
});

test('HeaderScan: at most 16 distinct values are kept, and the body is never read', () => {
  const many = Array.from({ length: 40 }, (_, i) => `Delivered-To: r${i}@x\r\n`).join('');
  assert.equal(scan(`${many}\r\n`).deliveredTo.length, 16);
  let calls = 0;
  const s = new HeaderScan(() => {
    calls += 1;
    return true;
  });
  s.push(Buffer.from('Subject: s\r\n\r\n'));
  for (let i = 0; i < 1000; i += 1) s.push(Buffer.from('Delivered-To: x@y\r\nReceived: z\r\n'));
  assert.deepEqual(s.finish(), { receivedHeaders: 0, deliveredTo: [] });
  assert.equal(calls, 0);
});
