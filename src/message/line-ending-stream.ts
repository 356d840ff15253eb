// Applies toLineEnding() to a message that arrives in chunks, so that the bytes are final
// when the last one is in: a spooled message can then be the program's stdin as it lies.
// The result equals toLineEnding() of the whole message, byte for byte
// (test/property/line-ending-stream.test.ts): a CR that ends a chunk is held back until
// the next chunk says whether an LF pairs with it. Pure; rewrites chunks in place.

import type { BareNewlinePolicy, LineEnding } from '../config/types.js';
import { javascriptScans, toLineEnding, type LineEndingScans } from './line-endings.js';

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n', 'latin1');
const LF_ONLY = Buffer.from('\n', 'latin1');
const NONE: readonly Buffer[] = [];

export class LineEndingStream {
  readonly #eol: LineEnding;
  readonly #bareNewlines: BareNewlinePolicy;
  readonly #scans: LineEndingScans;
  #heldCr = false;
  #rejected = false;

  constructor(eol: LineEnding, bareNewlines: BareNewlinePolicy, scans: LineEndingScans = javascriptScans) {
    this.#eol = eol;
    this.#bareNewlines = bareNewlines;
    this.#scans = scans;
  }

  /** A bare CR or LF was seen under Bare_Newlines = reject: the message must not run. */
  get rejected(): boolean {
    return this.#rejected;
  }

  /**
   * The converted form of `chunk`, which it may rewrite (the caller owns it and lets go):
   * views of it, and a line ending for a CR held from the chunk before. Empty once rejected.
   */
  push(chunk: Buffer): readonly Buffer[] {
    if (this.#rejected || chunk.length === 0) return NONE;
    const out: Buffer[] = [];
    let body = chunk;
    if (this.#heldCr) {
      this.#heldCr = false;
      if (body[0] === LF) body = body.subarray(1);
      else if (!this.#bareAllowed()) return NONE;
      out.push(this.#lineEnding());
    }
    if (body.length > 0 && body[body.length - 1] === CR) {
      this.#heldCr = true;
      body = body.subarray(0, body.length - 1);
    }
    if (body.length === 0) return out;
    // A chunk on its own reads as the scans expect: what precedes it never pairs with its
    // first byte (a CR before it was held back and handled above).
    const converted = toLineEnding(body, this.#eol, this.#bareNewlines, this.#scans);
    if (converted === null) {
      this.#rejected = true;
      return NONE;
    }
    out.push(Buffer.from(converted.buffer, converted.byteOffset, converted.byteLength));
    return out;
  }

  /** What is still held at the end of the message (a CR that ends it). */
  end(): readonly Buffer[] {
    if (!this.#heldCr || this.#rejected) return NONE;
    this.#heldCr = false;
    return this.#bareAllowed() ? [this.#lineEnding()] : NONE;
  }

  /** A bare CR was found: false (and rejected) under `reject`. */
  #bareAllowed(): boolean {
    if (this.#bareNewlines === 'normalize') return true;
    this.#rejected = true;
    return false;
  }

  /** A fresh copy each time: the consumer may keep it (never shared, never written). */
  #lineEnding(): Buffer {
    return Buffer.from(this.#eol === 'crlf' ? CRLF : LF_ONLY);
  }
}
