// Tests of src/message.ts and envelope.ts: exact message size, CRLF lines,
// RFC 5321 4.5.2 dot-stuffing and the final ".\r\n" of the wire form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildEnvelope } from '../src/envelope.js';
import { buildMessage, toWire } from '../src/message.js';

const fields = { from: 'bench@localhost', date: new Date('2025-01-02T03:04:05Z') };

/** Undoes transparency the way a server does (RFC 5321 4.5.2). */
function unstuff(wire: Buffer): string {
  const text = wire.toString('latin1');
  assert.ok(text.endsWith('\r\n.\r\n') || text === '.\r\n', 'wire form ends with CRLF . CRLF');
  const body = text.slice(0, -3);
  return body
    .split('\r\n')
    .map((line) => (line.startsWith('.') ? line.slice(1) : line))
    .join('\r\n');
}

const sizes = [512, 513, 600, 2048, 2049, 2050, 4096 + 77, 4096 + 78, 100 * 1024, 1024 * 1024 + 1];
for (const size of sizes) {
  test(`buildMessage(${size}): exact size, CRLF lines, stuffed wire form`, () => {
    const { message, wire } = buildMessage(size, fields);
    assert.equal(message.length, size);
    const text = message.toString('latin1');
    assert.ok(text.endsWith('\r\n'), 'ends with CRLF');
    assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(text), 'only CRLF line endings');
    for (const line of text.split('\r\n')) assert.ok(line.length <= 998, 'RFC 5322 2.1.1 line limit');
    assert.equal(unstuff(wire), text);
    assert.equal(wire.length, size + (text.match(/(^|\r\n)\./g) ?? []).length + 3);
  });
}

test('the message has headers, a blank line, and lines that start with a dot', () => {
  const text = buildMessage(4096, fields).message.toString('latin1');
  const [headers, body] = text.split('\r\n\r\n');
  assert.match(headers ?? '', /^From: <bench@localhost>\r\n/);
  assert.match(headers ?? '', /\r\nDate: Thu, 02 Jan 2025 03:04:05 \+0000\r\n/);
  assert.match(headers ?? '', /\r\nMessage-ID: <[^>]+@localhost>/);
  assert.ok((body ?? '').split('\r\n').some((line) => line.startsWith('.')), 'a dot line exercises transparency');
  const wire = buildMessage(4096, fields).wire.toString('latin1');
  assert.ok(wire.includes('\r\n..'), 'dot lines are stuffed on the wire');
});

test('null sender gets a From: header anyway', () => {
  assert.match(buildMessage(1024, { ...fields, from: '' }).message.toString('latin1'), /^From: <MAILER-DAEMON@localhost>/);
});

test('too small for the headers: RangeError', () => {
  assert.throws(() => buildMessage(100, fields), RangeError);
});

const wireCases: ReadonlyArray<readonly [name: string, message: string, wire: string]> = [
  ['plain', 'a\r\nb\r\n', 'a\r\nb\r\n.\r\n'],
  ['dot at start', '.a\r\n', '..a\r\n.\r\n'],
  ['dot after CRLF', 'a\r\n.b\r\n', 'a\r\n..b\r\n.\r\n'],
  ['a lone dot line', 'a\r\n.\r\nb\r\n', 'a\r\n..\r\nb\r\n.\r\n'],
  ['two dots', '..\r\n', '...\r\n.\r\n'],
  ['dot inside a line untouched', 'a.b\r\n', 'a.b\r\n.\r\n'],
  ['no final CRLF gets one', 'a', 'a\r\n.\r\n'],
  ['empty', '', '.\r\n'],
];
for (const [name, message, wire] of wireCases) {
  test(`toWire: ${name}`, () => assert.equal(toWire(Buffer.from(message, 'latin1')).toString('latin1'), wire));
}

test('buildEnvelope: commands, {n} per recipient, one pipelined batch', () => {
  const env = buildEnvelope({ helo: 'bench.example', from: 'a@b.example', to: 'user{n}@example.com', rcpts: 3 });
  assert.equal(env.ehlo.toString(), 'EHLO bench.example\r\n');
  assert.equal(env.helo.toString(), 'HELO bench.example\r\n');
  assert.equal(env.mail.toString(), 'MAIL FROM:<a@b.example>\r\n');
  assert.deepEqual(env.rcpt.map(String), ['RCPT TO:<user1@example.com>\r\n', 'RCPT TO:<user2@example.com>\r\n', 'RCPT TO:<user3@example.com>\r\n']);
  assert.equal(env.data.toString(), 'DATA\r\n');
  assert.equal(env.pipelined.toString(), [env.mail, ...env.rcpt, env.data].join(''));
  assert.equal(buildEnvelope({ helo: 'h', from: '', to: 'x@y', rcpts: 1 }).mail.toString(), 'MAIL FROM:<>\r\n');
});
