// Collects one message's DATA as it arrives, then hands it over as one exact-length
// ArrayBuffer, copying each byte once. Large chunks (PipeStream emits about one per socket
// read, each over its own exactly-sized ArrayBuffer) are kept by reference and copied only
// by take(). Small ones are copied into an arena as they come, so a client that dribbles
// its message in tiny segments costs arena space, not one retained Buffer per segment.
// A declared SIZE preallocates the first arena: when exact, take() copies nothing.

/** Chunks from this size up are kept by reference instead of copied. */
const REFERENCE_MIN_BYTES = 8 * 1024;
const FIRST_ARENA_BYTES = 16 * 1024;
const ARENA_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);

export class MessageBuffer {
  /** The message in order: views of arenas and referenced chunks. */
  #parts: Uint8Array[] = [];
  #arena: Uint8Array<ArrayBuffer>;
  #arenaUsed = 0;
  #length = 0;

  /** `expectedBytes`: the client's SIZE declaration, when it made one. */
  constructor(expectedBytes = 0) {
    this.#arena = expectedBytes > 0 ? new Uint8Array(expectedBytes) : EMPTY;
  }

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#length += chunk.length;
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
      whole = bytes.buffer as ArrayBuffer;
    }
    this.discard();
    return whole;
  }

  /** Drops what was kept (an oversized message is drained, not stored). */
  discard(): void {
    this.#parts = [];
    this.#arena = EMPTY;
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
