// Collects one message's DATA into a single growing buffer as it arrives. smtp-server
// hands the body over in line-sized chunks (it unstuffs dots line by line): keeping
// those chunk objects until the end made a 10 MB message cost ~134k retained Buffers.

const INITIAL_BYTES = 16 * 1024;

export class MessageBuffer {
  #bytes: Uint8Array<ArrayBuffer>;
  #length = 0;

  /** `expectedBytes`: the client's SIZE= declaration, when it made one. */
  constructor(expectedBytes = 0) {
    this.#bytes = new Uint8Array(Math.max(INITIAL_BYTES, expectedBytes));
  }

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    const needed = this.#length + chunk.length;
    if (needed > this.#bytes.length) {
      // Doubling keeps the total copying linear in the message size.
      const grown: Uint8Array<ArrayBuffer> = new Uint8Array(Math.max(needed, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(chunk, this.#length);
    this.#length = needed;
  }

  /** The message in an ArrayBuffer of exactly its length, owned by nobody else (transferable). */
  take(): ArrayBuffer {
    const { buffer } = this.#bytes;
    const whole = buffer.byteLength === this.#length ? buffer : buffer.slice(0, this.#length);
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
    return whole;
  }

  /** Drops what was kept (an oversized message is drained, not stored). */
  discard(): void {
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
  }
}
