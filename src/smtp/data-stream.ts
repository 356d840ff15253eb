// DATA transparency (RFC 5321 4.5.2) at memchr speed. Upstream SMTPStream looks for a
// line-leading dot with a byte-by-byte JS loop, and removes each stuffed dot with its own
// stream write and a setImmediate: for a 10 MB message that loop was a third of the main
// thread. PipeStream keeps upstream's algorithm step for step (the same 4-byte tail held
// back across chunks, the same start-of-DATA checks, the same terminator test: only
// CRLF "." CRLF ends DATA) and changes how it searches and writes: candidates come from
// Buffer.indexOf("\n."), and a chunk's unstuffed pieces go out as one write.
// test/property/data-stream.test.ts feeds random inputs, cut at random points, to this
// class and to upstream's own and requires the same bytes out and the same remainder left
// for command mode: the smuggling defences are upstream's, not a re-derivation.

import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

type Callback = (err?: Error | null) => void;

const LF_DOT = Buffer.from('\n.', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
/** Bytes kept back at the end of a chunk: a terminator may straddle the next one. */
const HELD_BACK = 4;

export class PipeStream extends SMTPStream {
  override _feedDataStream(input: Buffer, done: Callback): void {
    const dataStream = this._dataStream!;
    let chunk = input;
    if (this._lastBytes && this._lastBytes.length > 0) {
      chunk = Buffer.concat([this._lastBytes, input], this._lastBytes.length + input.length);
      this._lastBytes = false;
    }
    const len = chunk.length;

    // A lone "." as the first line ends an empty message; ".." there is an escaped dot.
    // Both only while nothing of this DATA was consumed (upstream's _atDataStart).
    if (this._atDataStart && len >= 3 && chunk[0] === DOT && chunk[1] === CR && chunk[2] === LF) {
      this._endDataMode(false, chunk.subarray(3), done);
      return;
    }
    let start = 0;
    if (this._atDataStart && len >= 2 && chunk[0] === DOT && chunk[1] === DOT) {
      start = 1;
      this._atDataStart = false;
    }

    // Upstream tests each dot at index i in [start + 2, len - 3] of the current piece; the
    // LF before it is therefore searched from start + 1 up to len - 4.
    const pieces: Buffer[] = [];
    let from = start + 1;
    for (;;) {
      const lf = chunk.indexOf(LF_DOT, from);
      if (lf === -1 || lf > len - HELD_BACK) break;
      const dot = lf + 1;
      if (chunk[dot - 2] === CR && chunk[dot + 1] === CR && chunk[dot + 2] === LF) {
        pieces.push(chunk.subarray(start, dot)); // content ends with the CRLF before the dot
        const content = this.#take(pieces);
        this._endDataMode(content, chunk.subarray(dot + 3), done);
        return;
      }
      if (chunk[dot + 1] === DOT) {
        pieces.push(chunk.subarray(start, dot));
        start = dot + 1; // the escape dot is dropped; the next one is content
        from = start + 1;
      } else {
        from = dot;
      }
    }

    const keepFrom = Math.max(start, len - HELD_BACK);
    this._lastBytes = chunk.subarray(keepFrom);
    if (keepFrom > start) pieces.push(chunk.subarray(start, keepFrom));
    if (pieces.length === 0) {
      done();
      return;
    }
    const content = this.#take(pieces);
    if (!dataStream.writable) {
      done();
      return;
    }
    if (dataStream.write(content) || dataStream.destroyed) {
      done();
      return;
    }
    // A stream the application destroys never drains, it only closes.
    const onDrain = (): void => {
      dataStream.removeListener('drain', onDrain);
      dataStream.removeListener('close', onDrain);
      done();
    };
    dataStream.once('drain', onDrain);
    dataStream.once('close', onDrain);
  }

  /** Counts `pieces` as emitted payload and joins them into one buffer. */
  #take(pieces: Buffer[]): Buffer {
    const content = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    this._countDataBytes(content.length);
    return content;
  }
}
