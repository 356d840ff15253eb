// Table-driven tests of workers/line-endings.ts: toLineEnding (CRLF -> LF in place) and the bare CR/LF policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasBareNewline, toLineEnding } from '../../src/message/line-endings.js';

/** A fresh ArrayBuffer-backed view, as the worker gets it after a transfer. */
function bytesOf(latin1: string): Uint8Array {
  const view = new Uint8Array(new ArrayBuffer(latin1.length));
  view.set(Buffer.from(latin1, 'latin1'));
  return view;
}

function text(view: Uint8Array): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('latin1');
}

/** LF form of the wire bytes: what 'lf' gives ('reject' when none is bare, else 'normalize'). */
function toLf(bytes: Uint8Array): Uint8Array | null {
  return toLineEnding(bytes, 'lf', hasBareNewline(bytes) ? 'normalize' : 'reject');
}

const cases: ReadonlyArray<readonly [name: string, wire: string, lf: string]> = [
  ['empty', '', ''],
  ['no line ending', 'abc', 'abc'],
  ['one CRLF', 'a\r\n', 'a\n'],
  ['only CRLF', '\r\n', '\n'],
  ['CRLF at start', '\r\nabc', '\nabc'],
  ['consecutive CRLFs', '\r\n\r\n\r\n', '\n\n\n'],
  ['headers and body', 'Subject: x\r\n\r\nbody\r\n', 'Subject: x\n\nbody\n'],
  // Bare ones: what Bare_Newlines = normalize makes of them (reject refuses them, below).
  ['bare LF', 'a\nb\r\nc\n', 'a\nb\nc\n'],
  ['bare CR', 'a\rb\r\nc\r', 'a\nb\nc\n'],
  ['CR CR LF: the first CR is bare', 'a\r\r\nb', 'a\n\nb'],
  ['LF CR is not CRLF', 'a\n\rb', 'a\n\nb'],
  ['CR LF CR LF split by text', 'x\r\ny\r\nz', 'x\ny\nz'],
  ['trailing CR alone', 'abc\r', 'abc\n'],
  ['high bytes untouched', '\xe9\xff\r\n\x00\r\n', '\xe9\xff\n\x00\n'],
];

for (const [name, wire, lf] of cases) {
  test(`toLineEnding lf, in place: ${name}`, () => {
    const input = bytesOf(wire);
    const output = toLf(input);
    assert.ok(output !== null);
    assert.equal(text(output), lf);
    // In place: the same memory, a prefix of it.
    assert.equal(output.buffer, input.buffer);
    assert.equal(output.byteOffset, input.byteOffset);
  });

  test(`toLineEnding: ${name}`, () => {
    const bare = hasBareNewline(bytesOf(wire));
    assert.equal(bare, /\r(?!\n)|(?<!\r)\n/.test(wire));
    if (bare) {
      assert.equal(toLineEnding(bytesOf(wire), 'lf', 'reject'), null);
      assert.equal(toLineEnding(bytesOf(wire), 'crlf', 'reject'), null);
      const normalized = wire.replace(/\r\n|\r|\n/g, '\n');
      assert.equal(text(toLineEnding(bytesOf(wire), 'lf', 'normalize') as Uint8Array), normalized);
      assert.equal(text(toLineEnding(bytesOf(wire), 'crlf', 'normalize') as Uint8Array), normalized.replaceAll('\n', '\r\n'));
      return;
    }
    assert.equal(text(toLineEnding(bytesOf(wire), 'lf', 'reject') as Uint8Array), lf);
    const crlf = bytesOf(wire);
    assert.equal(toLineEnding(crlf, 'crlf', 'reject'), crlf, 'crlf returns the wire bytes untouched');
    assert.equal(text(crlf), wire);
  });
}

// SMTP smuggling end-of-data variants (CVE-2023-51764/5/6): all hold a bare CR or LF.
for (const variant of ['\n.\r\n', '\n.\n', '\r.\r', '\r\n.\r', '\r\n.\n']) {
  test(`smuggling variant ${JSON.stringify(variant)} is a bare newline`, () => {
    const wire = `Subject: x\r\n\r\nbody${variant}MAIL FROM:<evil@x>\r\n`;
    assert.equal(hasBareNewline(bytesOf(wire)), true);
    assert.equal(toLineEnding(bytesOf(wire), 'lf', 'reject'), null);
  });
}

test('toLineEnding lf works on a view that does not start at offset 0', () => {
  const backing = bytesOf('XX\r\na\r\nYY');
  const view = backing.subarray(2, 7); // '\r\na\r\n'
  const output = toLineEnding(view, 'lf', 'reject');
  assert.ok(output !== null);
  assert.equal(text(output), '\na\n');
  assert.equal(output.byteOffset, 2);
  assert.equal(text(backing.subarray(7)), 'YY', 'bytes after the view are not touched');
});

test('toLineEnding lf agrees with a string replace on pseudo-random CR/LF soup', () => {
  // Deterministic LCG so a failure reproduces; alphabet weighted towards CR and LF.
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const alphabet = '\r\n\r\nab';
  for (let round = 0; round < 200; round += 1) {
    let wire = '';
    const length = next() % 64;
    for (let i = 0; i < length; i += 1) wire += alphabet[next() % alphabet.length];
    const bare = /\r(?!\n)|(?<!\r)\n/.test(wire);
    assert.equal(toLineEnding(bytesOf(wire), 'lf', 'reject') === null, bare, JSON.stringify(wire));
    const normalized = toLineEnding(bytesOf(wire), 'lf', 'normalize');
    assert.equal(normalized && text(normalized), wire.replace(/\r\n|\r|\n/g, '\n'), JSON.stringify(wire));
  }
});

test('toLineEnding lf converts a 10 MB message of short lines', () => {
  const line = 'x'.repeat(70) + '\r\n';
  const wire = line.repeat(Math.ceil(10_000_000 / line.length));
  const output = toLineEnding(bytesOf(wire), 'lf', 'reject');
  assert.ok(output !== null);
  assert.equal(output.byteLength, wire.length - wire.length / line.length);
  assert.equal(text(output), wire.replaceAll('\r\n', '\n'));
});
