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

type Event =
  | { readonly message: string; readonly byteLength: number; readonly sizeExceeded: boolean }
  | { readonly command: string };

interface Trace {
  readonly events: Event[];
  /** What an unterminated message emitted so far. */
  readonly pending: string | null;
  readonly dataMode: boolean;
  readonly dataBytes: number;
  readonly heldBack: string;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `chunks` through a parser that starts in DATA mode, as after a 354. */
async function decode(Parser: typeof SMTPStream, chunks: readonly Uint8Array[], maxBytes: number | undefined): Promise<Trace> {
  const parser = new Parser();
  const events: Event[] = [];
  let pendingParts: Buffer[] | null = null;
  const enterData = (): void => {
    const stream = parser.startDataMode(maxBytes);
    const parts: Buffer[] = [];
    pendingParts = parts;
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.on('end', () => {
      pendingParts = null;
      events.push({ message: Buffer.concat(parts).toString('latin1'), byteLength: stream.byteLength, sizeExceeded: stream.sizeExceeded });
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
  await new Promise((resolve) => parser.once('finish', resolve));
  await nextTurn();
  await nextTurn();
  return {
    events,
    pending: pendingParts === null ? null : Buffer.concat(pendingParts).toString('latin1'),
    dataMode: parser._dataMode,
    dataBytes: parser.dataBytes,
    heldBack: parser._lastBytes ? parser._lastBytes.toString('latin1') : '',
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

async function sameAsUpstream(bytes: Uint8Array, offsets: readonly number[], maxBytes: number | undefined): Promise<void> {
  const chunks = cut(bytes, offsets);
  const expected = await decode(SMTPStream, chunks, maxBytes);
  const actual = await decode(PipeStream, chunks, maxBytes);
  assert.deepEqual(actual, expected);
}

const TOKENS = ['.', '..', '\r', '\n', '\r\n', '\r\n.', '\r\n..', '\r\n.\r\n', '\n.\n', '\n.\r\n', 'a', 'xyz', 'DATA\r\n', 'QUIT\r\n'];
const smtpish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => Buffer.from(t.join(''), 'latin1'));
const offsets = fc.array(fc.nat(), { maxLength: 12 });
const limit = fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined });

test('PipeStream = upstream on SMTP-shaped input cut anywhere', async () => {
  await fc.assert(fc.asyncProperty(smtpish, offsets, limit, sameAsUpstream), { seed: 0xda7a01, numRuns: 2500 });
});

test('PipeStream = upstream on arbitrary bytes', async () => {
  const bytes = fc.uint8Array({ maxLength: 120 });
  await fc.assert(fc.asyncProperty(bytes, offsets, limit, sameAsUpstream), { seed: 0xda7a02, numRuns: 1000 });
});

test('PipeStream = upstream on a 1 MB message in socket-sized chunks, every 16th line stuffed', async () => {
  const lines: string[] = [];
  for (let i = 0; lines.length * 80 < 1_048_576; i += 1) lines.push(`${i % 16 === 0 ? '..' : ''}${'m'.repeat(76)}\r\n`);
  const wire = Buffer.from(`${lines.join('')}.\r\nQUIT\r\n`, 'latin1');
  const chunkOffsets = Array.from({ length: Math.ceil(wire.length / 65_536) }, (_, i) => i * 65_536 + (i % 5));
  const expected = await decode(SMTPStream, cut(wire, chunkOffsets), undefined);
  const actual = await decode(PipeStream, cut(wire, chunkOffsets), undefined);
  assert.deepEqual(actual, expected);
  assert.equal(actual.events.length, 2);
  assert.deepEqual(actual.events[1], { command: 'QUIT' });
});
