// The one place that joins a received message, its transport and the pool: builds the
// task, waits for the outcome, maps it to the reply and logs the delivery line.
// Knows no SMTP wire details and spawns nothing itself.

import type { Logger } from 'pino';
import type { TransportConfig } from '../config/types.js';
import type { DeliveryPool } from '../pool/pool.js';
import type { DeliveryTask, PoolOutcome } from '../pool/task.js';
import { expandArguments, programEnvironment, type Envelope } from './envelope.js';
import { mapOutcomeToReply } from './outcome-reply.js';
import { classifyOutcome } from './outcome-class.js';
import type { SessionInfo } from '../smtp/policy.js';
import { formatReply, type SmtpReply } from '../smtp/reply.js';
import { buildTraceHeaders } from './trace-headers.js';
import type { QueueIdGenerator } from './queue-id.js';

/** What the session knows (client, HELO, TLS, listener settings) plus the transaction. */
export interface DeliveryRequest extends SessionInfo {
  readonly transport: TransportConfig;
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The wire form of the message in a fresh ArrayBuffer: it is transferred, not copied. */
  readonly message: ArrayBuffer;
}

export interface Dispatcher {
  deliver(request: DeliveryRequest): Promise<SmtpReply>;
  /** Deliveries started and not yet answered. */
  readonly inFlight: number;
  /** Resolves once no delivery is in flight (at once when none is). */
  idle(): Promise<void>;
}

/** A timed-out run may take the SIGTERM grace on top of its timeout. */
export const KILL_GRACE_MS = 2000;

/** One delivery as the metrics see it; classifyOutcome() says what its outcome counts as. */
export interface DeliveryMetric {
  readonly transport: string;
  readonly outcome: PoolOutcome;
  readonly replyCode: number;
  readonly durationMs: number;
  readonly sizeBytes: number;
  readonly recipients: number;
}

/** What the dispatcher reports per delivery (src/ops/metrics.ts implements it). */
export interface DeliveryObserver {
  delivery(metric: DeliveryMetric): void;
}

export function createDispatcher(options: {
  pool: DeliveryPool;
  logger: Logger;
  nextQueueId: QueueIdGenerator;
  observer: DeliveryObserver;
}): Dispatcher {
  const { pool, logger, nextQueueId, observer } = options;
  let inFlight = 0;
  const idleWaiters: Array<() => void> = [];

  return {
    get inFlight() {
      return inFlight;
    },
    idle() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async deliver(request) {
      const { transport } = request;
      const startedAt = performance.now();
      const envelope: Envelope = {
        queueId: nextQueueId(),
        sender: request.sender,
        recipients: request.recipients,
        clientAddress: request.clientAddress,
        clientHelo: request.clientHelo,
        size: request.message.byteLength,
        transport: transport.name,
      };
      const expanded = expandArguments(transport.program, envelope);
      if (expanded.injectedOption) {
        // Client text cannot get here past the checks at HELO, MAIL and RCPT; an empty
        // value before the template's own "-" can (`${sender}-x`, null sender). No run.
        logger.warn(
          {
            ...summarizeEnvelope(envelope),
            session: request.sessionId,
            argument: expanded.injectedOption.index,
            template: expanded.injectedOption.template,
            reply: formatReply(REPLY_INJECTED_OPTION),
          },
          'delivery refused: client text would begin a program argument with "-"',
        );
        return REPLY_INJECTED_OPTION;
      }
      const task: DeliveryTask = {
        program: transport.program.path,
        args: expanded.args,
        env: programEnvironment(transport, envelope),
        message: { kind: 'bytes', bytes: request.message },
        timeoutMs: transport.timeoutMs,
        killGraceMs: KILL_GRACE_MS,
        outputFile: transport.outputFile,
        outputMode: transport.outputMode,
        errorFile: transport.errorFile,
        errorMode: transport.errorMode,
        runAs: transport.runAs,
        cwd: transport.directory?.text ?? null,
        umask: transport.umask,
      };
      inFlight += 1;
      let outcome: PoolOutcome;
      try {
        outcome = await pool.run(transport, task);
      } finally {
        inFlight -= 1;
        if (inFlight === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
      }
      const reply = mapOutcomeToReply(outcome, transport.codes, envelope.queueId, transport.timeoutMs);
      const durationMs = performance.now() - startedAt;
      logDelivery(logger, envelope, request, task, outcome, reply, durationMs);
      observer.delivery({
        transport: transport.name,
        outcome,
        replyCode: reply.code,
        durationMs,
        sizeBytes: envelope.size,
        recipients: envelope.recipients.length,
      });
      return reply;
    },
  };
}

/** Permanent: the same envelope would be refused again (RFC 3463 5.7.0, security). */
const REPLY_INJECTED_OPTION: SmtpReply = { code: 554, text: '5.7.0 refused: client text would begin a program argument with "-"' };

/** At most this many recipients are named in a log line; the count says how many there were. */
const LOGGED_RECIPIENTS = 10;

/** The envelope fields of a log line, its size bounded whatever the client sent. */
function summarizeEnvelope(envelope: Envelope) {
  const { recipients } = envelope;
  return {
    queueId: envelope.queueId,
    client: envelope.clientAddress,
    helo: envelope.clientHelo,
    sender: envelope.sender,
    recipients: recipients.length > LOGGED_RECIPIENTS ? recipients.slice(0, LOGGED_RECIPIENTS) : recipients,
    recipientCount: recipients.length,
    size: envelope.size,
    transport: envelope.transport,
  };
}

function logDelivery(
  logger: Logger,
  envelope: Envelope,
  request: DeliveryRequest,
  task: DeliveryTask,
  outcome: PoolOutcome,
  reply: SmtpReply,
  durationMs: number,
): void {
  const { queueId, client, helo, sender, recipients, recipientCount, size, transport } = summarizeEnvelope(envelope);
  const line = {
    queueId,
    session: request.sessionId,
    client,
    helo,
    tls: request.tls,
    // Verified or not (and why not); never in the program's argv or environment.
    clientCertificate: request.clientCertificate,
    sender,
    recipients,
    recipientCount,
    size,
    transport,
    program: task.program,
    outcome: outcome.kind,
    programPid: 'pid' in outcome ? outcome.pid : null,
    exitCode: outcome.kind === 'exited' ? outcome.exitCode : null,
    signal: outcome.kind === 'signaled' || outcome.kind === 'timed-out' ? outcome.signal : null,
    timedOut: outcome.kind === 'timed-out',
    stdinError: outcome.kind === 'exited' ? outcome.stdinError : null,
    error: 'message' in outcome ? outcome.message : null,
    reply: formatReply(reply),
    durationMs: Math.round(durationMs * 10) / 10,
  };
  const { level, message } = classifyOutcome(outcome);
  logger[level](line, message);
  if ('killFailures' in outcome && outcome.killFailures.length > 0) {
    // The reply stands (the exit decided it); what the kill could not reach may still run.
    logger.warn(
      { queueId: envelope.queueId, transport: envelope.transport, programPid: outcome.pid, killFailures: outcome.killFailures },
      'could not signal the program\'s process group: a setuid program there runs as another user',
    );
  }
}
