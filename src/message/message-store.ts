// The daemon's message storage: one memory budget, one spool directory, and the line-ending
// scans, shared by every session; receive() gives each message a receiver that converts
// and stores it as it arrives. Counts what the metrics and /readyz report. Created once by
// src/ops/daemon.ts; knows no SMTP, transport or program.

import type { BareNewlinePolicy, LineEnding } from '../config/types.js';
import { HeaderScan, type DeliveredToWatch, type HeaderFacts } from './header-scan.js';
import { LineEndingStream } from './line-ending-stream.js';
import type { LineEndingScans } from './line-endings.js';
import { createMemoryBudget } from './memory-budget.js';
import { MessageSink, type StoredMessage } from './message-sink.js';
import type { Spool } from './spool-file.js';
import { createStagingPool } from './staging-pool.js';

export type { StoredMessage, HeaderFacts, DeliveredToWatch };

/** After a spool failure, /readyz says not ready for this long unless a spool write succeeds. */
export const SPOOL_FAILING_MS = 10_000;

export interface StoreLimits {
  /** Max_Memory_In_Flight, bytes. */
  readonly memoryBytes: number;
  /** Spool_Threshold, bytes. */
  readonly thresholdBytes: number;
}

/** How one message must look to its program. */
export interface MessageFormat {
  readonly eol: LineEnding;
  readonly bareNewlines: BareNewlinePolicy;
  /** Trace headers, already in `eol`, written before the first byte received. */
  readonly header: string;
  /** SIZE= of MAIL FROM, 0 when none. */
  readonly declaredBytes: number;
  /** Which Delivered-To: values of the header section to report (HeaderFacts); unset: none. */
  readonly deliveredTo?: DeliveredToWatch;
}

export type Received =
  | {
      readonly kind: 'stored';
      readonly message: StoredMessage;
      readonly wireBytes: number;
      /** The header section as received (the trace headers written before it not counted). */
      readonly headers: HeaderFacts;
      /**
       * Set when several runs share the stored message (LMTP, one run per recipient): this
       * run's trace headers, to go before the stored bytes (which then hold none), and the
       * bytes are the run's to read, not to take. Unset: the message is one run's alone.
       */
      readonly header?: string;
    }
  /** A bare CR or LF under Bare_Newlines = reject: nothing was kept. */
  | { readonly kind: 'content-rejected'; readonly wireBytes: number }
  /** The spool file could not be created or written (errno code): nothing was kept. */
  | { readonly kind: 'spool-failed'; readonly errorCode: string; readonly wireBytes: number };

export interface MessageReceiver {
  /** One chunk of the message as received (dot-unstuffed, CRLF); may be rewritten in place. false: wait for writable(). */
  write(chunk: Buffer): boolean;
  writable(): Promise<void>;
  /** Every byte is in. A stored message holds memory or a file until its release(). */
  finish(): Promise<Received>;
  /** Drops the message: the client left, or it was too big. */
  discard(): void;
}

/** Read at any time (the metrics read them at scrape time). */
export interface StoreStats {
  /** Message bytes held in memory now (Max_Memory_In_Flight counts these). */
  readonly memoryBytes: number;
  /** Bytes in spool files of messages received in full and not yet released. */
  readonly spooledBytes: number;
}

/** Told of each spooled message and each spool failure (src/ops/metrics.ts counts them). */
export interface StoreObserver {
  spooled(bytes: number): void;
  spoolFailed(errorCode: string): void;
}

export interface MessageStore {
  receive(format: MessageFormat): MessageReceiver;
  readonly stats: StoreStats;
  /** False from a spool failure until a spool write succeeds, or SPOOL_FAILING_MS later. */
  spoolHealthy(): boolean;
  /** A reload's new limits, for messages that start from now on. */
  reconfigure(limits: StoreLimits): void;
  readonly spool: Spool;
}

/** ENOSPC and EDQUOT: RFC 3463's 4.3.1, insufficient system storage. */
export function isNoSpace(errorCode: string): boolean {
  return errorCode === 'ENOSPC' || errorCode === 'EDQUOT';
}

export function createMessageStore(options: {
  limits: StoreLimits;
  spool: Spool;
  scans: LineEndingScans;
  observer: StoreObserver;
  now?: () => number;
}): MessageStore {
  const { spool, scans, observer } = options;
  const now = options.now ?? Date.now;
  const budget = createMemoryBudget(options.limits.memoryBytes);
  const staging = createStagingPool();
  let thresholdBytes = options.limits.thresholdBytes;
  let spooledBytes = 0;
  let failedAt = -Infinity;

  const stats: StoreStats = {
    get memoryBytes() {
      return budget.held;
    },
    get spooledBytes() {
      return spooledBytes;
    },
  };

  const receive = (format: MessageFormat): MessageReceiver => {
    const lines = new LineEndingStream(format.eol, format.bareNewlines, scans);
    // Reads each chunk before the line-ending conversion rewrites it; only the client's bytes.
    const headerScan = new HeaderScan(format.deliveredTo);
    const sink = new MessageSink({ budget, spool, staging, thresholdBytes, declaredBytes: format.declaredBytes });
    if (format.header.length > 0) sink.write([Buffer.from(format.header, 'utf8')]);
    let wireBytes = 0;
    return {
      write(chunk) {
        wireBytes += chunk.length;
        headerScan.push(chunk);
        const converted = lines.push(chunk);
        if (lines.rejected) {
          sink.discard();
          return true;
        }
        return sink.write(converted);
      },
      writable: () => sink.writable(),
      discard: () => sink.discard(),
      async finish() {
        const tail = lines.end();
        if (lines.rejected) {
          sink.discard();
          return { kind: 'content-rejected', wireBytes };
        }
        sink.write(tail);
        const result = await sink.finish();
        if (!result.ok) {
          failedAt = now();
          observer.spoolFailed(result.errorCode);
          return { kind: 'spool-failed', errorCode: result.errorCode, wireBytes };
        }
        const { message } = result;
        const headers = headerScan.finish();
        if (message.kind === 'bytes') return { kind: 'stored', message, wireBytes, headers };
        failedAt = -Infinity;
        spooledBytes += message.size;
        observer.spooled(message.size);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          spooledBytes -= message.size;
          message.release();
        };
        return { kind: 'stored', message: { ...message, release }, wireBytes, headers };
      },
    };
  };

  return {
    receive,
    stats,
    spool,
    spoolHealthy: () => now() - failedAt >= SPOOL_FAILING_MS,
    reconfigure(limits) {
      budget.limit = limits.memoryBytes;
      thresholdBytes = limits.thresholdBytes;
    },
  };
}
