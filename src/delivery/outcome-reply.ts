// Program outcome -> SMTP reply in one pure function; docs/operations.md ("The delivery line")
// holds the one written table, and test/unit/reply-table-doc.test.ts keeps the two equal.
// Exit statuses go through exit-presets.ts (the `code` map, then the transport's preset, and
// the program's own status line within their class); nothing else may pick a reply.

import type { ExitCodePreset, MappedReply } from '../config/types.js';
import { replyForExit } from './exit-presets.js';
import type { PoolOutcome } from '../pool/task.js';
import type { SmtpReply } from '../smtp/reply.js';
import type { LoopDetected } from './loop-check.js';

/** How a delivery ended: the pool's outcome, or one decided while the message was received. */
export type DeliveryOutcome =
  | PoolOutcome
  /** A bare CR or LF in the content under Bare_Newlines = reject: no program started. */
  | { readonly kind: 'content-rejected' }
  /** Too many Received: fields, or a Delivered-To: naming the recipient: no program started. */
  | LoopDetected
  /** The spool file could not be created or written (errno code): no program started. */
  | { readonly kind: 'spool-failed'; readonly errorCode: string };

export function mapOutcomeToReply(
  outcome: DeliveryOutcome,
  codes: ReadonlyMap<number, MappedReply>,
  queueId: string,
  timeoutMs: number,
  exitCodes: ExitCodePreset = 'momentum',
): SmtpReply {
  switch (outcome.kind) {
    case 'exited':
      return replyForExit({ codes, exitCodes }, outcome.exitCode, queueId, outcome.statusLine);
    case 'signaled':
      return { code: 451, text: `4.3.0 pipe transport program killed by signal ${outcome.signal}` };
    case 'timed-out':
      return { code: 451, text: `4.3.0 pipe transport program timed out after ${formatSeconds(timeoutMs)}` };
    case 'spawn-failed':
      return { code: 451, text: '4.3.0 pipe transport program could not be started' };
    case 'content-rejected':
      // RFC 5321 2.3.8: CR and LF only as CRLF. Permanent: resending the same bytes fails again.
      return { code: 550, text: '5.6.0 message contains a bare CR or LF (RFC 5321 2.3.8)' };
    case 'loop-detected':
      // RFC 3463 5.4.6, routing loop. Permanent, as Postfix bounces it: the next try loops too.
      return { code: 554, text: '5.4.6 mail loop detected' };
    case 'output-failed':
      return { code: 451, text: '4.3.0 pipe transport output file unavailable' };
    case 'pool-busy':
      return { code: 451, text: '4.3.2 system busy, try again later' };
    case 'pool-failed':
      return { code: 451, text: '4.3.0 local delivery failed, try again later' };
    case 'spool-failed':
      // RFC 3463 4.3.1 for a full disk or quota; any other I/O error is a local error.
      return outcome.errorCode === 'ENOSPC' || outcome.errorCode === 'EDQUOT'
        ? { code: 452, text: '4.3.1 insufficient system storage' }
        : { code: 451, text: '4.3.0 local error: message spool unavailable' };
    case 'client-gone':
      // Never sent: there is no one left to read it.
      return { code: 421, text: '4.4.2 client disconnected before delivery' };
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
