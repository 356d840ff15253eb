import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageBuffer } from '../../src/smtp/message-buffer.js';

test('chunks of every size come out byte-exact in one exact-length, transferable ArrayBuffer', () => {
  for (const expected of [0, 10, 100_000]) {
    const message = new MessageBuffer(expected);
    const parts: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const chunk = Buffer.alloc((i * 37) % 301, i % 251);
      parts.push(chunk);
      message.push(chunk);
    }
    const whole = Buffer.concat(parts);
    assert.equal(message.length, whole.length);
    const taken = message.take();
    assert.equal(taken.byteLength, whole.length);
    assert.ok(Buffer.from(taken).equals(whole));
    structuredClone(taken, { transfer: [taken] });
    assert.equal(taken.byteLength, 0, 'transferred: it was nobody else\'s');
  }
});

test('discard drops what was kept', () => {
  const message = new MessageBuffer();
  message.push(Buffer.from('abc'));
  message.discard();
  assert.equal(message.length, 0);
  assert.equal(message.take().byteLength, 0);
});
