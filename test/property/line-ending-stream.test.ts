// Property: LineEndingStream over any cut of a message gives toLineEnding() of the whole,
// byte for byte (or the same refusal), for both line endings and both Bare_Newlines
// policies, with the JavaScript scans and the C ones. A CR at the end of a chunk is where a
// streaming converter would go wrong; the inputs are thick with them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineEndingStream } from '../../src/message/line-ending-stream.js';
import { javascriptScans, toLineEnding, type LineEndingScans } from '../../src/message/line-endings.js';
import { loadLineEndingsAddon } from '../../native/addons.js';

const loaded = loadLineEndingsAddon();
const TOKENS = ['\r', '\n', '\r\n', '\r\r\n', '\n\r', 'a', 'text', '.', '\r\n.\r\n'];
const message = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => Buffer.from(t.join(''), 'latin1'));
const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 12 });
const eol = fc.constantFrom('lf' as const, 'crlf' as const);
const policy = fc.constantFrom('reject' as const, 'normalize' as const);

function streamed(input: Buffer, at: readonly number[], e: 'lf' | 'crlf', p: 'reject' | 'normalize', scans: LineEndingScans): Buffer | null {
  const stream = new LineEndingStream(e, p, scans);
  const out: Buffer[] = [];
  const points = [...new Set(at.map((n) => Math.min(n, input.length)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, input.length]) {
    // Each chunk its own copy: the stream rewrites in place, as it may with socket reads.
    out.push(...stream.push(Buffer.from(input.subarray(from, to))));
    from = to;
  }
  out.push(...stream.end());
  return stream.rejected ? null : Buffer.concat(out);
}

function whole(input: Buffer, e: 'lf' | 'crlf', p: 'reject' | 'normalize'): Buffer | null {
  const result = toLineEnding(Buffer.from(input), e, p, javascriptScans);
  return result === null ? null : Buffer.from(result);
}

test('streamed = whole, JavaScript scans, any cut', () => {
  fc.assert(
    fc.property(message, cuts, eol, policy, (input, at, e, p) => {
      assert.deepEqual(streamed(input, at, e, p, javascriptScans), whole(input, e, p), JSON.stringify(input.toString('latin1')));
    }),
    { seed: 0x5e01, numRuns: 4000 },
  );
});

test('streamed = whole, C scans, any cut', () => {
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  const scans = loaded.addon;
  fc.assert(
    fc.property(message, cuts, eol, policy, (input, at, e, p) => {
      assert.deepEqual(streamed(input, at, e, p, scans), whole(input, e, p), JSON.stringify(input.toString('latin1')));
    }),
    { seed: 0x5e02, numRuns: 4000 },
  );
});

test('a CRLF cut between its CR and its LF is one line ending, in either form', () => {
  for (const e of ['lf', 'crlf'] as const) {
    const stream = new LineEndingStream(e, 'reject');
    const out = Buffer.concat([...stream.push(Buffer.from('a\r')), ...stream.push(Buffer.from('\nb\r')), ...stream.push(Buffer.from('\n')), ...stream.end()]);
    assert.equal(stream.rejected, false);
    assert.equal(out.toString('latin1'), e === 'lf' ? 'a\nb\n' : 'a\r\nb\r\n');
  }
});

test('a CR that ends the message is bare: refused under reject, a line ending under normalize', () => {
  const rejecting = new LineEndingStream('crlf', 'reject');
  rejecting.push(Buffer.from('a\r'));
  assert.deepEqual(rejecting.end(), []);
  assert.equal(rejecting.rejected, true);
  const normalizing = new LineEndingStream('lf', 'normalize');
  const out = Buffer.concat([...normalizing.push(Buffer.from('a\r')), ...normalizing.end()]);
  assert.equal(out.toString('latin1'), 'a\n');
});
