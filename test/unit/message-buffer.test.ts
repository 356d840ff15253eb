import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MessageBuffer } from '../../src/message/message-buffer.js';

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
  assert.equal(message.take().byteLength, 0);
});

test('messages across many segments, chunks larger than a segment, and an exact SIZE come out byte-exact', () => {
  const random = (n: number, seed: number) => {
    const out = Buffer.alloc(n);
    let x = seed;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      out[i] = x >>> 24;
    }
    return out;
  };
  const cases: Array<[number, number[]]> = [
    [0, [1024 * 1024 - 1, 1, 1, 3 * 1024 * 1024 + 7, 65536, 5]],
    [2_500_000, Array.from({ length: 400 }, (_, i) => 6250 + (i % 3) - 1)],
    [100, [16 * 1024, 16 * 1024 + 1]],
    // Socket-sized chunks kept by reference, each followed by the few bytes PipeStream held back.
    [0, Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? 65_536 - (i % 7) : 4))],
    [1_048_576, Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 3 : 65_536))],
  ];
  for (const [declared, sizes] of cases) {
    const message = new MessageBuffer(declared);
    const parts = sizes.map((n, i) => random(n, i + 1));
    for (const part of parts) message.push(part);
    const whole = Buffer.concat(parts);
    const taken = message.take();
    assert.equal(taken.byteLength, whole.length, `declared ${declared}`);
    assert.ok(Buffer.from(taken).equals(whole), `declared ${declared}`);
  }
  // A declared SIZE that turns out exact fills the first segment to the byte: handed over as is.
  const exact = new MessageBuffer(20_000);
  exact.push(Buffer.alloc(20_000, 7));
  assert.equal(exact.take().byteLength, 20_000);
  // Reusable after take() and discard().
  exact.push(Buffer.from('again'));
  assert.equal(Buffer.from(exact.take()).toString(), 'again');
});

test('chunks that fit the current arena are copied at once; larger ones from 8 KB up are kept by reference until take()', () => {
  // Pins the ownership rule PipeStream relies on: it never writes to a chunk after emitting it.
  const message = new MessageBuffer();
  const small = Buffer.alloc(100, 'a');
  const large = Buffer.alloc(20_000, 'b'); // more than the 16 KB first arena has left
  message.push(small);
  message.push(large);
  small.fill('A');
  large.fill('B');
  const taken = Buffer.from(message.take());
  assert.equal(taken.subarray(0, 100).toString(), 'a'.repeat(100), 'a small chunk was copied');
  assert.equal(taken.subarray(100).toString(), 'B'.repeat(20_000), 'a large chunk was referenced');
});

test('a declared SIZE allocates nothing until the first bytes arrive', () => {
  // Collect first: garbage from the tests above must not shrink the count in between.
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const arrayBuffers = () => {
    gc();
    gc(); // backing stores are freed by a sweeper: the second pass finishes the first's
    return process.memoryUsage().arrayBuffers;
  };
  const before = arrayBuffers();
  const announced = Array.from({ length: 64 }, () => new MessageBuffer(1024 * 1024));
  const announcedOnly = arrayBuffers();
  assert.ok(announcedOnly - before < 1024 * 1024, '64 announced MiB were not allocated');
  for (const message of announced) message.push(Buffer.from('x'));
  assert.ok(arrayBuffers() - announcedOnly >= 63 * 1024 * 1024, 'the first byte allocates the declared size');
  assert.equal(Buffer.from(announced[0]!.take()).toString(), 'x');
});
