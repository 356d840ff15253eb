// Property: PipeStream decodes DATA exactly as upstream SMTPStream does. Both parsers get
// the same input cut at the same points; every message (bytes, byteLength,
// sizeExceeded), every command line after it, and the state left at the end must match.
// Inputs are built from the pieces that matter to transparency and smuggling: lone CR and
// LF, dots, CRLF "." CRLF, ".." and pipelined DATA commands.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { PipeStream } from '../../src/smtp/data-stream.js';
import { MessageBuffer } from '../../src/message/message-buffer.js';

type Event =
  | { readonly message: string; readonly byteLength: number; readonly sizeExceeded: boolean }
  | { readonly destroyed: true }
  | { readonly command: string };

interface Trace {
  readonly events: Event[];
  /** What an unterminated message emitted so far (not compared after a destroy). */
  readonly pending: string | null;
  readonly dataMode: boolean;
  readonly dataBytes: number;
  readonly heldBack: string;
  /**
   * Most bytes ever waiting in a message stream (a PassThrough counts the chunk it is
   * passing on twice): bounded when backpressure is obeyed.
   */
  readonly peakBuffered: number;
}

/**
 * How the application reads the message: at once; slowly (paused after every chunk, so
 * the parser meets backpressure once 16 KB wait); or slowly and then destroying the stream
 * once it has seen `destroyAt` bytes, as an application that gives up on a message does
 * (possibly while the parser waits for 'drain').
 */
type Consumer = 'flowing' | 'slow' | { readonly destroyAt: number };

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `chunks` through a parser that starts in DATA mode, as after a 354. Each message
 * goes through a MessageBuffer, as src/smtp/listener.ts reads it.
 */
async function decode(Parser: typeof SMTPStream, chunks: readonly Uint8Array[], maxBytes: number | undefined, consumer: Consumer = 'flowing'): Promise<Trace> {
  const parser = new Parser();
  const events: Event[] = [];
  let pending: MessageBuffer | null = null;
  let current: NodeJS.ReadWriteStream & { readableLength: number; writableLength: number } | null = null;
  let destroyed = false;
  let peakBuffered = 0;
  const enterData = (): void => {
    const stream = parser.startDataMode(maxBytes);
    current = stream;
    const message = new MessageBuffer();
    pending = message;
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      message.push(chunk);
      received += chunk.length;
      peakBuffered = Math.max(peakBuffered, stream.readableLength + stream.writableLength);
      if (consumer === 'flowing') return;
      if (consumer !== 'slow' && !destroyed && received >= consumer.destroyAt) {
        destroyed = true;
        stream.destroy();
        return;
      }
      stream.pause();
      setImmediate(() => stream.resume());
    });
    stream.on('end', () => {
      pending = null;
      events.push({ message: Buffer.from(message.take()).toString('latin1'), byteLength: stream.byteLength, sizeExceeded: stream.sizeExceeded });
      parser.continue();
    });
    stream.on('close', () => {
      if (!stream.destroyed || stream.readableEnded) return;
      pending = null;
      events.push({ destroyed: true });
      // As smtp-server's DATA handler does once the application called back.
      parser.continue();
    });
  };
  parser.oncommand = (command, next) => {
    const line = command.toString('latin1');
    events.push({ command: line });
    if (line === 'DATA') enterData();
    // As smtp-server's hooks do: the next line is read on a later turn.
    if (next) setImmediate(next);
  };
  enterData();
  for (const chunk of chunks) parser.write(Buffer.from(chunk));
  parser.end();
  // A parser left waiting for a 'drain' that never comes never finishes.
  await new Promise((resolve, reject) => {
    const stalled = setTimeout(() => reject(new Error(`${Parser.name} stalled before the end of its input`)), 5000);
    parser.once('finish', () => resolve(clearTimeout(stalled)));
  });
  // A slow reader may still have bytes to read: the two parsers write in different
  // pieces, so they drain in a different number of turns.
  for (let turn = 0; turn < 1000; turn += 1) {
    await nextTurn();
    const open = current as { readableLength: number; writableLength: number } | null;
    if (turn >= 1 && (open === null || open.readableLength + open.writableLength === 0)) break;
  }
  const unfinished = pending as MessageBuffer | null;
  return {
    events,
    pending: unfinished === null ? null : Buffer.from(unfinished.take()).toString('latin1'),
    dataMode: parser._dataMode,
    dataBytes: parser.dataBytes,
    heldBack: parser._lastBytes ? parser._lastBytes.toString('latin1') : '',
    peakBuffered,
  };
}

/** `bytes` cut at the given offsets (taken modulo its length, sorted, deduplicated). */
function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  if (bytes.length === 0) return [];
  const at = [...new Set(offsets.map((o) => o % bytes.length))].sort((a, b) => a - b).filter((o) => o > 0);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const end of [...at, bytes.length]) {
    chunks.push(bytes.subarray(start, end));
    start = end;
  }
  return chunks;
}

async function sameAsUpstream(bytes: Uint8Array, offsets: readonly number[], maxBytes: number | undefined, consumer: Consumer = 'flowing'): Promise<void> {
  const chunks = cut(bytes, offsets);
  const { peakBuffered: upstreamPeak, ...expected } = await decode(SMTPStream, chunks, maxBytes, consumer);
  const { peakBuffered, ...actual } = await decode(PipeStream, chunks, maxBytes, consumer);
  assert.deepEqual(actual, expected);
  // What waits stays under the PassThrough's two 16 KB marks (readable and writable side)
  // plus the chunk in passage, counted twice, and the 4 bytes held back. (Upstream ignores
  // backpressure between stuffed dots, so only PipeStream is held to it.)
  const largest = Math.max(0, ...chunks.map((c) => c.length));
  assert.ok(peakBuffered <= 2 * 16_384 + 2 * (largest + 4), `PipeStream let ${peakBuffered} bytes pile up (upstream ${upstreamPeak}, chunks of up to ${largest})`);
}

const TOKENS = ['.', '..', '\r', '\n', '\r\n', '\r\n.', '\r\n..', '\r\n.\r\n', '\n.\n', '\n.\r\n', 'a', 'xyz', 'DATA\r\n', 'QUIT\r\n'];
const smtpish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => Buffer.from(t.join(''), 'latin1'));
const offsets = fc.array(fc.nat(), { maxLength: 12 });
const limit = fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined });

test('PipeStream = upstream on SMTP-shaped input cut anywhere', async () => {
  await fc.assert(fc.asyncProperty(smtpish, offsets, limit, (b, o, l) => sameAsUpstream(b, o, l)), { seed: 0xda7a01, numRuns: 2500 });
});

test('PipeStream = upstream on arbitrary bytes', async () => {
  const bytes = fc.uint8Array({ maxLength: 120 });
  await fc.assert(fc.asyncProperty(bytes, offsets, limit, (b, o, l) => sameAsUpstream(b, o, l)), { seed: 0xda7a02, numRuns: 1000 });
});

test('PipeStream = upstream when the application reads slowly (backpressure) or destroys the stream mid-message', async () => {
  // Several times the stream's 16 KB marks, in socket-like chunks of 1-8 KB: a parser that
  // did not wait for 'drain' would pile the whole input up in front of a paused reader.
  const long = fc.tuple(smtpish, fc.integer({ min: 80_000, max: 100_000 })).map(([unit, size]) => {
    const piece = unit.length > 0 ? unit : Buffer.from('x');
    return Buffer.concat(Array.from({ length: Math.ceil(size / piece.length) }, () => piece)).subarray(0, size);
  });
  const consumer = fc.oneof(fc.constant<Consumer>('slow'), fc.integer({ min: 0, max: 40_000 }).map((destroyAt): Consumer => ({ destroyAt })));
  const readSize = fc.integer({ min: 1024, max: 8192 });
  await fc.assert(
    fc.asyncProperty(long, readSize, limit, consumer, (bytes, size, maxBytes, reader) =>
      sameAsUpstream(bytes, Array.from({ length: Math.floor(bytes.length / size) }, (_, i) => (i + 1) * size), maxBytes, reader),
    ),
    { seed: 0xda7a03, numRuns: 40 },
  );
});

test('PipeStream = upstream on every input of up to 5 bytes over ".", CR, LF, "x", cut in every way', async () => {
  const alphabet = ['.', '\r', '\n', 'x'];
  let inputs = [''];
  const all: string[] = [];
  for (let length = 1; length <= 5; length += 1) {
    inputs = inputs.flatMap((prefix) => alphabet.map((c) => prefix + c));
    all.push(...inputs);
  }
  for (const text of all) {
    const bytes = Buffer.from(text, 'latin1');
    for (let cuts = 0; cuts < 1 << (bytes.length - 1); cuts += 1) {
      const offsets = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1).filter((_, i) => (cuts >> i) & 1);
      await sameAsUpstream(bytes, offsets, undefined);
      if (cuts === 0) await sameAsUpstream(bytes, offsets, 2);
    }
  }
});

test('PipeStream = upstream on a 1 MB message in socket-sized chunks, every 16th line stuffed', async () => {
  const lines: string[] = [];
  for (let i = 0; lines.length * 80 < 1_048_576; i += 1) lines.push(`${i % 16 === 0 ? '..' : ''}${'m'.repeat(76)}\r\n`);
  const wire = Buffer.from(`${lines.join('')}.\r\nQUIT\r\n`, 'latin1');
  const chunkOffsets = Array.from({ length: Math.ceil(wire.length / 65_536) }, (_, i) => i * 65_536 + (i % 5));
  const expected = { ...(await decode(SMTPStream, cut(wire, chunkOffsets), undefined)), peakBuffered: 0 };
  const actual = { ...(await decode(PipeStream, cut(wire, chunkOffsets), undefined)), peakBuffered: 0 };
  assert.deepEqual(actual, expected);
  assert.equal(actual.events.length, 2);
  assert.deepEqual(actual.events[1], { command: 'QUIT' });
});
