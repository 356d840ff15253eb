// Collects one message's DATA as it arrives, then hands it over as one exact-length
// ArrayBuffer, copying each byte once. A chunk that fits in what the current arena has
// left is copied there; otherwise one of 8 KB or more (PipeStream emits about one per
// socket read, each over its own exactly-sized ArrayBuffer) is kept by reference and
// copied only by take(), and a smaller one starts a new arena. A client that dribbles its
// message in tiny segments thus costs arena space, not one retained Buffer per segment.
// A declared SIZE sizes the first arena, allocated with the first bytes of the message:
// when exact, take() copies nothing.
//
// Ownership: a chunk pushed here must not be written to afterwards by anyone. PipeStream
// emits pieces of socket reads it owns (each read has its own ArrayBuffer) and never
// touches them again.

/** Chunks from this size up are kept by reference instead of copied. */
const REFERENCE_MIN_BYTES = 8 * 1024;
const FIRST_ARENA_BYTES = 16 * 1024;
const ARENA_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);

export class MessageBuffer {
  /** The message in order: views of arenas and referenced chunks. */
  #parts: Uint8Array[] = [];
  #arena: Uint8Array<ArrayBuffer> = EMPTY;
  #arenaUsed = 0;
  #length = 0;
  /** Size of the first arena: the SIZE declaration, or 0. */
  #expected: number;

  /** `expectedBytes`: the client's SIZE declaration, when it made one. */
  constructor(expectedBytes = 0) {
    this.#expected = expectedBytes;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#length += chunk.length;
    if (this.#expected > 0) {
      this.#arena = new Uint8Array(this.#expected);
      this.#expected = 0;
    }
    if (chunk.length <= this.#arena.length - this.#arenaUsed) {
      this.#copy(chunk);
      return;
    }
    if (chunk.length >= REFERENCE_MIN_BYTES) {
      this.#parts.push(chunk);
      return;
    }
    this.#arena = new Uint8Array(this.#arena === EMPTY ? FIRST_ARENA_BYTES : ARENA_BYTES);
    this.#arenaUsed = 0;
    this.#copy(chunk);
  }

  /** The message in an ArrayBuffer of exactly its length, owned by nobody else (transferable). */
  take(): ArrayBuffer {
    const only = this.#parts.length === 1 ? this.#parts[0]! : null;
    let whole: ArrayBuffer;
    if (only !== null && only.buffer === this.#arena.buffer && only.byteLength === this.#arena.buffer.byteLength) {
      whole = this.#arena.buffer; // a declared SIZE that was exact
    } else {
      // Not zero-filled first: every byte is written just below (for 10 MB that fill
      // was a third of this copy's time).
      const bytes = Buffer.allocUnsafeSlow(this.#length);
      let at = 0;
      for (const part of this.#parts) {
        bytes.set(part, at);
        at += part.length;
      }
      // Every byte of the unzeroed buffer must have been written: it goes to a program.
      if (at !== this.#length) throw Object.assign(new Error(`bug: MessageBuffer parts hold ${at} bytes, not ${this.#length}`), { code: 'ERR_MESSAGE_BUFFER' });
      whole = bytes.buffer as ArrayBuffer;
    }
    this.discard();
    return whole;
  }

  /**
   * The message so far as views, in order, and the buffer emptied: for moving it to a spool
   * file without a copy. The views must not be written to.
   */
  takeParts(): Uint8Array[] {
    const parts = this.#parts;
    this.discard();
    return parts;
  }

  /** Bytes pushed since the last take or discard. */
  get length(): number {
    return this.#length;
  }

  /** Drops what was kept (an oversized message is drained, not stored). */
  discard(): void {
    this.#parts = [];
    this.#arena = EMPTY;
    this.#expected = 0;
    this.#arenaUsed = 0;
    this.#length = 0;
  }

  /** Appends `chunk` (which fits) to the arena, growing the last part when it ends there. */
  #copy(chunk: Uint8Array): void {
    const at = this.#arenaUsed;
    this.#arena.set(chunk, at);
    this.#arenaUsed += chunk.length;
    const last = this.#parts.length - 1;
    const previous = this.#parts[last];
    if (previous !== undefined && previous.buffer === this.#arena.buffer && previous.byteOffset + previous.length === at) {
      this.#parts[last] = this.#arena.subarray(previous.byteOffset, this.#arenaUsed);
    } else {
      this.#parts.push(this.#arena.subarray(at, this.#arenaUsed));
    }
  }
}
