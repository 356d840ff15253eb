// Reads one message's DATA into one fresh ArrayBuffer under Max_Data_Time: the buffer is
// transferred to a worker later, so it must not be a pooled Buffer's. Decides nothing
// about delivery; the caller closes the session when the deadline passes.

import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { MessageBuffer } from './message-buffer.js';

const PREALLOCATE_MAX_BYTES = 1024 * 1024;

export interface ReadLimits {
  /** The SIZE= of MAIL FROM (RFC 1870), 0 when none: sizes the first allocation only. */
  readonly declaredBytes: number;
  /** Max_Message_Size: past it the rest is drained, not kept. */
  readonly maxBytes: number;
  /** Max_Data_Time: a slow-drip client must not hold a session slot (and its buffer) forever. */
  readonly deadlineMs: number;
  /** Called once the deadline passed; closing the session ends the stream, which rejects. */
  readonly onDeadline: () => void;
}

/**
 * Resolves with the message, or null when it was over the size limit. Rejects when the
 * client vanished mid-DATA (or was cut at the deadline).
 */
export function readMessage(stream: SMTPServerDataStream, limits: ReadLimits): Promise<ArrayBuffer | null> {
  const deadline = setTimeout(limits.onDeadline, limits.deadlineMs);
  const read = new Promise<ArrayBuffer | null>((resolve, reject) => {
    // A declared SIZE only sizes the first allocation, made when the first bytes arrive,
    // and at most 1 MiB of it: announcing a size alone makes us hold nothing.
    const message = new MessageBuffer(Math.min(limits.declaredBytes, limits.maxBytes, PREALLOCATE_MAX_BYTES));
    stream.on('data', (chunk: Buffer) => {
      if (stream.sizeExceeded) message.discard();
      else message.push(chunk);
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(stream.sizeExceeded ? null : message.take()));
  });
  return read.finally(() => clearTimeout(deadline));
}

/** The SIZE= of MAIL FROM (RFC 1870), 0 when the client declared none. */
export function declaredSize(session: SMTPServerSession): number {
  const args = session.envelope.mailFrom ? session.envelope.mailFrom.args : false;
  const size = args && typeof args.SIZE === 'string' ? Number(args.SIZE) : 0;
  return Number.isSafeInteger(size) && size > 0 ? size : 0;
}
