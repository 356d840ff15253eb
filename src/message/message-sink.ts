// Where one message's bytes go as they arrive: memory while the message is small and the
// memory budget allows, else an anonymous spool file, from then on to its end. Memory stays
// charged to the budget until the delivery releases the message. Spooled bytes are copied
// into staging buffers (staging-pool.ts) and written a batch at a time, one write in
// flight; past its window, write() says to pause, so a fast client is slowed to the disk's
// pace instead of piling up in memory.

import type { MemoryBudget } from './memory-budget.js';
import { MessageBuffer } from './message-buffer.js';
import { codeOf, type Spool, type SpoolFile } from './spool-file.js';
import { STAGE_BYTES, type StagingPool } from './staging-pool.js';

/**
 * Bytes queued or being written past which the caller pauses its source: every sink may
 * always queue MIN_WINDOW; up to MAX_WINDOW while all sinks together have less than
 * SHARED_WINDOW lent out. Each pause and resume costs the main thread event-loop turns
 * and a write round trip: at c=10 x 10 MB, a 1 MiB window took 45-55 msgs/s where 256 KiB
 * took 35, with less main-thread CPU per message; past 1 MiB nothing more was gained.
 */
const MIN_WINDOW = 2 * STAGE_BYTES;
const MAX_WINDOW = 8 * STAGE_BYTES;
const SHARED_WINDOW = 32 * 1024 * 1024;

export interface SinkLimits {
  readonly budget: MemoryBudget;
  readonly spool: Spool;
  readonly staging: StagingPool;
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
  /** The stage being filled, and how much of it is. */
  #stage: Buffer | null = null;
  #staged = 0;
  /** Filled stages (views) waiting for the file, and those being written. */
  #queue: Buffer[] = [];
  #writingStages: Buffer[] = [];
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

  /**
   * Takes chunks. In memory the sink keeps them (the caller must not write to them); spooled,
   * it copies them and lets go at once. false: wait for writable() before the next.
   */
  write(chunks: readonly Uint8Array[]): boolean {
    if (this.#done || this.#errorCode !== null) return true;
    for (const chunk of chunks) {
      if (chunk.byteLength === 0) continue;
      if (this.#memory !== null && !this.#keepInMemory(this.#memory, chunk)) this.#startSpooling();
      if (this.#memory !== null) this.#memory.push(chunk);
      else this.#stageBytes(chunk);
    }
    this.#pump();
    return !this.#full();
  }

  /** Resolves once what is queued for the file is back within the window (or the file failed). */
  writable(): Promise<void> {
    if (!this.#full() || this.#errorCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Every byte is in: the stored message, or why the spool failed. */
  async finish(): Promise<SinkResult> {
    this.#done = true;
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
    this.#queueStage();
    this.#pump();
    await new Promise<void>((resolve) => {
      if (this.#settled()) resolve();
      else this.#waiters.push(() => (this.#settled() ? resolve() : this.#waiters.push(resolve)));
    });
    if (this.#errorCode !== null) return { ok: false, errorCode: this.#errorCode };
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
    this.#dropQueue();
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
    // What memory held is copied to stages: the budget lets go of it now.
    for (const part of held) this.#stageBytes(part);
    this.#releaseMemory();
    file.then(
      () => this.#pump(),
      (err: unknown) => this.#fail(err),
    );
  }

  /** Copies `chunk` into stages; a full stage joins the write queue. */
  #stageBytes(chunk: Uint8Array): void {
    let from = 0;
    while (from < chunk.byteLength) {
      this.#stage ??= this.#limits.staging.take();
      const n = Math.min(chunk.byteLength - from, STAGE_BYTES - this.#staged);
      this.#stage.set(chunk.subarray(from, from + n), this.#staged);
      this.#staged += n;
      from += n;
      if (this.#staged === STAGE_BYTES) this.#queueStage();
    }
  }

  /** The stage being filled (full or, at the end, partial) joins the write queue. */
  #queueStage(): void {
    if (this.#stage === null || this.#staged === 0) return;
    this.#queue.push(this.#staged === STAGE_BYTES ? this.#stage : this.#stage.subarray(0, this.#staged));
    this.#queuedBytes += this.#staged;
    this.#stage = null;
    this.#staged = 0;
  }

  #pump(): void {
    if (this.#writing || this.#errorCode !== null || this.#file === null || this.#queue.length === 0) return;
    const file = this.#file;
    const stages = this.#queue;
    this.#queue = [];
    this.#writingStages = stages;
    this.#writing = true;
    file
      .then((opened) => opened.append(stages))
      .then(
        () => {
          this.#writing = false;
          this.#writingStages = [];
          for (const stage of stages) {
            this.#queuedBytes -= stage.length;
            this.#limits.staging.give(stage.length === STAGE_BYTES ? stage : Buffer.from(stage.buffer, stage.byteOffset, STAGE_BYTES));
          }
          if (this.#discarded) return this.#closeFile();
          this.#pump();
          this.#wake();
        },
        (err: unknown) => {
          this.#writing = false;
          this.#writingStages = [];
          for (const stage of stages) this.#limits.staging.give(Buffer.from(stage.buffer, stage.byteOffset, STAGE_BYTES));
          this.#fail(err);
        },
      );
  }

  /**
   * Past the window: MIN_WINDOW is always this sink's; beyond it while the sinks together
   * lend out less than SHARED_WINDOW. A paused sink always has its own writes to wake it.
   */
  #full(): boolean {
    const queued = this.#queuedBytes;
    return queued > MAX_WINDOW || (queued > MIN_WINDOW && this.#limits.staging.lentBytes > SHARED_WINDOW);
  }

  /** Nothing queued nor being written, or the file failed: finish() may answer. */
  #settled(): boolean {
    return this.#errorCode !== null || (!this.#writing && this.#queue.length === 0);
  }

  #fail(err: unknown): void {
    if (this.#errorCode === null) this.#errorCode = codeOf(err);
    this.#dropQueue();
    this.#releaseMemory();
    this.#closeFile();
    this.#wake();
  }

  /** Gives the stages not being written back to the pool; those in a write go when it ends. */
  #dropQueue(): void {
    const { staging } = this.#limits;
    for (const stage of this.#queue) staging.give(Buffer.from(stage.buffer, stage.byteOffset, STAGE_BYTES));
    if (this.#stage !== null) staging.give(this.#stage);
    this.#queue = [];
    this.#stage = null;
    this.#staged = 0;
    this.#queuedBytes = this.#writingStages.reduce((sum, stage) => sum + stage.length, 0);
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
