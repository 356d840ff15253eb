// Reads a program's captured stdout or stderr (a pipe, workers/spawners/) in bounded memory:
// the first line that starts with an enhanced status code (reply_from_output), searched
// within the first STATUS_SCAN_BYTES, and the last STDERR_TAIL_BYTES. Everything else is
// read and dropped, so a program that writes without end never blocks on a full pipe.
// Must not wait for the pipe's end without a bound: an escaped grandchild may hold it.

import type { Readable } from 'node:stream';

/** How far into the stream a status line is looked for. */
export const STATUS_SCAN_BYTES = 64 * 1024;
/** The most of one line kept (the reply takes 200 characters of it at most). */
export const STATUS_LINE_MAX_BYTES = 1024;
/** The end of stderr kept for the delivery log line. */
export const STDERR_TAIL_BYTES = 1024;
/**
 * After the program was reaped and its group killed, how long what it wrote may still take
 * to be read: the bytes are in the pipe already, so only a writer that escaped the group
 * (setsid) and still holds the pipe ever makes this wait last.
 */
export const CAPTURE_DRAIN_MS = 250;

/** RFC 3463 class.subject.detail at the start of a line; src/delivery checks it strictly. */
const STATUS_PREFIX = /^[245]\.[0-9]{1,3}\.[0-9]{1,3}(?:[ \t\r]|$)/;

export interface Capture {
  /** Once the stream ended, or CAPTURE_DRAIN_MS after `drain()` was called; never rejects. */
  readonly done: Promise<void>;
  /** The program is gone: stop waiting for the end after CAPTURE_DRAIN_MS, and drop the pipe. */
  drain(): void;
  /** The first status line (UTF-8, without its line ending), or null. */
  statusLine(): string | null;
  /** The last STDERR_TAIL_BYTES as UTF-8, or null if nothing was written. */
  tail(): string | null;
}

/** Starts reading at once (flowing mode); `scan`: look for a status line; `keepTail`: keep the end. */
export function captureOutput(stream: Readable, options: { readonly scan: boolean; readonly keepTail: boolean }): Capture {
  const lines = options.scan ? createLineScanner() : null;
  let tail: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    lines?.push(chunk);
    if (options.keepTail) tail = keepEnd(tail, chunk);
  });
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  // 'close' follows 'end', an error and a destroy alike, once the descriptor is closed.
  if (stream.closed) ended();
  else stream.once('close', () => ended());
  let timer: NodeJS.Timeout | undefined;
  return {
    done: done.finally(() => clearTimeout(timer)),
    drain() {
      if (timer !== undefined) return;
      timer = setTimeout(() => stream.destroy(), CAPTURE_DRAIN_MS);
    },
    statusLine: () => lines?.result() ?? null,
    tail: () => (tail.byteLength === 0 ? null : tail.toString('utf8')),
  };
}

function keepEnd(tail: Buffer, chunk: Buffer): Buffer {
  if (chunk.byteLength >= STDERR_TAIL_BYTES) return Buffer.from(chunk.subarray(chunk.byteLength - STDERR_TAIL_BYTES));
  const joined = Buffer.concat([tail, chunk]);
  return joined.byteLength <= STDERR_TAIL_BYTES ? joined : Buffer.from(joined.subarray(joined.byteLength - STDERR_TAIL_BYTES));
}

/**
 * Lines across chunks: a line may arrive in several writes. Keeps at most
 * STATUS_LINE_MAX_BYTES of the current line; stops at the first status line or after
 * STATUS_SCAN_BYTES.
 */
function createLineScanner(): { push(chunk: Buffer): void; result(): string | null } {
  let found: string | null = null;
  let scanned = 0;
  let line: Buffer[] = [];
  let lineBytes = 0;
  const finishLine = (): void => {
    const text = Buffer.concat(line).toString('utf8');
    if (found === null && STATUS_PREFIX.test(text)) found = text.replace(/\r$/, '');
    line = [];
    lineBytes = 0;
  };
  return {
    push(chunk) {
      if (found !== null || scanned >= STATUS_SCAN_BYTES) return;
      const part = chunk.subarray(0, STATUS_SCAN_BYTES - scanned);
      scanned += part.byteLength;
      let start = 0;
      while (found === null && start < part.byteLength) {
        const newline = part.indexOf(0x0a, start);
        const end = newline === -1 ? part.byteLength : newline;
        const room = STATUS_LINE_MAX_BYTES - lineBytes;
        if (room > 0) {
          const piece = part.subarray(start, Math.min(end, start + room));
          line.push(Buffer.from(piece));
          lineBytes += piece.byteLength;
        }
        if (newline === -1) break;
        finishLine();
        start = newline + 1;
      }
    },
    result() {
      // The last line needs no newline (a program may end without one).
      if (found === null && lineBytes > 0) finishLine();
      return found;
    },
  };
}
