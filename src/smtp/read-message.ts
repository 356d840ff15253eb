// Streams one message's DATA into the policy's MessageIntake under Max_Data_Time, pausing
// the client (TCP backpressure) while the intake catches up, and draining without keeping
// what is past Max_Message_Size. Decides nothing about delivery; the caller closes the
// session when the deadline passes.

import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { MessageIntake } from './policy.js';

export interface ReadLimits {
  /** Max_Data_Time: a slow-drip client must not hold a session slot (and its bytes) forever. */
  readonly deadlineMs: number;
  /** Called once the deadline passed; closing the session ends the stream, which rejects. */
  readonly onDeadline: () => void;
}

/**
 * Resolves with 'received', or 'too-big' when the message was over the size limit (the
 * intake was then discarded). Rejects, after discarding the intake, when the client
 * vanished mid-DATA (or was cut at the deadline).
 */
export function readMessage(stream: SMTPServerDataStream, intake: MessageIntake, limits: ReadLimits): Promise<'received' | 'too-big'> {
  const deadline = setTimeout(limits.onDeadline, limits.deadlineMs);
  const read = new Promise<'received' | 'too-big'>((resolve, reject) => {
    let tooBig = false;
    stream.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      if (stream.sizeExceeded) {
        tooBig = true;
        intake.discard();
        return;
      }
      if (intake.write(chunk)) return;
      stream.pause();
      void intake.writable().then(() => stream.resume());
    });
    stream.once('error', (err) => {
      intake.discard();
      reject(err);
    });
    stream.once('end', () => {
      if (stream.sizeExceeded && !tooBig) intake.discard();
      resolve(stream.sizeExceeded ? 'too-big' : 'received');
    });
  });
  return read.finally(() => clearTimeout(deadline));
}

/** The SIZE= of MAIL FROM (RFC 1870), 0 when the client declared none. */
export function declaredSize(session: SMTPServerSession): number {
  const args = session.envelope.mailFrom ? session.envelope.mailFrom.args : false;
  const size = args && typeof args.SIZE === 'string' ? Number(args.SIZE) : 0;
  return Number.isSafeInteger(size) && size > 0 ? size : 0;
}
