// DATA transparency (RFC 5321 4.5.2) at memchr speed. Upstream SMTPStream looks for a
// line-leading dot with a byte-by-byte JS loop, and removes each stuffed dot with its own
// stream write and a setImmediate: for a 10 MB message that loop was a third of the main
// thread. PipeStream keeps upstream's algorithm step for step (the same 4-byte tail held
// back across chunks, the same start-of-DATA checks, the same terminator test: only
// CRLF "." CRLF ends DATA) and changes how it searches and writes: candidates come from
// Buffer.indexOf("\n."), and a chunk's unstuffed pieces are moved together in place and
// go out in at most two writes (the bytes held back from the last chunk, then the rest).
// test/property/data-stream.test.ts feeds random inputs, cut at random points, to this
// class and to upstream's own and requires the same bytes out and the same remainder left
// for command mode: the smuggling defences are upstream's, not a re-derivation.
//
// Two differences in timing, none in bytes: a chunk is counted (byteLength, sizeExceeded)
// before its pieces are written, so a 'data' handler sees the size limit trip up to one
// chunk earlier than upstream's; and backpressure is obeyed after every chunk, where
// upstream ignores it for the pieces between stuffed dots.
//
// The input chunks are ours to edit: each socket (or TLS) read arrives on its own
// ArrayBuffer and smtp-server pipes it to this parser alone. Tapping the socket's 'data'
// elsewhere would see edited bytes.
//
// In command mode it also reports whether a partial command line is buffered
// (onPartialLine), for the line deadline in src/smtp/line-deadline.ts.

import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

type Callback = (err?: Error | null) => void;

const LF_DOT = Buffer.from('\n.', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
/** Bytes kept back at the end of a chunk: a terminator may straddle the next one. */
const HELD_BACK = 4;
const NOTHING = Buffer.alloc(0);

/**
 * Upstream's `Buffer.concat([held, chunk])` without the copy: the (at most 4) bytes held
 * back from the last chunk followed by the new one, addressed as one sequence.
 */
class Joined {
  readonly length: number;
  constructor(
    readonly held: Buffer,
    readonly chunk: Buffer,
  ) {
    this.length = held.length + chunk.length;
  }

  at(i: number): number | undefined {
    return i < this.held.length ? this.held[i] : this.chunk[i - this.held.length];
  }

  /** The first "\n." at or after `from`, as the index of its LF; -1 when there is none. */
  lfDot(from: number): number {
    const h = this.held.length;
    for (let i = from; i < h; i += 1) {
      if (this.held[i] === LF && this.at(i + 1) === DOT) return i;
    }
    const found = this.chunk.indexOf(LF_DOT, Math.max(from - h, 0));
    return found === -1 ? -1 : found + h;
  }

  /** [from, to) as one Buffer: a view, or a copy when it spans both parts (the rare case). */
  slice(from: number, to: number): Buffer {
    const h = this.held.length;
    if (from >= h) return this.chunk.subarray(from - h, to - h);
    if (to <= h) return this.held.subarray(from, to);
    return Buffer.concat([this.held.subarray(from), this.chunk.subarray(0, to - h)]);
  }

  /**
   * The content ranges [from, to), in order, as at most two buffers: what lies in the held
   * bytes (copied, at most 4) and what lies in the chunk, moved together in place, since
   * dropping escape dots only ever moves bytes towards the front.
   */
  gather(ranges: readonly number[]): Buffer[] {
    const h = this.held.length;
    const heldParts: Buffer[] = [];
    let write = -1;
    let first = -1;
    for (let r = 0; r < ranges.length; r += 2) {
      const from = ranges[r]!;
      const to = ranges[r + 1]!;
      if (from < h) heldParts.push(this.held.subarray(from, Math.min(to, h)));
      if (to <= h) continue;
      const a = Math.max(from, h) - h;
      const b = to - h;
      if (write === -1) {
        first = a;
        write = a;
      } else if (write !== a) {
        this.chunk.copyWithin(write, a, b);
      }
      write += b - a;
    }
    const out: Buffer[] = [];
    if (heldParts.length > 0) out.push(Buffer.concat(heldParts));
    if (write > first) out.push(this.chunk.subarray(first, write));
    return out;
  }
}

export class PipeStream extends SMTPStream {
  /**
   * Told after each chunk whether a partial command line waits for its end, and told
   * `false` as soon as a chunk that may end it arrives (the line is then being handled,
   * maybe slowly by a hook, and that is not the client's time).
   */
  onPartialLine: ((partial: boolean) => void) | null = null;

  override _write(chunk: Buffer, encoding: BufferEncoding | 'buffer', next: Callback): void {
    const report = this.onPartialLine;
    if (report === null) return super._write(chunk, encoding, next);
    if (!this._dataMode && chunk.includes(LF)) report(false);
    super._write(chunk, encoding, (err) => {
      report(!this.isClosed && !this._dataMode && this._remainder.length > 0);
      next(err);
    });
  }

  override _feedDataStream(input: Buffer, done: Callback): void {
    const dataStream = this._dataStream!;
    const held = this._lastBytes && this._lastBytes.length > 0 ? this._lastBytes : NOTHING;
    this._lastBytes = false;
    const joined = new Joined(held, input);
    const len = joined.length;

    // A lone "." as the first line ends an empty message; ".." there is an escaped dot.
    // Both only while nothing of this DATA was consumed (upstream's _atDataStart).
    if (this._atDataStart && len >= 3 && joined.at(0) === DOT && joined.at(1) === CR && joined.at(2) === LF) {
      this._endDataMode(false, joined.slice(3, len), done);
      return;
    }
    let start = 0;
    if (this._atDataStart && len >= 2 && joined.at(0) === DOT && joined.at(1) === DOT) {
      start = 1;
      this._atDataStart = false;
    }

    // Upstream tests each dot at index i in [start + 2, len - 3] of the current piece; the
    // LF before it is therefore searched from start + 1 up to len - 4.
    const ranges: number[] = [];
    let from = start + 1;
    for (;;) {
      const lf = joined.lfDot(from);
      if (lf === -1 || lf > len - HELD_BACK) break;
      const dot = lf + 1;
      if (joined.at(dot - 2) === CR && joined.at(dot + 1) === CR && joined.at(dot + 2) === LF) {
        ranges.push(start, dot); // content ends with the CRLF before the dot
        const remainder = joined.slice(dot + 3, len);
        this._endDataMode(this.#emitAllButLast(joined.gather(ranges)) ?? false, remainder, done);
        return;
      }
      if (joined.at(dot + 1) === DOT) {
        ranges.push(start, dot);
        start = dot + 1; // the escape dot is dropped; the next one is content
        from = start + 1;
      } else {
        from = dot;
      }
    }

    const keepFrom = Math.max(start, len - HELD_BACK);
    if (keepFrom > start) ranges.push(start, keepFrom);
    const last = this.#emitAllButLast(joined.gather(ranges));
    this._lastBytes = joined.slice(keepFrom, len);
    if (last === null || !dataStream.writable || dataStream.write(last) || dataStream.destroyed) {
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

  /**
   * Counts `parts` as emitted payload and writes all but the last, which it returns for
   * the caller to write with backpressure or to end the stream with; null when empty.
   */
  #emitAllButLast(parts: Buffer[]): Buffer | null {
    const dataStream = this._dataStream!;
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    this._countDataBytes(bytes);
    for (let i = 0; i < parts.length - 1; i += 1) {
      if (dataStream.writable) dataStream.write(parts[i]);
    }
    return parts.at(-1) ?? null;
  }
}
