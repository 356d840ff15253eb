// Tests of src/reply-parser.ts: SMTP reply framing over Buffers (RFC 5321
// 4.2): multiline replies, replies split across chunks, many replies in one chunk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplyParser } from '../src/reply-parser.js';

/** Feeds `chunks` and returns the codes seen, with the text lines of each reply. */
function parse(chunks: readonly string[], captureText = false): Array<{ code: number; lines: string[] }> {
  const replies: Array<{ code: number; lines: string[] }> = [];
  const parser = new ReplyParser((code) => replies.push({ code, lines: [...parser.lines] }));
  parser.captureText = captureText;
  for (const chunk of chunks) parser.push(Buffer.from(chunk, 'latin1'));
  return replies;
}

const codes = (chunks: readonly string[]): number[] => parse(chunks).map((r) => r.code);

const cases: ReadonlyArray<readonly [name: string, chunks: string[], expected: number[]]> = [
  ['one reply', ['250 ok\r\n'], [250]],
  ['bare code', ['250\r\n'], [250]],
  ['bare LF line ending', ['250 ok\n354 go\n'], [250, 354]],
  ['multiline reply is one reply', ['250-a\r\n250-b\r\n250 c\r\n'], [250]],
  ['many replies in one chunk', ['250 a\r\n250 b\r\n354 c\r\n250 d\r\n'], [250, 250, 354, 250]],
  ['split inside the code', ['25', '0 ok\r\n'], [250]],
  ['split between CR and LF', ['250 ok\r', '\n'], [250]],
  ['split after the separator', ['250-', 'x\r\n250 y\r\n'], [250]],
  ['split across three chunks', ['2', '5', '0 ok\r\n'], [250]],
  ['multiline split mid-line', ['250-PIPE', 'LINING\r\n250-SIZE\r\n2', '50 8BITMIME\r\n'], [250]],
  ['reply and a partial one', ['250 a\r\n45', '1 later\r\n'], [250, 451]],
  ['no LF yet: nothing', ['250 ok'], []],
  ['4xx and 5xx', ['421 bye\r\n552 too big\r\n'], [421, 552]],
  ['not a reply line', ['hello\r\n'], [0]],
  ['bad separator', ['250x\r\n'], [0]],
  ['1xx is not an SMTP reply', ['150 x\r\n'], [0]],
  ['too short', ['25\r\n'], [0]],
];

for (const [name, chunks, expected] of cases) {
  test(`reply parser: ${name}`, () => assert.deepEqual(codes(chunks), expected));
}

test('every split point of a pipelined reply stream gives the same replies', () => {
  const stream = '250 2.1.0 ok\r\n250-first\r\n250 2.1.5 ok\r\n354 go ahead\r\n250 2.0.0 queued\r\n';
  for (let cut = 0; cut <= stream.length; cut += 1) {
    assert.deepEqual(codes([stream.slice(0, cut), stream.slice(cut)]), [250, 250, 354, 250], `cut at ${cut}`);
  }
  assert.deepEqual(codes([...stream]), [250, 250, 354, 250], 'one byte per chunk');
});

test('captureText keeps the text of each line of an EHLO reply', () => {
  const [reply] = parse(['250-mx.example Hello\r\n250-PIPE', 'LINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n'], true);
  assert.deepEqual(reply, { code: 250, lines: ['mx.example Hello', 'PIPELINING', 'SIZE 1000', '8BITMIME'] });
});

test('without captureText no lines are kept', () => {
  assert.deepEqual(parse(['250-a\r\n250 b\r\n']), [{ code: 250, lines: [] }]);
});

test('lines restart with each reply', () => {
  const replies = parse(['250-a\r\n250 b\r\n250 c\r\n'], true);
  assert.deepEqual(replies.map((r) => r.lines), [['a', 'b'], ['c']]);
});

test('reset() stops the chunk being read, partial tail included', () => {
  const seen: number[] = [];
  const parser = new ReplyParser((code) => {
    seen.push(code);
    if (code === 421) parser.reset();
  });
  parser.push(Buffer.from('250 a\r\n421 closing\r\n250 ignored\r\n25'));
  assert.deepEqual(seen, [250, 421]);
  parser.push(Buffer.from('354 fresh\r\n'));
  assert.deepEqual(seen, [250, 421, 354]);
});

test('reset() between chunks forgets a partial line', () => {
  const seen: number[] = [];
  const parser = new ReplyParser((code) => seen.push(code));
  parser.push(Buffer.from('25'));
  parser.reset();
  parser.push(Buffer.from('220 new connection\r\n'));
  assert.deepEqual(seen, [220]);
});

test('a reply line longer than the RFC limit is cut, not lost', () => {
  const long = `250 ${'x'.repeat(5000)}\r\n`;
  assert.deepEqual(codes([long.slice(0, 10), long.slice(10, 3000), long.slice(3000), '354 go\r\n']), [250, 354]);
});
