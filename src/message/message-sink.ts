// Where one message's bytes go as they arrive: memory while the message is small and the
// memory budget allows, else an anonymous spool file, from then on to its end. Memory stays
// charged to the budget until the delivery releases the message. Writes to the file one
// at a time; past PAUSE_BYTES queued, write() says to pause, so a fast client is slowed to
// the disk's pace instead of piling up in memory.

import type { MemoryBudget } from './memory-budget.js';
import { MessageBuffer } from './message-buffer.js';
import { codeOf, type Spool, type SpoolFile } from './spool-file.js';

/** Queued for the spool file beyond this, the caller pauses its source. */
const PAUSE_BYTES = 256 * 1024;

export interface SinkLimits {
  readonly budget: MemoryBudget;
  readonly spool: Spool;
  /** Spool_Threshold: a message larger than this is spooled whatever the budget. */
  readonly thresholdBytes: number;
  /** The SIZE= of MAIL FROM, 0 when none: a declared large message is spooled from its first byte. */
  readonly declaredBytes: number;
}

/** A message received in full, until release(). */
export type StoredMessage =
  | { readonly kind: 'bytes'; readonly bytes: ArrayBuffer; readonly size: number; release(): void }
  | { readonly kind: 'file'; readonly fd: number; readonly size: number; release(): void };

export type SinkResult =
  | { readonly ok: true; readonly message: StoredMessage }
  /** The spool file could not be created or written: errno code (ENOSPC, EDQUOT, EACCES...). */
  | { readonly ok: false; readonly errorCode: string };

export class MessageSink {
  readonly #limits: SinkLimits;
  #memory: MessageBuffer | null;
  /** Budget bytes this message holds (a declared SIZE's first arena counts whole). */
  #reserved = 0;
  #file: Promise<SpoolFile> | null = null;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing = false;
  #waiters: Array<() => void> = [];
  #errorCode: string | null = null;
  #done = false;
  #discarded = false;

  constructor(limits: SinkLimits) {
    this.#limits = limits;
    const declared = Math.min(limits.declaredBytes, limits.thresholdBytes);
    this.#memory = limits.declaredBytes > limits.thresholdBytes ? null : new MessageBuffer(declared);
    if (this.#memory === null) this.#startSpooling();
  }

  /** True once the message goes to a spool file. */
  get spooled(): boolean {
    return this.#file !== null;
  }

  /** Takes chunks (the sink keeps them: the caller must not write to them). false: wait for writable(). */
  write(chunks: readonly Uint8Array[]): boolean {
    if (this.#done || this.#errorCode !== null) return true;
    for (const chunk of chunks) {
      if (chunk.byteLength === 0) continue;
      if (this.#memory !== null && !this.#keepInMemory(this.#memory, chunk)) this.#startSpooling();
      if (this.#memory !== null) this.#memory.push(chunk);
      else this.#enqueue(chunk);
    }
    return this.#queuedBytes <= PAUSE_BYTES;
  }

  /** Resolves once what is queued for the file is down to nothing (or the file failed). */
  writable(): Promise<void> {
    if (!this.#writing && this.#queuedBytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Every byte is in: the stored message, or why the spool failed. */
  async finish(): Promise<SinkResult> {
    await this.writable();
    this.#done = true;
    if (this.#errorCode !== null) return { ok: false, errorCode: this.#errorCode };
    if (this.#memory !== null) {
      const bytes = this.#memory.take();
      let reserved = this.#reserved;
      this.#reserved = 0;
      const { budget } = this.#limits;
      return {
        ok: true,
        message: {
          kind: 'bytes',
          bytes,
          size: bytes.byteLength,
          release() {
            budget.release(reserved);
            reserved = 0;
          },
        },
      };
    }
    let file: SpoolFile;
    try {
      file = await this.#file!;
    } catch (err) {
      return { ok: false, errorCode: codeOf(err) };
    }
    return { ok: true, message: { kind: 'file', fd: file.fd, size: file.size, release: () => file.close() } };
  }

  /** Drops the message (the client left, it was too big or refused): frees memory and file. */
  discard(): void {
    this.#done = true;
    this.#discarded = true;
    this.#memory?.discard();
    this.#releaseMemory();
    this.#queue = [];
    this.#queuedBytes = 0;
    // A write in flight closes the file when it ends: closing under it could let the write
    // land in whatever file reuses the descriptor number.
    if (!this.#writing) this.#closeFile();
  }

  /** Charges `chunk` to the budget; false when the message must move to the spool instead. */
  #keepInMemory(memory: MessageBuffer, chunk: Uint8Array): boolean {
    const { budget, thresholdBytes, declaredBytes } = this.#limits;
    const length = memory.length + chunk.byteLength;
    if (length > thresholdBytes) return false;
    // The first arena is allocated at the declared size: charge it whole.
    const wanted = Math.max(length, Math.min(declaredBytes, thresholdBytes)) - this.#reserved;
    if (wanted <= 0) return true;
    if (!budget.tryReserve(wanted)) return false;
    this.#reserved += wanted;
    return true;
  }

  #startSpooling(): void {
    const held = this.#memory?.takeParts() ?? [];
    this.#memory = null;
    const file = this.#limits.spool.create();
    this.#file = file;
    // What memory held is now queued for the file: the budget lets go of it when written.
    for (const part of held) this.#enqueue(part);
    file.then(
      () => this.#pump(),
      (err: unknown) => this.#fail(err),
    );
  }

  #enqueue(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.byteLength;
    this.#pump();
  }

  #pump(): void {
    if (this.#writing || this.#errorCode !== null) return;
    const file = this.#file;
    if (file === null) return;
    const chunks = this.#queue;
    if (chunks.length === 0) {
      this.#wake();
      return;
    }
    this.#queue = [];
    this.#writing = true;
    file
      .then((opened) => opened.append(chunks))
      .then(
        () => {
          this.#writing = false;
          if (this.#discarded) return this.#closeFile();
          for (const chunk of chunks) this.#queuedBytes -= chunk.byteLength;
          this.#releaseMemory();
          this.#pump();
        },
        (err: unknown) => {
          this.#writing = false;
          this.#fail(err);
        },
      );
  }

  #fail(err: unknown): void {
    if (this.#errorCode === null) this.#errorCode = codeOf(err);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#releaseMemory();
    this.#closeFile();
    this.#wake();
  }

  #closeFile(): void {
    this.#file?.then((file) => file.close(), () => {});
  }

  #releaseMemory(): void {
    if (this.#reserved === 0) return;
    this.#limits.budget.release(this.#reserved);
    this.#reserved = 0;
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
